#!/usr/bin/env python3
"""halfopen.py — many half-open connections to the edge's listeners (stdlib only).

    halfopen.py READY_FILE --kind silent|half-hello --front N --tunnel M [--wait S]

Opens N TCP connections to the edge's front listener (EDGE_PORT) and M to its tunnel listener
(EDGE_TUNNEL_PORT). "silent" ones send nothing at all; "half-hello" ones send the first half of
a real TLS ClientHello (SNI ssh.site.test on the front, burrow-edge with ALPN h2 on the tunnel).
None ever sends more. Once all are open it writes "open N" to READY_FILE (atomically),
then watches every socket until the edge closes it or S seconds (default 25) pass, and prints one
line per kind:

    KIND n=N closed=N min=S max=S

(min/max: seconds from the connect to the edge's close, over the closed ones), then "open_ms=MS"
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


def main():
    ready = sys.argv[1]
    args = sys.argv[2:]
    n_front = int(opt(args, "--front", "10000"))
    n_tunnel = int(opt(args, "--tunnel", "1000"))
    wait = float(opt(args, "--wait", "25"))
    silent = opt(args, "--kind", "silent") == "silent"
    hello = {"front": half_hello("ssh.site.test"), "tunnel": half_hello("burrow-edge", ["h2"])}
    sel = selectors.DefaultSelector()
    conns = []  # [kind, socket, connected_at, closed_at]
    t0 = time.monotonic()
    for where, port, n in (("front", EDGE_PORT, n_front), ("tunnel", TUNNEL_PORT, n_tunnel)):
        for i in range(n):
            s = socket.socket()
            s.settimeout(10)
            try:
                s.connect(("127.0.0.1", port))
            except OSError as e:
                print("connect %d to the %s listener failed: %s" % (i, where, e), file=sys.stderr)
                sys.exit(1)
            kind = "%s-%s" % (where, "silent" if silent else "half-hello")
            c = [kind, s, time.monotonic(), None]
            if not silent:
                s.sendall(hello[where])
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, c)
            conns.append(c)
    open_ms = int((time.monotonic() - t0) * 1000)
    with open(ready + ".tmp", "w") as f:
        f.write("open %d\n" % len(conns))
    os.rename(ready + ".tmp", ready)
    left = len(conns)
    deadline = time.monotonic() + wait
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            c = key.data
            try:
                chunk = c[1].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # EOF or reset: closed (bytes, e.g. a TLS alert, are read and dropped)
                c[3] = time.monotonic()
                sel.unregister(c[1])
                left -= 1
    kinds = []
    for c in conns:
        if c[0] not in kinds:
            kinds.append(c[0])
    for kind in kinds:
        cs = [c for c in conns if c[0] == kind]
        done = [c[3] - c[2] for c in cs if c[3] is not None]
        print("%s n=%d closed=%d min=%.1f max=%.1f" % (kind, len(cs), len(done), min(done) if done else -1,
                                                       max(done) if done else -1), flush=True)
    print("open_ms=%d" % open_ms, flush=True)
    for c in conns:
        c[1].close()


if __name__ == "__main__":
    main()
