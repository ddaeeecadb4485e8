#!/usr/bin/env python3
"""halfopen.py — many half-open connections to the edge's listeners (stdlib only).

    halfopen.py READY_FILE --kind silent|half-hello --front N --tunnel M
                [--spread K | --source ADDR] [--settle S] [--stop FILE] [--wait S]

Opens N TCP connections to the edge's front listener (EDGE_PORT) and M to its tunnel listener
(EDGE_TUNNEL_PORT). "silent" ones send nothing at all; "half-hello" ones send the first half of
a real TLS ClientHello (SNI ssh.site.test on the front, burrow-edge with ALPN h2 on the tunnel).
None ever sends more.

Source addresses (Linux: every 127.x.y.z is local): --spread K binds the connections in turn to
K addresses 127.77.x.y, so no address holds more than ceil(N/K); --source ADDR binds them all
to ADDR; neither: the kernel's choice (127.0.0.1).

Once all are open and S more seconds (--settle, default 0) have passed, it writes to READY_FILE
(atomically) "open N" and one line per kind,

    KIND n=N held=H refused=R p50_ms=MS p99_ms=MS max_ms=MS

(held: still open; refused: closed by the edge so far, with the time from the connection being
established, when connect() returned, to the close: a SYN the kernel dropped on a full listen
backlog costs a 1 s retransmission before that, which is not the edge's doing).
Then it watches every socket until the edge closes it, S seconds pass (--wait, default 25) or
the file --stop names exists (it then closes the rest itself), and prints one line per kind,

    KIND n=N closed=N min=S max=S

(closed: by the edge; min/max: seconds from the connect to the edge's close), then "open_ms=MS"
(how long opening took). Exit status 1 with a reason on stderr if a connect fails.
"""
import os
import selectors
import socket
import ssl
import sys
import time

EDGE_PORT = int(os.environ.get("EDGE_PORT", "0"))
TUNNEL_PORT = int(os.environ.get("EDGE_TUNNEL_PORT", "0"))
CA = os.environ.get("BURROW_CA", "")
# Linux: pick the source port at connect(), not bind(), so ports are not unique per address alone.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def opt(args, name, default):
    return args[args.index(name) + 1] if name in args else default


def half_hello(sni, alpn=None):
    ctx = ssl.create_default_context(cafile=CA or None)
    ctx.check_hostname = False
    if alpn:
        ctx.set_alpn_protocols(alpn)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    return hello[:len(hello) // 2]


def spread_addr(i):
    return "127.77.%d.%d" % (i // 250, i % 250 + 1)


class Watch:
    """Every connection as [kind, socket, connected_at, closed_at]; closed_at is set when the edge
    closes it (EOF or reset; bytes such as a TLS alert are read and dropped)."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.left = 0

    def add(self, kind, s, at, closed=False):
        c = [kind, s, at, time.monotonic() if closed else None]
        self.conns.append(c)
        if not closed:
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, c)
            self.left += 1

    def closed(self, c):
        c[3] = time.monotonic()
        self.sel.unregister(c[1])
        self.left -= 1

    def poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            c = key.data
            try:
                chunk = c[1].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed(c)

    def kinds(self):
        ks = []
        for c in self.conns:
            if c[0] not in ks:
                ks.append(c[0])
        return ks


def main():
    ready = sys.argv[1]
    args = sys.argv[2:]
    n_front = int(opt(args, "--front", "10000"))
    n_tunnel = int(opt(args, "--tunnel", "1000"))
    wait = float(opt(args, "--wait", "25"))
    settle = float(opt(args, "--settle", "0"))
    stop = opt(args, "--stop", "")
    spread = int(opt(args, "--spread", "0"))
    source = opt(args, "--source", "")
    silent = opt(args, "--kind", "silent") == "silent"
    hello = {"front": half_hello("ssh.site.test"), "tunnel": half_hello("burrow-edge", ["h2"])}
    w = Watch()
    t0 = time.monotonic()
    k = 0
    for where, port, n in (("front", EDGE_PORT, n_front), ("tunnel", TUNNEL_PORT, n_tunnel)):
        kind = "%s-%s" % (where, "silent" if silent else "half-hello")
        for i in range(n):
            s = socket.socket()
            s.settimeout(10)
            src = spread_addr(k % spread) if spread else source
            k += 1
            try:
                if src:
                    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                    s.bind((src, 0))
                s.connect(("127.0.0.1", port))
            except ConnectionResetError:
                # the edge accepted and reset it before connect() returned here: 0 ms
                w.add(kind, s, time.monotonic(), closed=True)
                continue
            except OSError as e:
                print("connect %d to the %s listener from %s failed: %s" % (i, where, src or "127.0.0.1", e),
                      file=sys.stderr)
                sys.exit(1)
            at = time.monotonic()  # established: the edge's part starts here
            if not silent:
                try:
                    s.sendall(hello[where])
                except OSError:
                    pass  # already reset by the edge: seen below
            w.add(kind, s, at)
            w.poll(0)  # closes are timed as they come, not after the last connect
    open_ms = int((time.monotonic() - t0) * 1000)
    settle_end = time.monotonic() + settle
    while time.monotonic() < settle_end:
        w.poll(0.05)
    lines = ["open %d" % len(w.conns)]
    for kind in w.kinds():
        cs = [c for c in w.conns if c[0] == kind]
        done = sorted((c[3] - c[2]) * 1000 for c in cs if c[3] is not None)
        lines.append("%s n=%d held=%d refused=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (
            kind, len(cs), len(cs) - len(done), len(done), done[len(done) // 2] if done else -1,
            done[len(done) * 99 // 100] if done else -1, done[-1] if done else -1))
    with open(ready + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(ready + ".tmp", ready)
    deadline = time.monotonic() + wait
    while w.left and time.monotonic() < deadline and not (stop and os.path.exists(stop)):
        w.poll(0.1)
    for kind in w.kinds():
        cs = [c for c in w.conns if c[0] == kind]
        done = [c[3] - c[2] for c in cs if c[3] is not None]
        print("%s n=%d closed=%d min=%.1f max=%.1f" % (kind, len(cs), len(done), min(done) if done else -1,
                                                       max(done) if done else -1), flush=True)
    print("open_ms=%d" % open_ms, flush=True)
    for c in w.conns:
        c[1].close()


if __name__ == "__main__":
    main()
