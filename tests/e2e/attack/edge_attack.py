#!/usr/bin/env python3
"""edge_attack.py — the raw attacker client of burrow's e2e attack tests (stdlib only).

    edge_attack.py http CASE [--sni NAME] [--src IP]   one crafted request; prints "status N",
                                                       "closed" (no response), "reset" or "timeout"
    edge_attack.py ws CASE                             a valid upgrade (101), then a crafted frame
                                                       stream; prints "outcome=... origin=..."
    edge_attack.py ws ping-flood [--count N]           N pings as fast as possible; counts pongs
    edge_attack.py ws ping-noread --sessions K --count N --ready F --stop F
                                                       K sessions send N pings each, never read;
                                                       held open from F(ready) until F(stop) exists
    edge_attack.py brute N [--src IP]                  N upgrades with wrong secrets; prints statuses
    edge_attack.py upgrade [--src IP]                  a valid upgrade; prints "status 101 banner" when
                                                       the origin's SSH banner comes through
    edge_attack.py admin-body cl|chunked               admin POST with a 2 MiB body; prints "status N"
    edge_attack.py slowloris READY_FILE                stalled connections on both listeners; prints
                                                       one "CATEGORY n=.. closed=.. min=..s max=..s"
                                                       line per kind

Environment (set by lib.sh's start_stack and the test): EDGE_PORT, EDGE_TUNNEL_PORT, BURROW_CA,
ID, SECRET (a valid service token for ssh.site.test), SSHD_PORT (the origin), BURROW_ADMIN_TOKEN.
The client always verifies the edge's certificate chain against BURROW_CA; hostname checking is
off only so that it can send odd server names (case, trailing dot) on purpose.
"""
import os
import select
import socket
import ssl
import struct
import sys
import time

HOST = "ssh.site.test"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key: valid
EDGE_PORT = int(os.environ.get("EDGE_PORT", "0"))
TUNNEL_PORT = int(os.environ.get("EDGE_TUNNEL_PORT", "0"))
CA = os.environ.get("BURROW_CA", "")
ID = os.environ.get("ID", "")
SECRET = os.environ.get("SECRET", "")
SSHD_PORT = int(os.environ.get("SSHD_PORT", "0"))


def out(line):
    print(line, flush=True)


# ---------------------------------------------------------------- connections


def tls_ctx(alpn=None):
    ctx = ssl.create_default_context(cafile=CA)
    ctx.check_hostname = False  # chain still verified (CERT_REQUIRED)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tcp_connect(port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def tls_connect(sni=HOST, src=None, timeout=10, port=None, alpn=None):
    raw = tcp_connect(port or EDGE_PORT, src, timeout)
    return tls_ctx(alpn).wrap_socket(raw, server_hostname=sni)


