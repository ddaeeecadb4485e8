#!/usr/bin/env python3
"""idle_sessions.py PORT N: opens N connections to PORT, proves each one carries bytes (a unique
line echoed back), prints "open N" and keeps them idle until stdin closes, then checks each one
still echoes and prints "still N". Exits 1 on any failure, with the reason on stderr."""
import asyncio
import sys


async def session(port, i, opened, release, sem):
    line = b"session %d\n" % i
    # At most 100 sessions opening at a time: each is one TLS handshake and upgrade at the edge,
    # and the edge refuses an address more unauthenticated connections than its cap
    # (--max-unauth-per-addr, default 256).
    async with sem:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
        writer.write(line)
        got = await asyncio.wait_for(reader.readexactly(len(line)), 60)
    if got != line:
        raise RuntimeError("session %d: echoed %r" % (i, got))
    opened.append(i)
    await release.wait()
    writer.write(line)
    got = await asyncio.wait_for(reader.readexactly(len(line)), 60)
    if got != line:
        raise RuntimeError("session %d after idling: echoed %r" % (i, got))
    writer.close()


async def main(port, n):
    release = asyncio.Event()
    opened = []
    sem = asyncio.Semaphore(100)
    tasks = [asyncio.create_task(session(port, i, opened, release, sem)) for i in range(n)]
    while len(opened) < n:
        done = [t for t in tasks if t.done() and t.exception()]
        if done:
            raise done[0].exception()
        await asyncio.sleep(0.05)
    print("open %d" % n, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    release.set()
    await asyncio.gather(*tasks)
    print("still %d" % n, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
    except Exception as e:  # one line for the test's log
        print("idle_sessions: %s" % e, file=sys.stderr)
        sys.exit(1)
