"""h2raw.py — just enough HTTP/2 (RFC 9113), by hand, for burrow's attack tests (stdlib only).

Frames are built byte by byte (9-byte header + payload) so that a test can send what a real
HTTP/2 library never would: RST_STREAM floods, CONTINUATION without end, WINDOW_UPDATE past
2^31-1, DATA on streams nobody opened. HPACK: header blocks are encoded as literals without
indexing and without Huffman; only the :status of a response is decoded (a static-table index or
a literal, Huffman digits included), which is all the tests read. Peers are asked for
SETTINGS_HEADER_TABLE_SIZE=0 so their encoder stays off the dynamic table.

Conn drives one TLS socket from a single thread (an ssl socket must not be read and written from
two threads): queue frames with send(), then pump() reads and writes until a condition holds or
a deadline passes. Incoming SETTINGS and PING are acknowledged and DATA is credited back
(WINDOW_UPDATE) unless auto_ack is off; read_paused stops reading altogether, so the peer's
answers back up (a flood "without reading")."""
import os
import select
import socket
import ssl
import struct
import threading
import time

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
S_HEADER_TABLE_SIZE, S_ENABLE_PUSH, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE, S_MAX_FRAME_SIZE = 1, 2, 3, 4, 5
E_NO_ERROR, E_PROTOCOL, E_INTERNAL, E_FLOW_CONTROL, E_CANCEL = 0, 1, 2, 3, 8
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
          "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
          "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
HUFF_DIGITS = {"00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4", "011011": "5",
               "011100": "6", "011101": "7", "011110": "8", "011111": "9"}


def err_name(code):
    return ERRORS[code] if 0 <= code < len(ERRORS) else "0x%x" % code


# ---------------------------------------------------------------- frames


def frame(ftype, flags, sid, payload=b""):
    return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid & 0x7FFFFFFF) + payload


def settings_frame(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


def rst_frame(sid, code):
    return frame(RST_STREAM, 0, sid, struct.pack("!I", code))


def ping_frame(payload=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, payload)


def window_update_frame(sid, increment):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack("!I", increment & 0x7FFFFFFF))


def goaway_frame(last_sid, code):
    return frame(GOAWAY, 0, 0, struct.pack("!II", last_sid, code))


# ---------------------------------------------------------------- HPACK (just enough)


def hpack_int(value, prefix_bits, first=0):
    maxp = (1 << prefix_bits) - 1
    if value < maxp:
        return bytes([first | value])
    b = [first | maxp]
    value -= maxp
    while value >= 128:
        b.append((value & 0x7F) | 0x80)
        value >>= 7
    b.append(value)
    return bytes(b)


def hpack(headers):
    """A header block of literals without indexing, no Huffman."""
    block = b""
    for name, value in headers:
        n = name.encode() if isinstance(name, str) else name
        v = value.encode() if isinstance(value, str) else value
        block += b"\x00" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v
    return block


def hpack_read_int(b, i, prefix_bits):
    maxp = (1 << prefix_bits) - 1
    v = b[i] & maxp
    i += 1
    if v < maxp:
        return v, i
    m = 0
    while True:
        c = b[i]
        i += 1
        v += (c & 0x7F) << m
        m += 7
        if not c & 0x80:
            return v, i


def _huffman_digits(data):
    bits = "".join(format(c, "08b") for c in data)
    s, cur = "", ""
    for bit in bits:
        cur += bit
        if cur in HUFF_DIGITS:
            s += HUFF_DIGITS[cur]
            cur = ""
        elif len(cur) > 6:
            return None
    return s if set(cur) <= {"1"} else None


