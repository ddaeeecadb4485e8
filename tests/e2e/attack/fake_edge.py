#!/usr/bin/env python3
"""fake_edge.py — a hostile edge for burrow's connector egress test (stdlib only).

    fake_edge.py CERT KEY PORT_FILE TRAP_PORT

Listens on 127.0.0.1 (its port written to PORT_FILE), takes one connector connection (TLS, ALPN
h2; the connector is the HTTP/2 server there, this is the client), registers it the way the edge
does, then opens CONNECT streams with crafted metadata: hostnames the connector has no ingress rule
for, IP literals and ports aimed at a trap listener it also runs, smuggled burrow-* headers, other
stream kinds. Prints one line per case — "CASE status=NNN banner=yes|no", "CASE rst=CODE",
"CASE timeout" — and finally "trap_dials=N": how many connections reached the trap (on TRAP_PORT;
the connector has one ingress rule for it, trap.site.test, which the "trap-rule" case uses once).

HPACK: requests are encoded as literals (no Huffman, no indexing). SETTINGS_HEADER_TABLE_SIZE=0
keeps the connector's encoder off the dynamic table, so a response's :status is a static-table
index or a literal (Huffman digits decoded here).
"""
import json
import os
import socket
import ssl
import struct
import sys
import time

from h2raw import (ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PADDED, PING, PRIORITY_FLAG, RST_STREAM,
                   SETTINGS, WINDOW_UPDATE, CountingListener, hpack, status_of)



def out(line):
    print(line, flush=True)


# ---------------------------------------------------------------- HTTP/2 client


class H2:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""
        self.streams = {}  # id -> {"status", "data", "rst", "end"}

    def send(self, ftype, flags, sid, payload=b""):
        self.s.sendall(struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload)

    def request(self, sid, headers, end_stream):
        self.streams[sid] = {"status": None, "data": b"", "rst": None, "end": False}
        self.send(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), sid, hpack(headers))

    def read_frame(self, deadline):
        while len(self.buf) < 9 or len(self.buf) < 9 + struct.unpack("!I", b"\0" + self.buf[:3])[0]:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise EOFError("connector closed the connection")
            self.buf += chunk
        n = struct.unpack("!I", b"\0" + self.buf[:3])[0]
        ftype, flags = self.buf[3], self.buf[4]
        sid = struct.unpack("!I", self.buf[5:9])[0] & 0x7FFFFFFF
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        return ftype, flags, sid, payload

    def pump(self, deadline, until):
        """Handles frames until until() is true or the deadline passes."""
        while not until():
            f = self.read_frame(deadline)
            if f is None:
                return False
            ftype, flags, sid, p = f
            st = self.streams.get(sid)
            if ftype == SETTINGS and not flags & ACK:
                self.send(SETTINGS, ACK, 0)
            elif ftype == PING and not flags & ACK:
                self.send(PING, ACK, 0, p)
            elif ftype == GOAWAY:
                raise EOFError("connector sent GOAWAY (error %d)" % struct.unpack("!I", p[4:8])[0])
            elif ftype == HEADERS and st is not None:
                if flags & PADDED:
                    p = p[1:len(p) - p[0]]
                if flags & PRIORITY_FLAG:
                    p = p[5:]
                if st["status"] is None:
                    st["status"] = status_of(p) or -1
                if flags & END_STREAM:
                    st["end"] = True
            elif ftype == DATA and st is not None:
                if flags & PADDED:
                    p = p[1:len(p) - p[0]]
                st["data"] += p
                if flags & END_STREAM:
                    st["end"] = True
                if p:
                    self.send(WINDOW_UPDATE, 0, 0, struct.pack("!I", len(p)))
                    self.send(WINDOW_UPDATE, 0, sid, struct.pack("!I", len(p)))
            elif ftype == RST_STREAM and st is not None:
                st["rst"] = struct.unpack("!I", p[:4])[0]
        return True


# ---------------------------------------------------------------- main


