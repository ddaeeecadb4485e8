#!/usr/bin/env python3
"""hold.py — opens many connections at once and holds them (stdlib only).

    hold.py tcp PORT N READY STOP       N TCP connections to 127.0.0.1:PORT that send nothing
    hold.py echo PORT N READY STOP      N sessions through PORT (burrow access tcp to an echo origin),
                                        each proven by a line echoed back within 10 s

Writes READY (atomically) once every connection was tried, with one line:

    tcp:  "open=N closed=N"   how many are still open once the count held still for 1 s (at
                              most 5 s after the last connect), and how many the peer closed
                              (or reset) by then
    echo: "ok=N failed=N"     sessions that echoed, and sessions that did not (closed or timed out)

then holds the open ones until the file STOP exists (at most 60 s) and closes them all.
"""
import os
import select
import socket
import sys
import time


def write_ready(path, line):
    with open(path + ".tmp", "w") as f:
        f.write(line + "\n")
    os.rename(path + ".tmp", path)


def closed(s):
    """True when the peer closed or reset s (reads nothing else: the tcp mode never gets bytes)."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except OSError:
        return True


def mode_tcp(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    # the peer may still be shedding what it cannot hold: wait until nothing changed for 1 s (5 s at most)
    live = socks
    deadline = time.monotonic() + 5
    stable_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - stable_since < 1:
        time.sleep(0.1)
        still = [s for s in live if not closed(s)]
        if len(still) != len(live):
            stable_since = time.monotonic()
        live = still
    return socks, "open=%d closed=%d" % (len(live), n - len(live))


def mode_echo(port, n):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", port))
            socks.append((i, s))
        except OSError:
            s.close()
    pending = {}
    for i, s in socks:
        line = b"session %d\n" % i
        try:
            s.sendall(line)
            pending[s] = [line, b""]
        except OSError:
            pass
    ok = []
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(list(pending), [], [], 0.2)
        for s in r:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            want, got = pending[s]
            if not chunk:
                del pending[s]
                continue
            got += chunk
            pending[s][1] = got
            if got == want:
                ok.append(s)
                del pending[s]
            elif not want.startswith(got):
                del pending[s]
    return [s for _, s in socks], "ok=%d failed=%d" % (len(ok), n - len(ok))


def main():
    mode, port, n, ready, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    socks, line = (mode_tcp if mode == "tcp" else mode_echo)(port, n)
    write_ready(ready, line)
    deadline = time.monotonic() + 60
    while not os.path.exists(stop) and time.monotonic() < deadline:
        time.sleep(0.05)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
