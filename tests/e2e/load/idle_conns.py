#!/usr/bin/env python3
"""idle_conns.py PORT N READY DONE: opens N TCP connections to 127.0.0.1:PORT that never send a byte,
and times how long the peer takes to close (or reset) each one (stdlib only).

Writes READY (atomically) 1 s after the last connect, with one line

    connected=N open=M      connections made, and how many the peer has not closed by then

then watches them until every one is closed or 20 s pass, and writes DONE with one line

    quick=Q held=H held_min_ms=A held_max_ms=B never=V

quick: closed within 3 s of its connect (refused at once: a loaded machine may take a second or two to
accept a burst of 500, still well before the 5 s deadline of a held one); held: closed later, with the least and the
most time from connect to close; never: still open after 20 s (counted in held too, not in its
times). A connect reset before it returned counts as connected and quick. Exits 1 if a connect
fails otherwise.
"""
import os
import resource
import selectors
import socket
import sys
import time


def write_line(path, line):
    with open(path + ".tmp", "w") as f:
        f.write(line + "\n")
    os.rename(path + ".tmp", path)


def main(port, n, ready, done):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
    sel = selectors.DefaultSelector()
    opened = {}  # socket -> connect time
    closed = {}  # socket -> seconds from connect to close

    def poll(timeout):
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                gone = s.recv(1) == b""
            except BlockingIOError:
                continue
            except OSError:
                gone = True
            if gone:
                closed[s] = time.monotonic() - opened[s]
                sel.unregister(s)
                s.close()

    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        opened[s] = time.monotonic()
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionResetError:
            # accepted and reset before connect() returned: refused at once
            closed[s] = time.monotonic() - opened[s]
            s.close()
            continue
        except OSError as e:
            print("connect: %s" % e, file=sys.stderr)
            return 1
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        poll(0)
    settle = time.monotonic() + 1
    while time.monotonic() < settle:
        poll(0.1)
    write_line(ready, "connected=%d open=%d" % (len(opened), len(opened) - len(closed)))
    end = time.monotonic() + 20
    while len(closed) < len(opened) and time.monotonic() < end:
        poll(0.1)
    quick = [t for t in closed.values() if t < 3]
    late = [t for t in closed.values() if t >= 3]
    never = len(opened) - len(closed)
    write_line(
        done,
        "quick=%d held=%d held_min_ms=%d held_max_ms=%d never=%d"
        % (
            len(quick),
            len(late) + never,
            min(late) * 1000 if late else -1,
            max(late) * 1000 if late else -1,
            never,
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