def status_of(block):
    """The :status of a response header block (its first field), or None."""
    try:
        i = 0
        while i < len(block) and block[i] & 0xE0 == 0x20:  # dynamic table size updates
            _, i = hpack_read_int(block, i, 5)
        if i >= len(block):
            return None
        c = block[i]
        if c & 0x80:
            idx, i = hpack_read_int(block, i, 7)
            return STATIC_STATUS.get(idx)
        idx, i = hpack_read_int(block, i, 6 if c & 0x40 else 4)
        if idx not in STATIC_STATUS:
            return None
        huff = block[i] & 0x80
        n, i = hpack_read_int(block, i, 7)
        raw = block[i:i + n]
        txt = _huffman_digits(raw) if huff else raw.decode("ascii", "replace")
        return int(txt)
    except (IndexError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------- TLS


def server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    return ctx


def client_ctx(ca, alpn=("h2",)):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the chain is still verified (CERT_REQUIRED)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def rss_kib(pid):
    """(VmRSS, VmHWM) of pid in KiB, or (0, 0)."""
    rss = hwm = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, hwm


def cpu_s(pid):
    """User + system CPU seconds of pid so far, or 0."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def pid_from(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


# ---------------------------------------------------------------- a counting listener


class CountingListener:
    """Listens on 127.0.0.1:port (0: any free port) and counts the connections it gets; each
    is sent greeting (if any) and closed."""

    def __init__(self, port, greeting=b"", backlog=4096):
        self.dials = 0
        self.greeting = greeting
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(backlog)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.dials += 1
            if self.greeting:
                try:
                    c.sendall(self.greeting)
                except OSError:
                    pass
            c.close()


# ---------------------------------------------------------------- a connection


class Conn:
    def __init__(self, sock, server):
        self.s = sock
        self.s.setblocking(False)
        self.server = server
        self.t0 = time.monotonic()
        self.inbuf = bytearray()
        self.out = bytearray()
        self.auto_ack = True
        self.read_paused = False
        self.need_preface = server  # a server first reads the client's magic
        self.eof = None  # "eof" or "reset" once the peer is gone
        self.eof_at = None
        self.goaway = None  # (last_stream_id, error code, time) of the first GOAWAY received
        self.rst = {}  # stream id -> error code
        self.status = {}  # stream id -> :status (client role)
        self.data = {}  # stream id -> bytes received
        self.ended = set()  # stream ids whose peer side ended
        self.requests = []  # server role: ids of streams the peer opened, in order
        self.peer_settings = {}
        self.settings_acked = 0
        self.ping_acks = []
        self.frames_in = 0
        self._block = {}  # stream id -> header block awaiting CONTINUATION
        self.bytes_out = 0

    # -- output

    def send(self, ftype, flags, sid, payload=b""):
        self.out += frame(ftype, flags, sid, payload)

    def raw(self, b):
        self.out += b

    def gone(self):
        return self.eof is not None

    def closed_or_goaway(self):
        return self.eof is not None or self.goaway is not None

    # -- the loop

    def pump(self, until=None, timeout=5.0):
        """Reads and writes until until() is true (checked between I/O steps), the peer is gone, or
        timeout seconds pass. Returns until() (or True with no condition once out is empty)."""
        cond = until or (lambda: not self.out)
        deadline = time.monotonic() + timeout
        while True:
            if cond():
                return True
            if self.eof is not None:
                return cond()
            left = deadline - time.monotonic()
            if left <= 0:
                return cond()
            if not self.read_paused and self.s.pending():
                self._read()
                continue
            rl = [] if self.read_paused else [self.s]
            wl = [self.s] if self.out else []
            try:
                r, w, _ = select.select(rl, wl, [], min(left, 0.05))
            except (OSError, ValueError):
                self._gone("reset")
                continue
            if w:
                self._write()
            if r:
                self._read()

    def _gone(self, how):
        if self.eof is None:
            self.eof = how
            self.eof_at = time.monotonic()

    def _write(self):
        try:
            n = self.s.send(self.out[:65536])
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            self._gone("reset")
            return
        del self.out[:n]
        self.bytes_out += n

    def _read(self):
        try:
            chunk = self.s.recv(262144)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            self._gone("reset")
            return
        if not chunk:
            self._gone("eof")
            return
        self.inbuf += chunk
        self._parse()

    def _parse(self):
        if self.need_preface:
            if len(self.inbuf) < len(PREFACE):
                return
            if bytes(self.inbuf[:len(PREFACE)]) != PREFACE:
                raise EOFError("the peer did not send the HTTP/2 client preface")
            del self.inbuf[:len(PREFACE)]
            self.need_preface = False
        while len(self.inbuf) >= 9:
            n = struct.unpack("!I", b"\0" + bytes(self.inbuf[:3]))[0]
            if len(self.inbuf) < 9 + n:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            sid = struct.unpack("!I", bytes(self.inbuf[5:9]))[0] & 0x7FFFFFFF
            payload = bytes(self.inbuf[9:9 + n])
            del self.inbuf[:9 + n]
            self.frames_in += 1
            self._frame(ftype, flags, sid, payload)

    def _frame(self, ftype, flags, sid, p):
        if ftype == SETTINGS:
            if flags & ACK:
                self.settings_acked += 1
            else:
                for i in range(0, len(p) - 5, 6):
                    k, v = struct.unpack("!HI", p[i:i + 6])
                    self.peer_settings[k] = v
                if self.auto_ack:
                    self.out += settings_frame(ack=True)
        elif ftype == PING:
            if flags & ACK:
                self.ping_acks.append(p)
            elif self.auto_ack:
                self.out += ping_frame(p, ack=True)
        elif ftype == GOAWAY:
            if self.goaway is None and len(p) >= 8:
                last, code = struct.unpack("!II", p[:8])
                self.goaway = (last & 0x7FFFFFFF, code, time.monotonic())
        elif ftype == RST_STREAM:
            if len(p) >= 4:
                self.rst[sid] = struct.unpack("!I", p[:4])[0]
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                if flags & PADDED:
                    p = p[1:len(p) - p[0]]
                if flags & PRIORITY_FLAG:
                    p = p[5:]
                self._block[sid] = bytearray(p)
                if flags & END_STREAM:
                    self.ended.add(sid)
            else:
                self._block.setdefault(sid, bytearray()).extend(p)
            if flags & END_HEADERS:
                block = bytes(self._block.pop(sid, b""))
                first = sid not in self.status and sid not in self.data
                if self.server and sid % 2 == 1 and sid not in self.requests:
                    self.requests.append(sid)
                elif not self.server and first:
                    st = status_of(block)
                    if st is not None:
                        self.status[sid] = st
        elif ftype == DATA:
            if flags & PADDED:
                p = p[1:len(p) - p[0]]
            self.data[sid] = self.data.get(sid, b"") + p
            if flags & END_STREAM:
                self.ended.add(sid)
            if self.auto_ack and len(p) > 0:
                self.out += window_update_frame(0, len(p)) + window_update_frame(sid, len(p))

    # -- helpers

    def probe(self, timeout=3.0):
        """True when the peer answers a PING within timeout (the connection is still served)."""
        payload = os.urandom(8)
        self.out += ping_frame(payload)
        return self.pump(lambda: payload in self.ping_acks, timeout)

    def outcome(self, t_from):
        """What the peer did to this connection since t_from: "goaway:CODE", "closed" or "open"."""
        if self.goaway is not None:
            return "goaway:%s" % err_name(self.goaway[1]), self.goaway[2] - t_from
        if self.eof is not None:
            return "closed", self.eof_at - t_from
        return "open", -1.0

    def verdict(self, t_from):
        """Waits (5 s) for the peer to answer the attack with GOAWAY or a close, then (after a
        GOAWAY) for the close (3 s). Returns (outcome, seconds after t_from, note): outcome as in
        outcome(), or "stuck" when the connection is open but no longer answers a PING; note is
        " close=no" when a GOAWAY was not followed by a close."""
        self.pump(self.closed_or_goaway, 5)
        outcome, after = self.outcome(t_from)
        if outcome == "open" and not self.probe(3):
            outcome = "stuck"
        note = ""
        if outcome.startswith("goaway"):
            self.pump(self.gone, 3)
            if not self.gone():
                note = " close=no"
        return outcome, after, note

    def flood(self, frames, count, batch=256, timeout=30.0, stop=None):
        """Queues frames() count times, batch by batch, each batch sent before the next is made;
        stops early when the peer is gone, stop() is true or timeout passes. Returns how many
        frames went out completely (queued minus what is still unsent, rounded down per batch)."""
        stop = stop or self.closed_or_goaway
        deadline = time.monotonic() + timeout
        sent = 0
        while sent < count and not stop() and self.eof is None and time.monotonic() < deadline:
            k = min(batch, count - sent)
            self.out += b"".join(frames(sent + i) for i in range(k))
            self.pump(lambda: not self.out or stop(), max(0.0, deadline - time.monotonic()))
            if self.out:
                break
            sent += k
        return sent

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
