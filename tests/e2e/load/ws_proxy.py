#!/usr/bin/env python3
"""ws_proxy.py — an ssh ProxyCommand to the edge from a chosen source address (stdlib only).

    ssh -o ProxyCommand="ws_proxy.py --source 127.0.0.9 %h" ...

Does what `burrow access ssh` does, minus everything but the wire: TLS to $BURROW_EDGE (trusting
$BURROW_CA, SNI = the hostname), the WebSocket upgrade with the service token in $ID / $SECRET,
then stdin and stdout ride in binary messages. The socket is bound to --source first, so a test
can be one client among many addresses on loopback (Linux: every 127.x.y.z is local).

A refusal or a failed connection is one line "ws_proxy: ..." on stderr and exit status 1.
"""
import asyncio
import base64
import os
import socket
import ssl
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "attack"))
from edge_attack import frame  # noqa: E402  (a masked client frame)


async def run(source, host):
    edge_host, _, edge_port = os.environ["BURROW_EDGE"].rpartition(":")
    ctx = ssl.create_default_context(cafile=os.environ.get("BURROW_CA") or None)
    s = socket.socket()
    s.bind((source, 0))
    try:
        s.connect((edge_host, int(edge_port)))
        s.setblocking(False)
        r, w = await asyncio.wait_for(
            asyncio.open_connection(sock=s, ssl=ctx, server_hostname=host), 10)
        w.write(("GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                 "Cf-Access-Client-Id: %s\r\nCf-Access-Client-Secret: %s\r\n\r\n" % (
                     host, base64.b64encode(os.urandom(16)).decode(), os.environ["ID"],
                     os.environ["SECRET"])).encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as e:
        raise SystemExit("ws_proxy: edge %s from %s: %s" % (os.environ["BURROW_EDGE"], source,
                                                           str(e) or type(e).__name__))
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit("ws_proxy: edge refused: %s" % head.split(b"\r\n")[0].decode(errors="replace"))

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)

    async def up():
        while True:
            data = await stdin.read(65536)
            if not data:
                w.write(frame(8, b"\x03\xe8"))
                await w.drain()
                return
            w.write(frame(2, data))
            await w.drain()

    async def down():
        while True:
            h = await r.readexactly(2)
            n = h[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await r.readexactly(8))[0]
            p = await r.readexactly(n)
            op = h[0] & 0x0F
            if op in (0, 2):
                os.write(1, p)
            elif op == 9:
                w.write(frame(10, p))
            elif op == 8:
                return

    tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if tasks[0] in done and not tasks[0].exception():
        # stdin ended: the peer's answer may still be on its way
        try:
            await asyncio.wait_for(tasks[1], 10)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError):
            pass
    for t in pending:
        t.cancel()
    for t in done:
        t.exception()  # (retrieved: an EOF mid-frame is a normal end here)
    w.close()


def main():
    args = sys.argv[1:]
    source = args[args.index("--source") + 1] if "--source" in args else "127.0.0.1"
    host = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] != "--source")]
    if not host:
        raise SystemExit("usage: ws_proxy.py [--source ADDR] HOSTNAME")
    try:
        asyncio.run(run(source, host[0]))
    except asyncio.IncompleteReadError:
        pass  # the edge closed: the session is over


if __name__ == "__main__":
    main()