def read_head(s, timeout=10):
    """Reads a response head. Returns (kind, status, bytes_after_head):
    kind is "status", "closed" (EOF before a status line), "reset" or "timeout"."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return ("timeout", None, data) if not data.startswith(b"HTTP/") else _status(data)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return ("reset", None, data) if not data.startswith(b"HTTP/") else _status(data)
        if not chunk:
            return ("closed", None, data) if not data.startswith(b"HTTP/") else _status(data)
        data += chunk
        if len(data) > 65536:
            break
    return _status(data)


def _status(data):
    line = data.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    try:
        code = int(parts[1])
    except (IndexError, ValueError):
        return ("garbage", None, data)
    rest = data.split(b"\r\n\r\n", 1)
    return ("status", code, rest[1] if len(rest) > 1 else b"")


def describe(res):
    kind, code, _ = res
    return "status %d" % code if kind == "status" else kind


# ---------------------------------------------------------------- requests


def hdrs(host=HOST, key=KEY, version="13", secret=None, cid=None, extra=()):
    """The header lines of a valid upgrade (each a bytes line without CRLF), plus extra ones."""
    h = [b"Host: " + host.encode()]
    h += [b"Upgrade: websocket", b"Connection: Upgrade"]
    if key is not None:
        h.append(b"Sec-WebSocket-Key: " + key.encode())
    if version is not None:
        h.append(b"Sec-WebSocket-Version: " + version.encode())
    h.append(b"Cf-Access-Client-Id: " + (ID if cid is None else cid).encode())
    h.append(b"Cf-Access-Client-Secret: " + (SECRET if secret is None else secret).encode())
    return h + [x if isinstance(x, bytes) else x.encode() for x in extra]


def request(lines, target=b"/", method=b"GET", body=b""):
    return method + b" " + target + b" HTTP/1.1\r\n" + b"".join(l + b"\r\n" for l in lines) + b"\r\n" + body


def without(lines, prefix):
    return [l for l in lines if not l.lower().startswith(prefix.lower().encode())]


def http_case(name):
    """Returns (bytes to send, SNI) for a named crafted request."""
    v = hdrs()
    sni = HOST
    idn = "ssh." + "s\u0456te".encode("idna").decode() + ".test"  # a look-alike of ssh.site.test
    cases = {
        # control: a well-formed upgrade with a valid token
        "valid": request(v),
        # ---- smuggling on the upgrade
        "cl-te": request(v + [b"Content-Length: 5", b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n"),
        "te-cl": request(v + [b"Transfer-Encoding: chunked", b"Content-Length: 0"]),
        "cl-te-lowercase": request(v + [b"content-length: 0", b"transfer-encoding: identity"]),
        "two-cl-same": request(v + [b"Content-Length: 0", b"Content-Length: 0"]),
        "two-cl-differ": request(v + [b"Content-Length: 0", b"Content-Length: 48"], body=b"x" * 48),
        "cl-list": request(v + [b"Content-Length: 0, 0"]),
        "te-only": request(v + [b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n"),
        "upgrade-with-body": request(v + [b"Content-Length: 5"], body=b"hello"),
        "obs-fold": request(v[:1] + [b"X-Note: a", b" folded"] + v[1:]),
        "obs-fold-tab": request(v + [b"X-Note: a", b"\tContent-Length: 5"], body=b"hello"),
        "obs-fold-on-key": request(without(v, "Sec-WebSocket-Key") + [b"Sec-WebSocket-Key: " + KEY.encode(), b" x"]),
        "space-before-colon-cl": request(v + [b"Content-Length : 5"], body=b"hello"),
        "space-before-colon-host": request(v + [b"Host : other.site.test"]),
        "nul-in-value": request(v + [b"X-Note: a\x00b"]),
        "nul-in-secret": request(without(v, "Cf-Access-Client-Secret") + [b"Cf-Access-Client-Secret: " + SECRET.encode() + b"\x00x"]),
        "bare-cr-in-value": request(v + [b"X-Note: a\rContent-Length: 5"], body=b"hello"),
        "ctl-in-value": request(v + [b"X-Note: a\x01b"]),
        "no-colon-line": request(v + [b"X-Note-without-colon"]),
        "two-hosts": request(v + [b"Host: other.site.test"]),
        "http2-version": request(v).replace(b"HTTP/1.1", b"HTTP/2.0", 1),
        # ---- Host vs SNI
        "host-other": request(hdrs(host="other.site.test")),
        "host-evil-suffix": request(hdrs(host="ssh.site.test.evil.test")),
        "host-missing": request(without(v, "Host:")),
        "host-nonascii": request(hdrs(host="ssh.s\u0456te.test")),  # Cyrillic i, as UTF-8 bytes
        "host-userinfo": request(hdrs(host="x@ssh.site.test")),
        "host-nul": request([b"Host: ssh.site.test\x00.other.site.test"] + v[1:]),
        "host-port": request(hdrs(host="ssh.site.test:443")),
        "host-upper-dot": request(hdrs(host="SSH.Site.Test.")),
        "idn-punycode": (request(hdrs(host=idn)), idn),
        # ---- WebSocket handshake
        "key-short": request(hdrs(key="dGhlIHNhbXBsZSBub25jZQ")),
        "key-long": request(hdrs(key="dGhlIHNhbXBsZSBub25jZQ==AAAA")),
        "key-12-bytes": request(hdrs(key="AAAAAAAAAAAAAAAA")),
        "key-not-base64": request(hdrs(key="!!!!!!!!!!!!!!!!!!!!!!==")),
        "key-noncanonical": request(hdrs(key="dGhlIHNhbXBsZSBub25jZR==")),
        "key-empty": request(hdrs(key="")),
        "key-missing": request(hdrs(key=None)),
        "key-twice": request(hdrs(extra=[b"Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="])),
        "version-missing": request(hdrs(version=None)),
        "version-8": request(hdrs(version="8")),
        "version-12": request(hdrs(version="12")),
        "version-130": request(hdrs(version="130")),
        "post-upgrade": request(v + [b"Content-Length: 0"], method=b"POST"),
        # ---- credentials
        "id-only": request(without(v, "Cf-Access-Client-Secret")),
        "secret-only": request(without(v, "Cf-Access-Client-Id")),
        "wrong-id": request(hdrs(cid="0" * 32 + ".access")),
        "secret-300": request(hdrs(secret=SECRET + "0" * (300 - len(SECRET)))),
        "no-credentials": request(without(without(v, "Cf-Access-Client-Id"), "Cf-Access-Client-Secret")),
        # ---- limits
        "header-20k": request(v + [b"X-Pad: " + b"a" * 20480]),
        "headers-100": request(v + [("X-H%d: v" % i).encode() for i in range(100)]),
        "target-2k": request(v, target=b"/" + b"a" * 2000),
        "target-20k": request(v, target=b"/" + b"a" * 20480),
    }
    if name not in cases:
        raise SystemExit("unknown http case " + name)
    c = cases[name]
    return c if isinstance(c, tuple) else (c, sni)


def mode_http(args):
    name = args[0]
    data, sni = http_case(name)
    sni = opt(args, "--sni", sni)
    if sni == "-":
        sni = None
    s = tls_connect(sni=sni, src=opt(args, "--src"))
    try:
        s.sendall(data)
    except OSError:
        pass  # the edge may answer and close before it read everything: read what it said
    res = read_head(s)
    line = describe(res)
    if res[0] == "status" and res[1] == 101 and "--banner" in args:
        line += " banner" if read_banner(s) else " no-banner"
    out(line)


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        if i + 1 < len(args):
            return args[i + 1]
    return default


# ---------------------------------------------------------------- WebSocket


def frame(op, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client frame; length overrides the encoded payload length (the payload is sent as given)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | (op & 0x0F)
    mbit = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        h = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        h = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return h + payload
    key = os.urandom(4)
    m = len(payload)  # masked as one big integer: fast enough for bulk (ws_proxy.py uses this too)
    kint = int.from_bytes(key * (m // 4 + 1), "little") & ((1 << (8 * m)) - 1)
    return h + key + (int.from_bytes(payload, "little") ^ kint).to_bytes(m, "little")


class FrameReader:
    """Server frames (unmasked) from a socket."""

    def __init__(self, s):
        self.s = s
        self.buf = b""
        self.eof = None  # "eof" or "reset" once the peer is gone

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.s.settimeout(left)
        try:
            chunk = self.s.recv(1 << 20)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            self.eof = "reset"
            return False
        if not chunk:
            self.eof = "eof"
            return False
        self.buf += chunk
        return True

    def next(self, deadline):
        """Returns (opcode, payload) or None (timeout or peer gone: see self.eof)."""
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                n = b1 & 0x7F
                off = 2
                if n == 126 and len(self.buf) >= 4:
                    n = struct.unpack("!H", self.buf[2:4])[0]
                    off = 4
                elif n == 127 and len(self.buf) >= 10:
                    n = struct.unpack("!Q", self.buf[2:10])[0]
                    off = 10
                if (b1 & 0x7F) < 126 or off > 2:
                    if b1 & 0x80:
                        off += 4
                    if len(self.buf) >= off + n:
                        payload = self.buf[off:off + n]
                        self.buf = self.buf[off + n:]
                        return (b0 & 0x0F, payload)
            if self.eof or not self._fill(deadline):
                return None


def read_banner(s, reader=None, timeout=10):
    """Reads server frames until the origin's SSH banner arrived in a binary frame."""
    r = reader or FrameReader(s)
    deadline = time.monotonic() + timeout
    got = b""
    while b"SSH-" not in got:
        f = r.next(deadline)
        if f is None or f[0] == 8:
            return False
        if f[0] in (1, 2, 0):
            got += f[1]
    return True


