#!/usr/bin/env python3
"""h2_fake_connector.py — a hostile connector that abuses HTTP/2 against the real edge (stdlib only).

    h2_fake_connector.py CREDENTIALS HOSTNAME CASE...

Environment: EDGE_TUNNEL_PORT, EDGE_PORT, BURROW_CA, ID and SECRET (a service token allowed to
HOSTNAME's application), EDGE_PID. For each CASE it dials the edge's tunnel listener (TLS, ALPN
h2, the edge's CA verified), takes the HTTP/2 server role as a connector does, registers with
the tunnel credentials in CREDENTIALS for HOSTNAME (the edge's stream 1; its result on stream 3),
then attacks:

    server-stream-even  HEADERS (a response) on stream 2: a stream only the server may open, unannounced
    server-stream-odd   HEADERS (a response) on stream 101: a client stream the edge never opened
    push-promise        PUSH_PROMISE (the edge disabled push in its SETTINGS)
    rst-idle            RST_STREAM on stream 101, never opened
    rst-flood           100,000 RST_STREAM on the edge's streams 1 and 3, closed already
    settings-flood      100,000 SETTINGS frames, the ACKs never read
    ping-flood          100,000 PINGs, the answers never read
    big-headers         a client session to HOSTNAME (WebSocket upgrade with ID/SECRET on EDGE_PORT);
                        the edge's CONNECT stream is answered with 200 and 100 headers of 1000
                        bytes each (HEADERS + 6 CONTINUATION): over the edge's 32 headers / 8 KiB
    data-unknown        DATA on stream 101, never opened
    window-overflow     WINDOW_UPDATE +2^31-1 on the connection (the edge's send window overflows)
    silent              answers no CONNECT stream at all (a connector whose origin never answers):
                        prints "registered", holds the connection (answering PINGs and SETTINGS)
                        and prints "connect N" when the edge opens its Nth CONNECT stream,
                        until the file $SILENT_STOP exists (60 s at most), then prints
                        "silent streams=N reset=CODE,..." (the CONNECT streams the edge opened and
                        how it reset each, "-" when it did not) instead of the line below

and prints one line per case:

    CASE outcome=goaway:CODE|closed|open|stuck after=S sent=N [more] cpu=S

outcome/after as in h2_fake_edge.py (from the first attack frame to the edge's GOAWAY or close;
"open": the edge kept the connection and answers a PING). cpu: edge CPU seconds spent during the
case. big-headers adds stream=rst:CODE|kept and client=STATUS|closed|timeout (what the client got).
"""
import json
import os
import socket
import ssl
import sys
import time

from h2raw import (CONTINUATION, DATA, END_HEADERS, END_STREAM, HEADERS, PUSH_PROMISE, S_ENABLE_PUSH,
                   S_HEADER_TABLE_SIZE, S_MAX_CONCURRENT_STREAMS, Conn, client_ctx, cpu_s, err_name, frame,
                   hpack, ping_frame, rst_frame, settings_frame, window_update_frame, E_CANCEL)

TUNNEL_PORT = int(os.environ.get("EDGE_TUNNEL_PORT", "0"))
EDGE_PORT = int(os.environ.get("EDGE_PORT", "0"))
CA = os.environ.get("BURROW_CA", "")
ID = os.environ.get("ID", "")
SECRET = os.environ.get("SECRET", "")
EDGE_PID = int(os.environ.get("EDGE_PID", "0"))
MAX_FRAME = 16384


def out(line):
    print(line, flush=True)


def session(creds, hostname):
    raw = socket.create_connection(("127.0.0.1", TUNNEL_PORT), timeout=10)
    s = client_ctx(CA).wrap_socket(raw, server_hostname="burrow-edge")
    if s.selected_alpn_protocol() != "h2":
        raise RuntimeError("the edge did not negotiate h2")
    c = Conn(s, server=True)
    c.raw(settings_frame([(S_HEADER_TABLE_SIZE, 0), (S_MAX_CONCURRENT_STREAMS, 100)]))
    if not c.pump(lambda: 1 in c.requests and 1 in c.ended, 10):
        raise RuntimeError("no register request from the edge")
    body = json.dumps({"tunnel_id": creds["tunnel_id"], "tunnel_secret": creds["tunnel_secret"],
                       "version": "h2-fake-connector", "conn_index": 0, "hostnames": [hostname]}).encode()
    c.send(HEADERS, END_HEADERS, 1, hpack([(":status", "200"), ("content-type", "application/json")]))
    c.send(DATA, END_STREAM, 1, body)
    if not c.pump(lambda: 3 in c.requests and 3 in c.ended, 10):
        raise RuntimeError("no registration result from the edge")
    res = json.loads(c.data.get(3) or b"{}")
    if not res.get("ok"):
        raise RuntimeError("registration refused: %s" % res.get("error"))
    c.send(HEADERS, END_HEADERS | END_STREAM, 3, hpack([(":status", "200")]))
    c.pump(None, 2)
    return c


# ---------------------------------------------------------------- cases

RESPONSE = hpack([(":status", "200")])


def case_server_stream_even(c, host):
    c.send(HEADERS, END_HEADERS, 2, RESPONSE)
    return 1, ""