def main():
    cert, key, port_file = sys.argv[1:4]
    trap = CountingListener(int(sys.argv[4]), backlog=16)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    ls.settimeout(30)
    raw, _ = ls.accept()
    s = ctx.wrap_socket(raw, server_side=True)
    if s.selected_alpn_protocol() != "h2":
        out("setup: connector did not negotiate h2")
        sys.exit(1)
    h = H2(s)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    h.send(SETTINGS, 0, 0, struct.pack("!HI", 0x1, 0) + struct.pack("!HI", 0x2, 0))  # table 0, no push
    h.send(WINDOW_UPDATE, 0, 0, struct.pack("!I", 1 << 24))

    def done(sid):
        return lambda: h.streams[sid]["end"] or h.streams[sid]["rst"] is not None

    # 1. register, as the edge asks
    h.request(1, [(":method", "POST"), (":scheme", "https"), (":authority", "burrow-edge"),
                  (":path", "/burrow/v1/register")], True)
    if not h.pump(time.monotonic() + 10, done(1)):
        out("setup: no registration answer")
        sys.exit(1)
    reg = json.loads(h.streams[1]["data"] or b"{}")
    out("registration hostnames=%s" % ",".join(reg.get("hostnames", [])))

    sid = [3]  # client stream ids: odd, and always increasing

    def connect(name, authority, extra=(), banner_wait=5):
        i = sid[0]
        sid[0] += 2
        hdrs = [(":method", "CONNECT"), (":authority", authority)] + list(extra)
        try:
            h.request(i, hdrs, False)
            h.pump(time.monotonic() + 5, lambda: h.streams[i]["status"] is not None or
                   h.streams[i]["rst"] is not None or h.streams[i]["end"])
            st = h.streams[i]
            if st["status"] == 200:
                h.pump(time.monotonic() + banner_wait, lambda: b"SSH-" in st["data"] or st["end"] or
                       st["rst"] is not None)
                h.send(RST_STREAM, 0, i, struct.pack("!I", 8))  # CANCEL: done with it
                out("%s status=200 banner=%s" % (name, "yes" if b"SSH-" in st["data"] else "no"))
            elif st["status"] is not None:
                out("%s status=%d" % (name, st["status"]))
            elif st["rst"] is not None:
                out("%s rst=%d" % (name, st["rst"]))
            else:
                out("%s timeout" % name)
        except EOFError as e:
            out("%s closed (%s)" % (name, e))
            raise

    trap_addr = "127.0.0.1:%d" % trap.port
    tcp = [("burrow-kind", "tcp")]
    try:
        # 2. a CONNECT before the registration result: not served
        connect("before-registered", "ssh.site.test", tcp)
        # 3. the registration result
        i = sid[0]
        sid[0] += 2
        h.request(i, [(":method", "POST"), (":scheme", "https"), (":authority", "burrow-edge"),
                      (":path", "/burrow/v1/registered"), ("content-type", "application/json")], False)
        h.send(DATA, END_STREAM, i, json.dumps({"ok": True, "tunnel_name": "fake", "conn_index": 0}).encode())
        h.pump(time.monotonic() + 5, done(i))
        time.sleep(0.2)
        # 4. crafted streams
        connect("legit", "ssh.site.test", tcp)
        connect("legit-no-kind", "ssh.site.test")
        connect("unknown-host", "evil.site.test", tcp)
        connect("ip-port-of-trap", trap_addr, tcp)
        connect("ip-only", "127.0.0.1", tcp)
        connect("localhost", "localhost", tcp)
        connect("host-with-trap-port", "ssh.site.test:%d" % trap.port, tcp)
        connect("bracketed-ip", "[127.0.0.1]:%d" % trap.port, tcp)
        connect("wildcard", "*.site.test", tcp)
        connect("long-name", ".".join(["a" * 60] * 5), tcp)
        connect("nul-in-authority", "ssh.site.test\x00.evil", tcp)
        connect("smuggled-destination", "ssh.site.test",
                tcp + [("burrow-destination", trap_addr), ("burrow-origin", "tcp://" + trap_addr),
                       ("burrow-url", "tcp://" + trap_addr), ("x-forwarded-host", trap_addr),
                       ("burrow-app", "evil")])
        connect("kind-udp", "ssh.site.test", [("burrow-kind", "udp")])
        connect("kind-http", "ssh.site.test", [("burrow-kind", "http")])
        connect("case-and-dot", "SSH.Site.Test.", tcp)
        connect("legit-again", "ssh.site.test", tcp)
        # control: the one rule that leads to the trap does reach it
        connect("trap-rule", "trap.site.test", tcp, banner_wait=1)
    except EOFError:
        pass
    time.sleep(0.5)
    out("trap_dials=%d" % trap.dials)
    s.close()


if __name__ == "__main__":
    main()