def origin_conns():
    """Established TCP connections whose local port is the origin's (sshd's side of each session)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] == "01" and int(p[1].rsplit(":", 1)[1], 16) == SSHD_PORT:
                        n += 1
        except OSError:
            pass
    return n


def wait_origin(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred(origin_conns()):
            return True
        time.sleep(0.05)
    return pred(origin_conns())


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


def ws_frames(name):
    BIN, CLOSE, PING, PONG = 2, 8, 9, 10
    cases = {
        "unmasked": frame(BIN, b"SSH-2.0-x\r\n", mask=False),
        "unmasked-ping": frame(PING, b"hi", mask=False),
        "ping-126": frame(PING, b"p" * 126),
        "close-200": frame(CLOSE, b"\x03\xe8" + b"r" * 198),
        "fragmented-ping": frame(PING, b"hi", fin=False),
        "opcode-3": frame(3, b"x"),
        "opcode-11": frame(11, b"x"),
        "rsv1": frame(BIN, b"x", rsv=0x40),
        "orphan-continuation": frame(0, b"x"),
        "text-inside-fragmented": frame(BIN, b"a", fin=False) + frame(1, b"b"),
        "close-1-byte": frame(CLOSE, b"\x03"),
        "close-code-999": frame(CLOSE, b"\x03\xe7"),
        "close-bad-utf8": frame(CLOSE, b"\x03\xe8\xc0\xaf"),
        "length-msb": frame(BIN, b"", length=1 << 63),
        "masked-close": frame(CLOSE, b"\x03\xe8bye"),
    }
    if name not in cases:
        raise SystemExit("unknown ws case " + name)
    return cases[name]


def ws_session(src=None):
    """A valid upgrade through to the origin; returns (socket, FrameReader, baseline origin conns)."""
    base = origin_conns()
    s = tls_connect(src=src)
    s.sendall(request(hdrs()))
    kind, code, rest = read_head(s)
    if kind != "status" or code != 101:
        out("setup: expected 101, got %s" % describe((kind, code, rest)))
        sys.exit(1)
    r = FrameReader(s)
    r.buf = rest
    if not read_banner(s, r):
        out("setup: no SSH banner from the origin after 101")
        sys.exit(1)
    if not wait_origin(lambda n: n > base, 3):
        out("setup: no origin connection seen on port %d" % SSHD_PORT)
        sys.exit(1)
    return s, r, base


def ws_outcome(r, timeout=5):
    """What the edge did: "close CODE" (a Close frame, then EOF), "close CODE open" (Close frame,
    connection still up), "eof"/"reset" (gone without a Close frame) or "open"."""
    deadline = time.monotonic() + timeout
    while True:
        f = r.next(deadline)
        if f is None:
            return r.eof or "open"
        if f[0] == 8:
            code = close_code(f[1])
            more = r.next(time.monotonic() + 3)
            while more is not None:
                more = r.next(time.monotonic() + 3)
            return "close %d%s" % (code, "" if r.eof else " open")


def ping_noread(args):
    """SESSIONS sessions each send COUNT pings and never read the pongs; after READY_FILE is
    written the sessions stay open until STOP_FILE exists (or 30 s). Prints how far each got."""
    nsess = int(opt(args, "--sessions", "4"))
    count = int(opt(args, "--count", "50000"))
    ready, stop = opt(args, "--ready"), opt(args, "--stop")
    blob = b"".join(frame(9, b"f" * 125) for _ in range(count))
    sess = [ws_session() for _ in range(nsess)]
    views = [memoryview(blob) for _ in sess]
    for s, r, base in sess:
        s.setblocking(False)
    # All sessions at once, as much as the edge takes within 5 s: it may stop reading (back-
    # pressure: fine) or close (fine).
    deadline = time.monotonic() + 5
    live = set(range(nsess))
    while live and time.monotonic() < deadline:
        _, wl, _ = select.select([], [sess[i][0] for i in live], [], 0.2)
        for i in list(live):
            s = sess[i][0]
            if s not in wl:
                continue
            try:
                views[i] = views[i][s.send(views[i][:65536]):]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
            except OSError:
                live.discard(i)
            if not views[i]:
                live.discard(i)
    sent = [len(blob) - len(v) for v in views]
    with open(ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(ready + ".tmp", ready)
    deadline = time.monotonic() + 30
    while not os.path.exists(stop) and time.monotonic() < deadline:
        time.sleep(0.1)
    out("sent=%s" % ",".join(str(n) for n in sent))
    for s, r, base in sess:
        s.close()


def mode_ws(args):
    name = args[0]
    if name == "ping-flood":
        return ping_flood(int(opt(args, "--count", "10000")))
    if name == "ping-noread":
        return ping_noread(args)
    s, r, base = ws_session()
    try:
        s.sendall(ws_frames(name))
    except OSError:
        pass
    outcome = ws_outcome(r)
    # The socket stays open here: the origin connection must go because of what the edge did,
    # not because this client left.
    dropped = wait_origin(lambda n: n <= base, 5)
    out("outcome=%s origin=%s" % (outcome.replace(" ", "_"), "dropped" if dropped else "kept"))
    s.close()


def ping_flood(count):
    s, r, base = ws_session()
    payload = b"f" * 125
    blob = b"".join(frame(9, payload) for _ in range(count))
    t0 = time.monotonic()
    sent_ok = True
    pongs = 0
    closed = None
    # Send everything as fast as the socket takes it, reading pongs whenever they come.
    s.setblocking(False)
    view = memoryview(blob)
    deadline = t0 + 30
    while (view or pongs < count) and time.monotonic() < deadline and closed is None:
        rl, wl, _ = select.select([s], [s] if view else [], [], 1)
        if wl and view:
            try:
                n = s.send(view[:65536])
                view = view[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
            except OSError:
                sent_ok = False
                view = view[:0]
        if rl or s.pending():
            try:
                chunk = s.recv(1 << 20)
            except (ssl.SSLWantReadError, BlockingIOError):
                chunk = None
            except OSError:
                closed = "reset"
                break
            if chunk == b"":
                closed = "eof"
                break
            if chunk:
                r.buf += chunk
                while True:
                    f = r.next(time.monotonic())  # parse only what is buffered
                    if f is None:
                        r.eof = None
                        break
                    if f[0] == 10:
                        if f[1] != payload:
                            out("outcome=bad-pong-payload")
                            sys.exit(1)
                        pongs += 1
                    elif f[0] == 8:
                        closed = "close_%d" % close_code(f[1])
                        break
    ms = int((time.monotonic() - t0) * 1000)
    s.setblocking(True)
    alive = "n/a"
    if closed is None:
        # After the flood the session still relays: one more ping, one more pong.
        s.sendall(frame(9, b"last"))
        deadline = time.monotonic() + 5
        alive = "no"
        while True:
            f = r.next(deadline)
            if f is None:
                break
            if f[0] == 10 and f[1] == b"last":
                alive = "yes"
                break
    out("outcome=%s pongs=%d sent=%s ms=%d session_alive=%s" % (closed or "answered", pongs,
        "all" if sent_ok and not view else "partial", ms, alive))
    s.close()


# ---------------------------------------------------------------- brute force, valid session


def mode_brute(args):
    n = int(args[0])
    src = opt(args, "--src")
    wrong = []
    for i in range(n):
        # a spread of near misses: random, upper-cased, truncated, one digit off, empty-ish, long
        k = i % 6
        if k == 0:
            w = os.urandom(32).hex()
        elif k == 1:
            w = SECRET.upper() if SECRET.upper() != SECRET else SECRET + "0"
        elif k == 2:
            w = SECRET[:-1]
        elif k == 3:
            w = SECRET[:-1] + ("0" if SECRET[-1] != "0" else "1")
        elif k == 4:
            w = "0"
        else:
            w = SECRET + "0"
        wrong.append(w)
    codes = []
    for w in wrong:
        s = tls_connect(src=src)
        s.sendall(request(hdrs(secret=w)))
        res = read_head(s)
        codes.append(str(res[1]) if res[0] == "status" else res[0])
        s.close()
    out(" ".join(codes))


def mode_upgrade(args):
    s = tls_connect(src=opt(args, "--src"), sni=opt(args, "--sni", HOST))
    s.sendall(request(hdrs(host=opt(args, "--host", HOST))))
    res = read_head(s)
    line = describe(res)
    if res[0] == "status" and res[1] == 101:
        r = FrameReader(s)
        r.buf = res[2]
        line += " banner" if read_banner(s, r) else " no-banner"
    out(line)
    s.close()


# ---------------------------------------------------------------- admin body


def mode_admin_body(args):
    kind = args[0]
    token = os.environ.get("BURROW_ADMIN_TOKEN", "")
    size = 2 * 1024 * 1024
    body = b'{"name":"big","hostnames":["big.site.test"],"pad":"' + b"x" * size + b'"}'
    head = [b"Host: 127.0.0.1", b"Authorization: Bearer " + token.encode(), b"Content-Type: application/json"]
    if kind == "cl":
        head.append(b"Content-Length: %d" % len(body))
        payload = body
    else:
        head.append(b"Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n" % len(body[i:i + 65536]) + body[i:i + 65536] + b"\r\n"
                           for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    s = tls_connect(sni=None)
    s.sendall(request(head, target=b"/api/v1/apps", method=b"POST"))
    # Send the body while watching for an early answer: the edge may refuse before reading it all.
    s.setblocking(False)
    view = memoryview(payload)
    data = b""
    deadline = time.monotonic() + 20
    result = None
    while time.monotonic() < deadline and result is None:
        rl, wl, _ = select.select([s], [s] if view else [], [], 1)
        if rl or s.pending():
            try:
                chunk = s.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                result = "reset"
                break
            if not chunk:
                result = "closed"
                break
            data += chunk
            if b"\r\n" in data:
                break
        if wl and view:
            try:
                n = s.send(view[:65536])
                view = view[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
            except OSError:
                view = view[:0]  # the edge stopped reading: wait for its answer
    if data.startswith(b"HTTP/"):
        out(describe(_status(data + b"\r\n\r\n")) + " after %d of %d body bytes" % (len(payload) - len(view), len(payload)))
    else:
        out(result or "timeout")


# ---------------------------------------------------------------- slowloris


def client_hello(sni, alpn=None):
    """The bytes of a real TLS ClientHello, as this client would send them."""
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_ctx(alpn).wrap_bio(inc, outg, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def mode_slowloris(args):
    ready_file = args[0]
    n_hello = int(opt(args, "--hello", "100"))
    n_head = int(opt(args, "--head", "50"))
    n_tunnel = int(opt(args, "--tunnel", "50"))
    hello = client_hello(HOST)
    thello = client_hello("burrow-edge", ["h2"])
    conns = []  # [category, socket, opened_at, closed_at]

    def add(cat, s, t0):
        s.setblocking(False)
        conns.append([cat, s, t0, None])

    # Half a ClientHello on the main listener.
    for _ in range(n_hello):
        t0 = time.monotonic()
        s = tcp_connect(EDGE_PORT)
        s.sendall(hello[: len(hello) // 2])
        add("main-half-clienthello", s, t0)
    # A full TLS handshake, then half a request head.
    for _ in range(n_head):
        t0 = time.monotonic()
        s = tls_connect()
        s.sendall(b"GET / HTTP/1.1\r\nHost: ssh.site.test\r\nUpgrade: websocket\r\n")
        add("main-half-head", s, t0)
    # One that drips a byte of its head every 0.5 s: the deadline counts from accept, not from
    # the last byte.
    t0 = time.monotonic()
    drip = tls_connect()
    add("main-drip", drip, t0)
    drip_data = request(hdrs())
    # Half a ClientHello on the tunnel listener, and one that completes TLS (ALPN h2) but never
    # speaks HTTP/2.
    for _ in range(n_tunnel):
        t0 = time.monotonic()
        s = tcp_connect(TUNNEL_PORT)
        s.sendall(thello[: len(thello) // 2])
        add("tunnel-half-clienthello", s, t0)
    t0 = time.monotonic()
    s = tls_connect(sni="burrow-edge", port=TUNNEL_PORT, alpn=["h2"])
    add("tunnel-tls-silent", s, t0)
    # And one that speaks HTTP/2 (the connector is the server there: its preface is a SETTINGS
    # frame), then never answers the edge's register request.
    t0 = time.monotonic()
    s = tls_connect(sni="burrow-edge", port=TUNNEL_PORT, alpn=["h2"])
    s.sendall(struct.pack("!I", 0)[1:] + b"\x04\x00" + struct.pack("!I", 0))
    add("tunnel-h2-no-register", s, t0)

    with open(ready_file + ".tmp", "w") as f:
        f.write("%d\n" % len(conns))
    os.rename(ready_file + ".tmp", ready_file)

    deadline = time.monotonic() + 25
    next_drip = time.monotonic()
    drip_pos = 0
    while time.monotonic() < deadline and any(c[3] is None for c in conns):
        now = time.monotonic()
        if now >= next_drip and drip_pos < len(drip_data) - 1 and conns[n_hello + n_head][3] is None:
            try:
                drip.setblocking(True)
                drip.sendall(drip_data[drip_pos:drip_pos + 1])
                drip.setblocking(False)
                drip_pos += 1
            except OSError:
                pass
            next_drip = now + 0.5
        open_socks = [c[1] for c in conns if c[3] is None]
        rl, _, _ = select.select(open_socks, [], [], 0.1)
        for c in conns:
            if c[3] is not None:
                continue
            s = c[1]
            if s not in rl and not (isinstance(s, ssl.SSLSocket) and s.pending()):
                continue
            while True:
                try:
                    chunk = s.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    break  # e.g. a TLS ticket or HTTP/2 frames: still open
                except OSError:
                    chunk = b""
                if not chunk:
                    c[3] = time.monotonic()
                    break
    cats = []
    for c in conns:
        if c[0] not in cats:
            cats.append(c[0])
    for cat in cats:
        cs = [c for c in conns if c[0] == cat]
        done = [c[3] - c[2] for c in cs if c[3] is not None]
        out("%s n=%d closed=%d min=%.1fs max=%.1fs" % (cat, len(cs), len(done), min(done) if done else -1,
                                                       max(done) if done else -1))
    for c in conns:
        c[1].close()


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    mode, args = sys.argv[1], sys.argv[2:]
    fn = {
        "http": mode_http,
        "ws": mode_ws,
        "brute": mode_brute,
        "upgrade": mode_upgrade,
        "admin-body": mode_admin_body,
        "slowloris": mode_slowloris,
    }.get(mode)
    if not fn:
        raise SystemExit(__doc__)
    fn(args)


if __name__ == "__main__":
    main()