def case_server_stream_odd(c, host):
    c.send(HEADERS, END_HEADERS, 101, RESPONSE)
    return 1, ""


def case_push_promise(c, host):
    req = hpack([(":method", "GET"), (":scheme", "https"), (":authority", host), (":path", "/pushed")])
    c.send(PUSH_PROMISE, END_HEADERS, 3, b"\x00\x00\x00\x02" + req)
    return 1, ""


def case_rst_idle(c, host):
    c.raw(rst_frame(101, E_CANCEL))
    return 1, ""


def case_rst_flood(c, host):
    return c.flood(lambda i: rst_frame(1 + 2 * (i & 1), E_CANCEL), 100000, batch=2000, timeout=15), ""


def _unread_flood(c, make, n):
    c.read_paused = True
    sent = c.flood(make, n, batch=2000, timeout=10, stop=c.gone)
    c.read_paused = False
    return sent, ""


def case_settings_flood(c, host):
    return _unread_flood(c, lambda i: settings_frame(), 100000)


def case_ping_flood(c, host):
    return _unread_flood(c, lambda i: ping_frame(b"%08d" % (i % 100000000)), 100000)


def http_status(s, timeout):
    """The status of an HTTP/1.1 response on s, "closed" or "timeout"."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return "closed"
            data += chunk
    except socket.timeout:
        return "timeout"
    except (OSError, ssl.SSLError):
        return "closed"
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode() if len(parts) > 1 else "garbage"


def case_big_headers(c, host):
    ctx = client_ctx(CA, alpn=None)
    cl = ctx.wrap_socket(socket.create_connection(("127.0.0.1", EDGE_PORT), timeout=10), server_hostname=host)
    cl.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                "Cf-Access-Client-Id: %s\r\nCf-Access-Client-Secret: %s\r\n\r\n" % (host, ID, SECRET)).encode())
    n0 = len(c.requests)
    if not c.pump(lambda: len(c.requests) > n0, 10):
        cl.close()
        raise RuntimeError("the edge opened no stream for the client session (%s)" % http_status(cl, 1))
    sid = c.requests[-1]
    block = hpack([(":status", "200")] + [("x-big-%03d" % i, "b" * 1000) for i in range(100)])
    chunks = [block[i:i + MAX_FRAME] for i in range(0, len(block), MAX_FRAME)]
    c.send(HEADERS, END_HEADERS if len(chunks) == 1 else 0, sid, chunks[0])
    for i, ch in enumerate(chunks[1:], 1):
        c.send(CONTINUATION, END_HEADERS if i == len(chunks) - 1 else 0, sid, ch)
    c.pump(lambda: sid in c.rst or c.closed_or_goaway(), 5)
    stream = "rst:" + err_name(c.rst[sid]) if sid in c.rst else "kept"
    client = http_status(cl, 10)
    cl.close()
    return len(chunks), " stream=%s client=%s" % (stream, client)


def case_data_unknown(c, host):
    c.send(DATA, 0, 101, b"x" * 100)
    return 1, ""


def case_window_overflow(c, host):
    c.raw(window_update_frame(0, 0x7FFFFFFF))
    return 1, ""


def case_silent(c, host):
    out("registered")
    stop = os.environ.get("SILENT_STOP", "")
    seen = [0]

    def stopped():
        while seen[0] < len([sid for sid in c.requests if sid > 3]):
            seen[0] += 1
            out("connect %d" % seen[0])
        return bool(stop) and os.path.exists(stop)

    c.pump(stopped, 60)
    streams = [sid for sid in c.requests if sid > 3]
    resets = ",".join(err_name(c.rst[sid]) if sid in c.rst else "-" for sid in streams)
    return 0, " streams=%d reset=%s" % (len(streams), resets or "none")


CASES = {
    "server-stream-even": case_server_stream_even,
    "server-stream-odd": case_server_stream_odd,
    "push-promise": case_push_promise,
    "rst-idle": case_rst_idle,
    "rst-flood": case_rst_flood,
    "settings-flood": case_settings_flood,
    "ping-flood": case_ping_flood,
    "big-headers": case_big_headers,
    "data-unknown": case_data_unknown,
    "window-overflow": case_window_overflow,
    "silent": case_silent,
}


def main():
    with open(sys.argv[1]) as f:
        creds = json.load(f)
    host = sys.argv[2]
    names = sys.argv[3:]
    for n in names:
        if n not in CASES:
            raise SystemExit("unknown case " + n)
    for name in names:
        try:
            c = session(creds, host)
        except (OSError, RuntimeError, ValueError, EOFError) as e:
            out("setup %s: %s" % (name, e))
            sys.exit(1)
        if name == "silent":
            _, more = case_silent(c, host)
            out("silent" + more)
            c.close()
            continue
        cpu0 = cpu_s(EDGE_PID)
        t0 = time.monotonic()
        try:
            sent, more = CASES[name](c, host)
        except (OSError, RuntimeError) as e:
            out("setup %s: %s" % (name, e))
            sys.exit(1)
        outcome, after, note = c.verdict(t0)
        more += note
        out("%s outcome=%s after=%.2fs sent=%d%s cpu=%.2f" %
            (name, outcome, after, sent, more, cpu_s(EDGE_PID) - cpu0))
        c.close()
    out("done")


if __name__ == "__main__":
    main()
