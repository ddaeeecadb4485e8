#!/usr/bin/python3
"""benchtool.py — small measuring helpers for bench/run (stdlib only).

  echo-server PORT                        TCP echo origin on 127.0.0.1:PORT (epoll, TCP_NODELAY)
  banner --runs N --timeout S NAME=CMD…   time from spawning CMD (leading VAR=VALUE words: its
                                          environment; VAR= unsets) to its first "SSH-2.0-" line,
                                          the NAMEs interleaved run by run; JSON lines on stdout
  pingpong --n N --size B NAME=PORT…      N round trips of B bytes per path, interleaved in blocks;
                                          a JSON line with percentiles (µs) per path
  idle --port P --n N --pids a=PID,…      RSS of the given processes before / with N idle sessions
                                          open (each proven end to end by one echoed byte) / after
  origin --echo P --sink P                asyncio origins with back-pressure: echo, and a sink that
                                          answers R on connect and K once it has the announced bytes
  slow --origin-port P --client-port C …  N random bytes through one session into a reader held to
                                          R bytes/s; byte counts and RSS sampled; sha256 both ends
  conc --mode ws|tls --port P --n N …     N sessions open at once (WebSocket to burrow's edge, or
                                          TLS to a peer edge), each echoes B random bytes, sha256
  scale --levels … NAME=BULK:ECHO …       L bulk sessions at once per level into the sink, aggregate
                                          MB/s, with pingloop's 1-byte round trips beside them
  pingloop --port P --pace-ms M           round trips every M ms until stdin closes; percentiles
  report RAW.jsonl OUT.json DATADIR       medians, ratios, the table on stdout, gnuplot data files

Nothing here asserts a time: it measures and reports.
"""
import asyncio
import base64
import hashlib
import json
import os
import re
import random
import selectors
import shlex
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import threading
import time


def pct(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


# ------------------------------------------------------------------ echo server

def echo_server(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            c = key.fileobj
            try:
                d = c.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                sel.unregister(c)
                c.close()
                continue
            try:
                c.setblocking(True)
                c.settimeout(10)
                c.sendall(d)
                c.setblocking(False)
            except OSError:
                sel.unregister(c)
                c.close()


# ------------------------------------------------------------------ time to banner

def split_env(cmd):
    """Leading VAR=VALUE words set VAR for CMD; VAR= removes it."""
    env = dict(os.environ)
    while cmd and re.match(r"^[A-Z_][A-Z0-9_]*=", cmd[0]):
        k, v = cmd[0].split("=", 1)
        if v:
            env[k] = v
        else:
            env.pop(k, None)
        cmd = cmd[1:]
    return cmd, env


def one_banner(cmd, timeout):
    cmd, env = split_env(cmd)
    t0 = time.perf_counter_ns()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, close_fds=True, env=env)
    fd = p.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    t = None
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        d = os.read(fd, 4096)
        if not d:
            break
        buf += d
        i = buf.find(b"SSH-2.0-")
        if i >= 0 and buf.find(b"\n", i) >= 0:
            t = time.perf_counter_ns() - t0
            break
    sel.close()
    try:
        p.stdin.close()
    except OSError:
        pass
    p.terminate()
    try:
        p.wait(timeout=3)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()
    return None if t is None else t / 1e6


def banner(args):
    runs, timeout, paths = 100, 5.0, []
    it = iter(args)
    for a in it:
        if a == "--runs":
            runs = int(next(it))
        elif a == "--timeout":
            timeout = float(next(it))
        else:
            name, cmd = a.split("=", 1)
            paths.append((name, shlex.split(cmd)))
    res = {n: [] for n, _ in paths}
    fails = {n: 0 for n, _ in paths}
    for _, cmd in paths:  # one warm-up each (page cache, sshd's first fork)
        one_banner(cmd, timeout)
    for r in range(runs):
        order = paths[r % len(paths):] + paths[:r % len(paths)]
        for name, cmd in order:
            ms = one_banner(cmd, timeout)
            if ms is None:
                fails[name] += 1
            else:
                res[name].append(ms)
    for name, _ in paths:
        xs = res[name]
        rec = {"kind": "banner", "path": name, "runs": runs, "fails": fails[name]}
        if xs:
            rec.update(p50_ms=round(pct(xs, 50), 3), p90_ms=round(pct(xs, 90), 3),
                       p99_ms=round(pct(xs, 99), 3), min_ms=round(min(xs), 3),
                       max_ms=round(max(xs), 3))
        print(json.dumps(rec), flush=True)


# ------------------------------------------------------------------ ping-pong

def pingpong(args):
    """pingpong --n N --size B [--tag T] NAME=PORT…: one connection per NAME, round trips run
    interleaved in blocks of 100 (A B A B), so that load changes hit every path alike."""
    n, size, tag, paths = 10000, 1, "", []
    it = iter(args)
    for a in it:
        if a == "--n":
            n = int(next(it))
        elif a == "--size":
            size = int(next(it))
        elif a == "--tag":
            tag = next(it)
        else:
            name, port = a.split("=", 1)
            paths.append((name, int(port)))
    msg = b"x" * size
    conns, lat = {}, {}
    for name, port in paths:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns[name], lat[name] = s, []

    def rt(s, count, out):
        for _ in range(count):
            t0 = time.perf_counter_ns()
            s.sendall(msg)
            got = 0
            while got < size:
                d = s.recv(size - got)
                if not d:
                    raise SystemExit("pingpong: connection closed")
                got += len(d)
            if out is not None:
                out.append(time.perf_counter_ns() - t0)

    for name, _ in paths:  # warm-up
        rt(conns[name], min(200, n // 10 + 1), None)
    block = 100
    for b in range(0, n, block):
        order = paths[(b // block) % len(paths):] + paths[:(b // block) % len(paths)]
        for name, _ in order:
            rt(conns[name], min(block, n - b), lat[name])
    for name, _ in paths:
        conns[name].close()
        us = [x / 1000.0 for x in lat[name]]
        print(json.dumps({"kind": "pingpong", "path": name, "tag": tag, "size": size, "n": n,
                          "p50_us": round(pct(us, 50), 1), "p90_us": round(pct(us, 90), 1),
                          "p99_us": round(pct(us, 99), 1),
                          "mean_us": round(statistics.fmean(us), 1),
                          "max_us": round(max(us), 1)}), flush=True)


# ------------------------------------------------------------------ idle sessions

def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def idle(args):
    port, n, pids, settle, batch = 0, 1000, {}, 6.0, 100  # settle > 2 idle sweeps (conn.c)
    it = iter(args)
    for a in it:
        if a == "--port":
            port = int(next(it))
        elif a == "--n":
            n = int(next(it))
        elif a == "--pids":
            for kv in next(it).split(","):
                k, v = kv.split("=")
                pids[k] = int(v)
        elif a == "--settle":
            settle = float(next(it))
    time.sleep(settle / 2)
    before = {k: rss_kib(p) for k, p in pids.items()}
    socks, failed = [], 0
    t0 = time.monotonic()
    for start in range(0, n, batch):
        group = []
        for _ in range(min(batch, n - start)):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=20)
                group.append(s)
            except OSError:
                failed += 1
        for s in group:
            try:
                s.sendall(b"i")
            except OSError:
                pass
        for s in group:
            try:
                if s.recv(1) == b"i":
                    socks.append(s)
                    continue
            except OSError:
                pass
            failed += 1
            s.close()
        if time.monotonic() - t0 > 120:
            break
    open_s = time.monotonic() - t0
    time.sleep(settle)
    during = {k: rss_kib(p) for k, p in pids.items()}
    for s in socks:
        s.close()
    time.sleep(settle)
    after = {k: rss_kib(p) for k, p in pids.items()}
    ok = len(socks)
    per = {}
    for k in pids:
        if before[k] is not None and during[k] is not None and ok:
            per[k] = round((during[k] - before[k]) / ok, 2)
    print(json.dumps({"kind": "idle", "n": n, "open": ok, "failed": failed,
                      "open_s": round(open_s, 2), "rss_before_kib": before,
                      "rss_during_kib": during, "rss_after_kib": after,
                      "per_session_kib": per}), flush=True)


# ------------------------------------------------------------------ shared helpers for the load measures

def opts(args, spec):
    """--name value options into a dict; spec maps name -> (type, default). Unknown ones are fatal."""
    o = {k: d for k, (_, d) in spec.items()}
    it = iter(args)
    for a in it:
        k = a[2:].replace("-", "_")
        if not a.startswith("--") or k not in spec:
            sys.exit("benchtool: unknown argument %s" % a)
        o[k] = spec[k][0](next(it))
    return o


def progress(line):
    print(line, file=sys.stderr, flush=True)


def parse_pids(s):
    """"name=PID,name=child:PID" → [(name, kind, pid)]: a process, or the newest child of PID
    (socat's forked relay of the session just opened)."""
    out = []
    for kv in filter(None, (s or "").split(",")):
        name, v = kv.split("=", 1)
        kind, _, pid = v.rpartition(":")
        out.append((name, kind or "pid", int(pid)))
    return out


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def start_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return -1


def newest_child(pid):
    kids = children(pid)
    return max(kids, key=start_ticks) if kids else None


def resolve_pids(spec):
    """[(name, kind, pid)] → [(name, kind, pid)] with child: resolved to the child's pid now."""
    out = []
    for name, kind, pid in spec:
        if kind == "child":
            c = newest_child(pid)
            out.append((name, "pid", c if c else -1))
        else:
            out.append((name, kind, pid))
    return out


def mem_kib(kind, pid):
    """VmRSS of a process ("pid"); None for a "child" not resolved yet."""
    return rss_kib(pid) if kind == "pid" else None


def spread(xs):
    """first, min, max, median and the largest distance from the median in % of it."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    m = statistics.median(xs)
    return {"first": xs[0], "min": min(xs), "max": max(xs), "median": m,
            "spread_pct": round(100.0 * max(max(xs) - m, m - min(xs)) / m, 2) if m else None}


# ------------------------------------------------------------------ origins for the load measures

class _EchoProto(asyncio.Protocol):
    """Echo with back-pressure: stops reading while the peer does not take what was echoed."""

    def connection_made(self, t):
        self.t = t
        t.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t.set_write_buffer_limits(high=64 * 1024)

    def data_received(self, d):
        self.t.write(d)

    def pause_writing(self):
        self.t.pause_reading()

    def resume_writing(self):
        self.t.resume_reading()

    def eof_received(self):
        return False  # close once what is buffered is written


class _SinkProto(asyncio.Protocol):
    """Sink: sends "R" when the session reaches it, reads an 8-byte length L, discards L bytes,
    then sends "K" (the sender's proof that everything arrived); stays until the peer closes."""

    def connection_made(self, t):
        self.t, self.head, self.need, self.got = t, b"", None, 0
        t.write(b"R")

    def data_received(self, d):
        if self.need is None:
            self.head += d
            if len(self.head) < 8:
                return
            self.need, d = int.from_bytes(self.head[:8], "big"), self.head[8:]
            self.head = b""
        before = self.got
        self.got += len(d)
        if before < self.need <= self.got:
            self.t.write(b"K")

    def eof_received(self):
        return False


def origin(args):
    """origin --echo PORT --sink PORT: asyncio origins for conc (echo) and scale (sink)."""
    o = opts(args, {"echo": (int, 0), "sink": (int, 0)})

    async def run():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: os._exit(0))
        for port, proto in ((o["echo"], _EchoProto), (o["sink"], _SinkProto)):
            if port:
                await loop.create_server(proto, "127.0.0.1", port, backlog=4096, reuse_address=True)
        await asyncio.Event().wait()

    asyncio.run(run())


# ------------------------------------------------------------------ slow reader

def slow(args):
    """slow --origin-port P --client-port C --bytes N --rate R --dir down|up --pids … --path NAME:
    listens on P (the origin behind the path), connects to C (the path's client side), and moves N
    random bytes through the session into a reader that takes at most R bytes/s (64 KiB recv, then
    sleeps until it is back on schedule). down: the origin writes, the client reads; up: the
    reverse. Every --interval s it samples the writer's and the reader's byte counts and the RSS
    of the --pids; sha256 on both ends. One JSON line."""
    o = opts(args, {"origin_port": (int, 0), "client_port": (int, 0), "bytes": (int, 1 << 30),
                    "rate": (float, 20e6), "dir": (str, "down"), "pids": (str, ""),
                    "path": (str, "?"), "interval": (float, 0.5), "warmup": (float, 2.0),
                    "stall": (float, 30.0)})
    n, rate = o["bytes"], o["rate"]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", o["origin_port"]))
    ls.listen(8)
    ls.settimeout(30)
    pids = parse_pids(o["pids"])
    before = {name: mem_kib(kind, pid) for name, kind, pid in pids if kind != "child"}
    c = socket.create_connection(("127.0.0.1", o["client_port"]), timeout=30)
    s, _ = ls.accept()
    ls.close()
    c.settimeout(None)
    s.settimeout(None)
    pids = resolve_pids(pids)  # the relays of this session exist now
    wsock, rsock = (s, c) if o["dir"] == "down" else (c, s)
    st = {"w": 0, "r": 0, "w_done": None, "r_done": None, "err": None}
    wsha, rsha = hashlib.sha256(), hashlib.sha256()
    t0 = time.monotonic()

    def writer():
        try:
            left = n
            while left:
                chunk = os.urandom(min(1 << 20, left))
                wsha.update(chunk)
                mv = memoryview(chunk)
                for off in range(0, len(chunk), 65536):
                    wsock.sendall(mv[off:off + 65536])
                    st["w"] += len(mv[off:off + 65536])
                left -= len(chunk)
            st["w_done"] = time.monotonic() - t0
            wsock.shutdown(socket.SHUT_WR)
        except OSError as e:
            st["err"] = st["err"] or "writer: %s" % e

    def reader():
        try:
            start = time.monotonic()
            while st["r"] < n:
                d = rsock.recv(min(65536, n - st["r"]))
                if not d:
                    st["err"] = st["err"] or "reader: EOF after %d bytes" % st["r"]
                    return
                rsha.update(d)
                st["r"] += len(d)
                ahead = start + st["r"] / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            st["r_done"] = time.monotonic() - t0
        except OSError as e:
            st["err"] = st["err"] or "reader: %s" % e

    threads = [threading.Thread(target=writer, daemon=True), threading.Thread(target=reader, daemon=True)]
    for t in threads:
        t.start()
    samples, last_r, last_move = [], 0, t0
    while True:
        now = time.monotonic()
        samples.append([round(now - t0, 3), st["w"], st["r"]] +
                       [mem_kib(kind, pid) for _, kind, pid in pids])
        if st["r_done"] is not None or st["err"]:
            break
        if st["r"] != last_r:
            last_r, last_move = st["r"], now
        elif now - last_move > o["stall"]:
            st["err"] = "stalled: no byte for %.0f s at %d of %d" % (o["stall"], st["r"], n)
            break
        time.sleep(max(0.0, o["interval"] - (time.monotonic() - now)))
    for sk in (c, s):
        try:
            sk.close()
        except OSError:
            pass
    for t in threads:
        t.join(2)
    time.sleep(1.0)
    after = {name: mem_kib(kind, pid) for name, kind, pid in pids}
    names = [name for name, _, _ in pids]
    # steady state: after the warm-up, while the writer is still held back (once it has written
    # everything, the relays see the end of the stream and tear the session down)
    steady = [x for x in samples if x[0] >= o["warmup"] and x[1] < n] or samples
    rss = {}
    for i, name in enumerate(names):
        rss[name] = spread([x[3 + i] for x in steady]) or {}
        rss[name]["before"] = before.get(name)
        rss[name]["after"] = after.get(name)
    # the writer's rate once the path's buffers are full: from the end of the warm-up to the last
    # sample before it had written everything
    wr = [x for x in steady if x[1] < n]
    writer_rate = None
    if len(wr) >= 2 and wr[-1][0] > wr[0][0]:
        writer_rate = (wr[-1][1] - wr[0][1]) / (wr[-1][0] - wr[0][0])
    elif st["w_done"]:
        writer_rate = n / st["w_done"]
    wall = st["r_done"]
    ok = st["err"] is None and st["r"] == n and wsha.digest() == rsha.digest()
    progress("  %-8s %-4s %s: reader %s MB/s, writer %s MB/s after the warm-up, in flight <= %.1f MiB; "
             "RSS spread %s" % (o["path"], o["dir"], "sha256 ok" if ok else "FAILED (%s)" % st["err"],
                                fmt(n / wall / 1e6 if wall else None, ".1f"),
                                fmt(writer_rate / 1e6 if writer_rate else None, ".1f"),
                                max(x[1] - x[2] for x in samples) / 2**20,
                                ", ".join("%s ±%s%%" % (k, fmt(v.get("spread_pct"), ".1f")) for k, v in rss.items())))
    print(json.dumps({
        "kind": "slow", "path": o["path"], "dir": o["dir"], "bytes": n, "rate_target_mb_s": rate / 1e6,
        "received": st["r"], "ok": ok, "error": st["err"],
        "wall_s": round(wall, 3) if wall else None,
        "reader_mb_s": round(n / wall / 1e6, 2) if wall else None,
        "writer_mb_s": round(writer_rate / 1e6, 2) if writer_rate else None,
        "writer_done_s": round(st["w_done"], 3) if st["w_done"] else None,
        "max_in_flight_bytes": max(x[1] - x[2] for x in samples),
        "warmup_s": o["warmup"], "rss_kib": rss,
        "samples_cols": ["t_s", "written", "read"] + ["rss_kib_" + x for x in names],
        "samples": samples}), flush=True)


# ------------------------------------------------------------------ concurrent sessions

def ws_frame(op, payload, key):
    """A masked client frame; key is (4-byte key, int of the key repeated over len(payload))."""
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, 0x80 | n)
    elif n <= 0xFFFF:
        h = struct.pack("!BBH", 0x80 | op, 0x80 | 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 0x80 | 127, n)
    k, kint = key
    if kint is None or n == 0:
        kint = int.from_bytes(k * (n // 4 + 1), "little") & ((1 << (8 * n)) - 1)
    return h + k + (int.from_bytes(payload, "little") ^ kint).to_bytes(n, "little")


async def ws_read_frame(r):
    h = await r.readexactly(2)
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", await r.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await r.readexactly(8))[0]
    if h[1] & 0x80:  # a server must not mask; tolerated
        k = await r.readexactly(4)
        p = await r.readexactly(n)
        return h[0] & 0x0F, bytes(b ^ k[i & 3] for i, b in enumerate(p))
    return h[0] & 0x0F, await r.readexactly(n)


TCP_TROUBLE = ("TCPMemoryPressures", "TCPRcvQDrop", "PruneCalled", "TCPTimeouts", "TCPAbortOnMemory")


def tcp_counters():
    """The kernel's TcpExt counters that tell TCP memory pressure (drops, prunes, timeouts)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], values.split()[1:]))
            return {k: int(d[k]) for k in TCP_TROUBLE if k in d}
    return {}


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return None


class RssSampler:
    """Samples memory of named processes every `every` s in a thread: before, peak, last. Calls
    on_low_mem (once) when the machine's MemAvailable drops below low_mem_kib."""

    def __init__(self, pids, every=0.25, low_mem_kib=0, on_low_mem=None):
        self.pids, self.every = resolve_pids(pids), every
        self.low_mem_kib, self.on_low_mem, self.low_mem = low_mem_kib, on_low_mem, None
        self.peak, self.before, self.last = {}, {}, {}
        self.stop = threading.Event()
        for name, _, pid in self.pids:
            self.before[name] = rss_kib(pid)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.wait(self.every):
            avail = mem_available_kib()
            if self.low_mem is None and avail is not None and avail < self.low_mem_kib:
                self.low_mem = avail
                if self.on_low_mem:
                    self.on_low_mem()
            for name, _, pid in self.pids:
                v = rss_kib(pid)
                if v is not None:
                    self.last[name] = v
                    self.peak[name] = max(v, self.peak.get(name, 0))

    def done(self):
        self.stop.set()
        self.t.join()
        return {name: {"before": self.before.get(name), "peak": self.peak.get(name), "after": rss_kib(pid)}
                for name, _, pid in self.pids}


def conc(args):
    """conc --mode ws|tls --port P --sni NAME --ca PEM [--id ID --secret S] --n N --bytes B:
    opens N sessions (at most --inflight handshakes at a time): ws = TLS + WebSocket upgrade with
    the service token to the burrow edge; tls = TLS straight to a peer edge. Once every session is
    open (or failed), each sends B random bytes (its own rotation of one random block) and reads
    them back from the echo origin, sha256-compared. One JSON line."""
    o = opts(args, {"mode": (str, "ws"), "port": (int, 0), "sni": (str, ""), "ca": (str, ""),
                    "id": (str, ""), "secret": (str, ""), "n": (int, 1000), "bytes": (int, 1 << 20),
                    "inflight": (int, 200), "pids": (str, ""), "path": (str, "?"),
                    "timeout": (float, 600.0), "chunk": (int, 65536), "min_avail_mib": (int, 2048)})
    return asyncio.run(conc_run(o))


async def conc_run(o):
    n, size, ws, ch = o["n"], o["bytes"], o["mode"] == "ws", o["chunk"]
    # Client memory must stay small beside 10,000 sessions: asyncio's TLS layer allocates a 256 KiB
    # receive buffer per connection (2.5 GB here) unless told otherwise, and each session's
    # buffers are capped at 64 KiB below.
    if hasattr(asyncio.sslproto.SSLProtocol, "max_size"):
        asyncio.sslproto.SSLProtocol.max_size = 64 * 1024
    ctx = ssl.create_default_context(cafile=o["ca"])
    ring = memoryview(os.urandom(size) * 2)  # session data: size bytes from a random offset, no copy
    sem = asyncio.Semaphore(o["inflight"])
    all_open = asyncio.Event()
    st = {"opened": 0, "open_failed": 0, "completed": 0, "failed": 0}
    errors, xfer_times = {}, []
    conns = []
    upgrade = ("GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Cf-Access-Client-Id: %s\r\nCf-Access-Client-Secret: %s\r\n\r\n" % (
                   o["sni"], base64.b64encode(os.urandom(16)).decode(), o["id"], o["secret"])).encode()

    def err(kind):
        errors[kind] = errors.get(kind, 0) + 1

    def landed():
        if st["opened"] + st["open_failed"] == n:
            st["t_open"] = time.monotonic()
            all_open.set()

    async def session(i):
        try:
            async with sem:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", o["port"], ssl=ctx, server_hostname=o["sni"], limit=64 * 1024), 60)
                w.transport.set_write_buffer_limits(high=64 * 1024)
                if hasattr(w.transport, "set_read_buffer_limits"):
                    w.transport.set_read_buffer_limits(high=64 * 1024)
                conns.append(w)
                if ws:
                    w.write(upgrade)
                    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 60)
                    if not head.startswith(b"HTTP/1.1 101"):
                        raise RuntimeError("status " + head.split(b"\r\n")[0][9:12].decode(errors="replace"))
            st["opened"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is counted by kind
            err("open: " + (str(e)[:60] or type(e).__name__))
            st["open_failed"] += 1
            landed()
            return
        landed()
        await all_open.wait()
        k = random.randrange(size)
        data = ring[k:k + size]  # this session's own bytes (a view: 10,000 copies would not fit)
        key = os.urandom(4)
        kint = int.from_bytes(key * (ch // 4), "little")

        async def send():
            h = hashlib.sha256()
            for off in range(0, size, ch):
                p = data[off:off + ch]
                h.update(p)
                w.write(ws_frame(2, p, (key, kint if len(p) == ch else None)) if ws else p)
                await w.drain()
            return h.digest()

        async def recv():
            h, got = hashlib.sha256(), 0
            while got < size:
                if ws:
                    op, p = await ws_read_frame(r)
                    if op == 9:
                        w.write(ws_frame(10, p, (key, None)))
                        continue
                    if op == 8:
                        raise RuntimeError("close frame after %d bytes" % got)
                    if op not in (0, 2):
                        continue
                else:
                    p = await r.read(min(64 * 1024, size - got))
                    if not p:
                        raise RuntimeError("EOF after %d bytes" % got)
                h.update(p)
                got += len(p)
            return h.digest()

        t = time.monotonic()
        try:
            sent, got = await asyncio.wait_for(asyncio.gather(send(), recv()), o["timeout"])
            if got != sent:
                raise RuntimeError("sha256 mismatch")
            st["completed"] += 1
            xfer_times.append(time.monotonic() - t)
        except Exception as e:  # noqa: BLE001
            err("transfer: " + (str(e)[:60] or type(e).__name__))
            st["failed"] += 1
        try:
            if ws:
                w.write(ws_frame(8, b"\x03\xe8", (key, None)))
            w.close()
        except Exception:  # noqa: BLE001
            pass

    def low_mem():
        """On a shared machine, stop before the OOM killer picks someone: from the sampler's
        thread, whatever the event loop is doing, report what got this far and exit (the kernel
        closes every session at once)."""
        rec = {"kind": "conc", "path": o["path"], "mode": o["mode"], "n": n, "bytes": size,
               "inflight": o["inflight"], "opened": st["opened"], "completed": st["completed"],
               "failed": n - st["completed"], "open_failed": st["open_failed"],
               "aborted": "MemAvailable fell to %d MiB after %.1f s" % (
                   sampler.low_mem // 1024, time.monotonic() - t0),
               "errors": dict(errors), "mem_kib": {k: {"before": sampler.before.get(k), "peak": v, "after": None}
                                             for k, v in sampler.peak.items()}}
        progress("  %-8s ABORTED: %s with %d open, %d completed; peak memory MiB: %s" % (
            o["path"], rec["aborted"], st["opened"], st["completed"],
            ", ".join("%s %.0f" % (k, v / 1024) for k, v in sampler.peak.items())))
        print(json.dumps(rec), flush=True)
        os._exit(3)

    sampler = RssSampler(parse_pids(o["pids"]) + [("client", "pid", os.getpid())],
                         low_mem_kib=o["min_avail_mib"] * 1024, on_low_mem=low_mem)
    tcp0 = tcp_counters()
    t0 = time.monotonic()
    tasks = [asyncio.create_task(session(i)) for i in range(n)]
    _, pending = await asyncio.wait(tasks, timeout=o["timeout"])
    for t in pending:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if pending:
        err("aborted: not done within %.0f s" % o["timeout"])
        progress("  %-8s aborted with %d sessions unfinished after %.0f s" % (o["path"], len(pending), o["timeout"]))
    t_end = time.monotonic()
    t_open = st.get("t_open", t_end)
    tcp = {k: v - tcp0.get(k, 0) for k, v in tcp_counters().items()}
    for w in conns:
        try:
            w.close()
        except Exception:  # noqa: BLE001
            pass
    await asyncio.sleep(2.0)  # the relays tear the sessions down
    mem = sampler.done()
    xs = sorted(xfer_times)
    progress("  %-8s %d of %d sessions completed (%d failed) in %.1f s (open %.1f s, transfer %.1f s); "
             "peak memory MiB: %s; kernel TCP: %s%s" % (
                 o["path"], st["completed"], n, n - st["completed"], t_end - t0, t_open - t0, t_end - t_open,
                 ", ".join("%s %s" % (k, fmt(v["peak"] / 1024 if v["peak"] else None, ".0f"))
                           for k, v in mem.items()),
                 ", ".join("%s +%d" % kv for kv in tcp.items()),
                 "; errors: %s" % errors if errors else ""))
    print(json.dumps({
        "kind": "conc", "path": o["path"], "mode": o["mode"], "n": n, "bytes": size,
        "inflight": o["inflight"], "opened": st["opened"], "completed": st["completed"],
        "failed": n - st["completed"], "open_failed": st["open_failed"],
        "open_s": round(t_open - t0, 3), "xfer_s": round(t_end - t_open, 3),
        "wall_s": round(t_end - t0, 3),
        "sessions_per_s": round(st["completed"] / (t_end - t0), 1) if t_end > t0 else None,
        "opens_per_s": round(st["opened"] / (t_open - t0), 1) if t_open > t0 else None,
        "xfer_p50_s": round(pct(xs, 50), 3) if xs else None,
        "xfer_max_s": round(xs[-1], 3) if xs else None,
        "errors": errors, "mem_kib": mem, "tcp_counters_delta": tcp,
        "mem_available_low_kib": sampler.low_mem}), flush=True)


# ------------------------------------------------------------------ scaling

def pingloop(args):
    """pingloop --port P --pace-ms M: 1-byte round trips every M ms to an echo until stdin closes;
    prints "ready" after the first one, then one JSON line of percentiles (µs)."""
    o = opts(args, {"port": (int, 0), "pace_ms": (float, 5.0)})
    s = socket.create_connection(("127.0.0.1", o["port"]), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    lat, first = [], True
    nxt = time.monotonic()
    while not stop.is_set():
        t = time.perf_counter_ns()
        s.sendall(b"p")
        if s.recv(1) != b"p":
            print(json.dumps({"error": "echo closed"}), flush=True)
            return
        if first:
            print("ready", flush=True)
            first = False
        else:
            lat.append((time.perf_counter_ns() - t) / 1000.0)
        nxt += o["pace_ms"] / 1000.0
        d = nxt - time.monotonic()
        if d > 0:
            stop.wait(d)
        else:
            nxt = time.monotonic()
    s.close()
    rec = {"n": len(lat)}
    if lat:
        rec.update(p50_us=round(pct(lat, 50), 1), p99_us=round(pct(lat, 99), 1),
                   max_us=round(max(lat), 1))
    print(json.dumps(rec), flush=True)


def scale(args):
    """scale --levels 1,10,… --total B --path NAME=BULKPORT:ECHOPORT …: for each level L and path
    (paths interleaved, rotated per level), L sessions to the sink behind BULKPORT, each announced
    by the sink's "R"; then all send total/L bytes (at least --min-bytes) at once and wait for the
    sink's "K"; meanwhile pingloop measures 1-byte round trips through ECHOPORT. JSON per run."""
    paths = [a for a in args if "=" in a and not a.startswith("--")]
    o = opts([a for a in args if a not in paths],
             {"levels": (str, "1,10,100,1000"), "total": (int, 1 << 30), "min_bytes": (int, 256 << 10),
              "pace_ms": (float, 5.0), "timeout": (float, 300.0)})
    levels = [int(x) for x in o["levels"].split(",")]
    paths = [(p.split("=")[0], int(p.split("=")[1].split(":")[0]), int(p.split("=")[1].split(":")[1]))
             for p in paths]
    for li, level in enumerate(levels):
        order = paths[li % len(paths):] + paths[:li % len(paths)]
        for name, bulk_port, echo_port in order:
            rec = asyncio.run(scale_one(name, level, max(o["total"] // level, o["min_bytes"]),
                                        bulk_port, echo_port, o))
            print(json.dumps(rec), flush=True)
            pp = rec.get("pingpong") or {}
            progress("  %-8s level %4d: %s MB/s (%d of %d sessions), ping p50 %s / p99 %s ms (n %s)%s" % (
                name, level, fmt(rec.get("mb_s"), ".1f"), rec["ok"], level,
                fmt(pp["p50_us"] / 1000 if "p50_us" in pp else None, ".2f"),
                fmt(pp["p99_us"] / 1000 if "p99_us" in pp else None, ".2f"), pp.get("n", "-"),
                "; " + rec["error"] if rec.get("error") else ""))
            time.sleep(1.0)  # let the relays tear the last level down


async def scale_one(name, level, per, bulk_port, echo_port, o):
    rec = {"kind": "scale", "path": name, "level": level, "per_bytes": per}
    sem = asyncio.Semaphore(100)
    zeros = memoryview(bytes(256 * 1024))

    async def open_one():
        async with sem:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", bulk_port), 60)
            if await asyncio.wait_for(r.readexactly(1), 60) != b"R":
                raise RuntimeError("no R from the sink")
            return r, w

    opened = await asyncio.gather(*[open_one() for _ in range(level)], return_exceptions=True)
    sess = [x for x in opened if not isinstance(x, BaseException)]
    rec["open_failed"] = level - len(sess)
    if rec["open_failed"]:
        rec["error"] = str(next(x for x in opened if isinstance(x, BaseException)))[:100]
    pinger = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "pingloop", "--port", str(echo_port),
        "--pace-ms", str(o["pace_ms"]), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    ready = await asyncio.wait_for(pinger.stdout.readline(), 30)
    done_at = []

    async def push(r, w):
        w.write(per.to_bytes(8, "big"))
        left = per
        while left:
            k = min(left, len(zeros))
            w.write(zeros[:k])
            left -= k
            await w.drain()
        if await r.readexactly(1) != b"K":
            raise RuntimeError("no K from the sink")
        done_at.append(time.monotonic() - t0)

    t0 = time.monotonic()
    try:
        res = await asyncio.wait_for(asyncio.gather(*[push(r, w) for r, w in sess], return_exceptions=True),
                                     o["timeout"])
    except asyncio.TimeoutError:
        res, rec["error"] = [], "not done within %.0f s" % o["timeout"]
    wall = time.monotonic() - t0
    pinger.stdin.close()
    out = await asyncio.wait_for(pinger.stdout.read(), 30)
    await pinger.wait()
    for _, w in sess:
        w.close()
    ok = len(done_at)
    rec.update(ok=ok, failed=level - ok, wall_s=round(wall, 3), bytes=ok * per,
               mb_s=round(ok * per / wall / 1e6, 1) if wall > 0 else None,
               ready=ready.strip().decode(errors="replace"))
    if done_at:
        d = sorted(done_at)
        rec.update(first_done_s=round(d[0], 3), median_done_s=round(pct(d, 50), 3),
                   last_done_s=round(d[-1], 3))
    fails = [x for x in res if isinstance(x, BaseException)]
    if fails and "error" not in rec:
        rec["error"] = str(fails[0])[:100] or type(fails[0]).__name__
    try:
        rec["pingpong"] = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        rec["pingpong"] = None
    return rec


# ------------------------------------------------------------------ report

def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def ssh_bulk(recs):
    """SSH bulk records → {path: {dir: …}}: median wall per path/direction, MB/s, CPU per GiB per
    process (median over rounds), ratios to direct and haproxy."""
    res = {}
    for r in recs:
        d = res.setdefault(r["path"], {}).setdefault(r["dir"], {"walls": [], "cpu": {}})
        d["walls"].append(r["wall_s"])
        d["bytes"] = r["bytes"]
        gib = r["bytes"] / 2**30
        for proc, s in r.get("cpu", {}).items():
            if s is not None:
                d["cpu"].setdefault(proc, []).append(s / gib)
    for p, dirs in res.items():
        for dname, d in dirs.items():
            w = med(d["walls"])
            d["wall_s"] = round(w, 3)
            d["mb_s"] = round(d["bytes"] / w / 1e6, 1)
            d["rounds"] = len(d["walls"])
            d["cpu_s_per_gib"] = {k: round(med(v), 3) for k, v in d["cpu"].items()}
            del d["cpu"]
    for p, dirs in res.items():
        for dname, d in dirs.items():
            for ref in ("direct", "haproxy"):
                rd = res.get(ref, {}).get(dname)
                if rd:
                    d["vs_" + ref] = round(d["mb_s"] / rd["mb_s"], 3)
    return res


# The CPU targets were set on another machine beside the peers' figures there (edge 1.0 core-s/GiB
# where haproxy took 1.27, connector 0.8 where a socat connector took 1.0, client 0.6 where a socat
# client took 0.5); as shares of the peer in the same role they carry over to any machine.
CPU_SHARE = {"edge": 1.0 / 1.27, "connector": 0.8 / 1.0, "client": 0.6 / 0.5}


def cpu_vs_peers(out):
    """{(load, dir): {role: burrow's CPU per GiB / the haproxy chain's}} for SSH bulk and iperf3."""
    res = {}
    for load in ("bulk", "iperf"):
        for dname in ("up", "down"):
            b = out.get(load, {}).get("burrow", {}).get(dname, {}).get("cpu_s_per_gib", {})
            h = out.get(load, {}).get("haproxy", {}).get(dname, {}).get("cpu_s_per_gib", {})
            s = {k: round(b[k] / h[k], 3) for k in CPU_SHARE if b.get(k) and h.get(k)}
            if s:
                res[("ssh" if load == "bulk" else load, dname)] = s
    return res


def report(args):
    raw, outp, datadir = args
    recs = [json.loads(l) for l in open(raw) if l.strip()]
    meta = next((r for r in recs if r["kind"] == "meta"), {})
    paths = meta.get("paths", [])
    out = {"meta": meta, "bulk": {}, "sha": {}, "iperf": {}, "banner": {}, "pingpong": [],
           "idle": None}

    out["bulk"] = ssh_bulk([r for r in recs if r["kind"] == "bulk"])
    for r in recs:
        if r["kind"] == "sha":
            out["sha"].setdefault(r["path"], {})[r["dir"]] = r["ok"]
    # iperf
    for r in recs:
        if r["kind"] != "iperf":
            continue
        d = out["iperf"].setdefault(r["path"], {}).setdefault(r["dir"], {"g": [], "cpu": {}})
        d["g"].append(r["gbit_s"])
        gib = r["bytes"] / 2**30 if r.get("bytes") else None
        for proc, s in r.get("cpu", {}).items():
            if s is not None and gib:
                d["cpu"].setdefault(proc, []).append(s / gib)
    for p, dirs in out["iperf"].items():
        for dname, d in dirs.items():
            d["gbit_s"] = round(med(d["g"]), 2)
            d["runs"] = len(d["g"])
            d["cpu_s_per_gib"] = {k: round(med(v), 3) for k, v in d["cpu"].items()}
            del d["g"], d["cpu"]
    for p, dirs in out["iperf"].items():
        for dname, d in dirs.items():
            for ref in ("direct", "haproxy"):
                rd = out["iperf"].get(ref, {}).get(dname)
                if rd and rd["gbit_s"]:
                    d["vs_" + ref] = round(d["gbit_s"] / rd["gbit_s"], 3)
    for r in recs:
        if r["kind"] == "banner":
            out["banner"][r["path"]] = {k: v for k, v in r.items() if k not in ("kind", "path")}
        elif r["kind"] == "pingpong":
            out["pingpong"].append({k: v for k, v in r.items() if k != "kind"})
        elif r["kind"] == "idle":
            out["idle"] = {k: v for k, v in r.items() if k != "kind"}
        elif r["kind"] == "startup":
            out.setdefault("startup", []).append({k: v for k, v in r.items() if k != "kind"})
        elif r["kind"] in ("slow", "conc", "scale"):
            out.setdefault(r["kind"], []).append({k: v for k, v in r.items() if k != "kind"})
        elif r["kind"] == "link-iperf":
            out.setdefault("link", {}).setdefault("iperf_gbit_s", {})[r["dir"]] = r["gbit_s"]
        elif r["kind"] == "note":
            out.setdefault("notes", []).append(r["text"])
    if any(r["kind"] == "link" for r in recs):
        out.setdefault("link", {})["rate"] = meta.get("link_rate")
        out["link"]["bulk"] = ssh_bulk([r for r in recs if r["kind"] == "link"])
    scaled = cpu_vs_peers(out)
    out["cpu_share_of_haproxy_chain"] = {"%s %s" % k: v for k, v in scaled.items()}
    with open(outp, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")

    # ---- table
    P = lambda *a: print(*a)
    P("")
    P("burrow bench — %s on %s (%s), %s cores; %s%s" % (
        meta.get("date", "?"), meta.get("host", "?"), meta.get("cpu", "?"), meta.get("cores", "?"),
        "quick" if meta.get("quick") else "full",
        ", load avg at start %s" % meta["loadavg"] if meta.get("loadavg") else ""))
    P("")
    size = meta.get("bulk_bytes", 0) / 2**20
    order = [p for p in paths if p in out["bulk"]]
    if out["bulk"]:
        P("SSH bulk, %d MiB each way, median of %s rounds (interleaved); CPU = core-s per GiB of each "
          "relay process (client / edge / connector)" % (size, meta.get("rounds", "?")))
        P("%-9s %4s %9s %8s %7s %7s %7s %7s %7s %s" % (
            "path", "dir", "wall s", "MB/s", "/direct", "/hapx", "client", "edge", "conn", "sha256"))
        for p in order:
            for dname in ("up", "down"):
                d = out["bulk"][p].get(dname)
                if not d:
                    continue
                c = d["cpu_s_per_gib"]
                sha = out["sha"].get(p, {}).get(dname)
                P("%-9s %4s %9.3f %8.1f %7s %7s %7s %7s %7s %s" % (
                    p, dname, d["wall_s"], d["mb_s"], fmt(d.get("vs_direct"), ".2f"),
                    fmt(d.get("vs_haproxy"), ".2f"), fmt(c.get("client"), ".2f"),
                    fmt(c.get("edge"), ".2f"), fmt(c.get("connector"), ".2f"),
                    "-" if sha is None else ("ok" if sha else "MISMATCH")))
    if out["iperf"]:
        P("")
        P("raw TCP, iperf3 %s s per run, median; CPU core-s per GiB" % meta.get("iperf_secs", "?"))
        P("%-9s %4s %8s %7s %7s %7s %7s %7s" % ("path", "dir", "Gbit/s", "/direct", "/hapx",
                                                "client", "edge", "conn"))
        for p in [p for p in paths if p in out["iperf"]]:
            for dname in ("up", "down"):
                d = out["iperf"][p].get(dname)
                if not d:
                    continue
                c = d["cpu_s_per_gib"]
                P("%-9s %4s %8.2f %7s %7s %7s %7s %7s" % (
                    p, dname, d["gbit_s"], fmt(d.get("vs_direct"), ".2f"),
                    fmt(d.get("vs_haproxy"), ".2f"), fmt(c.get("client"), ".2f"),
                    fmt(c.get("edge"), ".2f"), fmt(c.get("connector"), ".2f")))
    if scaled:
        P("")
        P("CPU per GiB as a share of the haproxy chain's process in the same role, against the targets "
          "as set (edge 1.0 where haproxy took 1.27 = %.2fx; connector 0.8 where socat took 1.0 = %.2fx; "
          "client 0.6 where socat took 0.5 = %.2fx)" % (CPU_SHARE["edge"], CPU_SHARE["connector"],
                                                        CPU_SHARE["client"]))
        P("%-6s %4s %8s %8s %8s" % ("load", "dir", "client", "edge", "conn"))
        for (load, dname), s in scaled.items():
            P("%-6s %4s %8s %8s %8s" % (load, dname, *(
                "%.2f%s" % (s[k], "" if s[k] <= CPU_SHARE[k] else "!") if k in s else "-"
                for k in ("client", "edge", "connector"))))
        P("(! = above the target's share)")
    if out["banner"]:
        P("")
        ref = out["banner"].get("socat-tcp", {})
        P("time to sshd banner (ProxyCommand start -> SSH-2.0- line), ms")
        P("%-9s %5s %8s %8s %8s %9s %9s" % ("path", "runs", "p50", "p90", "p99", "+p50", "+p99"))
        for p, b in out["banner"].items():
            if "p50_ms" not in b:
                P("%-9s %5s   all %d runs failed" % (p, b["runs"], b["fails"]))
                continue
            P("%-9s %5d %8.2f %8.2f %8.2f %9s %9s%s" % (
                p, b["runs"] - b["fails"], b["p50_ms"], b["p90_ms"], b["p99_ms"],
                fmt(b["p50_ms"] - ref["p50_ms"], "+.2f") if ref.get("p50_ms") else "-",
                fmt(b["p99_ms"] - ref["p99_ms"], "+.2f") if ref.get("p99_ms") else "-",
                "  (%d failed)" % b["fails"] if b["fails"] else ""))
    if out.get("startup"):
        P("process start-up (hyperfine, exec to exit): " + "; ".join(
            "%s %.2f ms ± %.2f" % (r["command"], r["mean_ms"], r["stddev_ms"]) for r in out["startup"]))
    if out["pingpong"]:
        P("")
        P("interactive latency, ping-pong round trip to an echo origin, µs")
        P("%-9s %-10s %6s %7s %8s %8s %8s %9s %9s" % (
            "path", "tag", "bytes", "n", "p50", "p90", "p99", "+p50", "+p99"))
        refs = {r["size"]: r for r in out["pingpong"] if r["path"] == "direct" and not r["tag"]}
        for r in out["pingpong"]:
            ref = refs.get(r["size"])
            P("%-9s %-10s %6d %7d %8.1f %8.1f %8.1f %9s %9s" % (
                r["path"], r["tag"] or "-", r["size"], r["n"], r["p50_us"], r["p90_us"], r["p99_us"],
                fmt(r["p50_us"] - ref["p50_us"], "+.1f") if ref else "-",
                fmt(r["p99_us"] - ref["p99_us"], "+.1f") if ref else "-"))
    if out["idle"]:
        i = out["idle"]
        P("")
        P("idle sessions through burrow access tcp: %d of %d open (%d failed) in %.1f s; RSS KiB "
          "before / with them / after; KiB per session" % (i["open"], i["n"], i["failed"], i["open_s"]))
        for k in i["rss_before_kib"]:
            P("  %-10s %8s %8s %8s   %s" % (k, i["rss_before_kib"][k], i["rss_during_kib"][k],
                                            i["rss_after_kib"][k], i["per_session_kib"].get(k, "-")))
    if out.get("slow"):
        P("")
        P("slow reader: %d MiB through each path into a reader held to %s MB/s; writer rate after the "
          "%s s warm-up; in flight = written - read (bytes the path holds)" % (
              meta.get("slow_bytes", 0) / 2**20, meta.get("slow_rate_mb_s", "?"),
              out["slow"][0].get("warmup_s", "?")))
        P("%-9s %4s %-9s %7s %8s %8s %10s   RSS KiB: before -> after the warm-up first / min / max, ± %% of median" % (
            "path", "dir", "sha256", "wall s", "read MB/s", "write", "flight MiB"))
        for r in out["slow"]:
            P("%-9s %4s %-9s %7s %8s %8s %10.1f   %s" % (
                r["path"], r["dir"], "ok" if r["ok"] else "FAILED", fmt(r.get("wall_s"), ".1f"),
                fmt(r.get("reader_mb_s"), ".1f"), fmt(r.get("writer_mb_s"), ".1f"),
                r["max_in_flight_bytes"] / 2**20,
                "; ".join("%s %s -> %s/%s/%s ±%s%%" % (k, v.get("before") or "-", v.get("first", "-"), v.get("min", "-"),
                                                        v.get("max", "-"), fmt(v.get("spread_pct"), ".1f"))
                          for k, v in r["rss_kib"].items())))
            if r.get("error"):
                P("    error: %s" % r["error"])
    if out.get("conc"):
        P("")
        P("concurrent sessions: N open at once (at most %s handshakes in flight), then each echoes "
          "%d KiB of random data (sha256); haproxy chain: haproxy → haproxy; memory MiB peak (before)" % (
              out["conc"][0].get("inflight", "?"), out["conc"][0].get("bytes", 0) // 1024))
        P("%-9s %6s %6s %9s %6s %7s %7s %7s %7s   %s" % (
            "path", "n", "opened", "completed", "failed", "open s", "xfer s", "wall s", "sess/s",
            "peak MiB (before)"))
        for r in out["conc"]:
            P("%-9s %6d %6d %9d %6d %7s %7s %7s %7s   %s" % (
                r["path"], r["n"], r["opened"], r["completed"], r["failed"], fmt(r.get("open_s"), ".1f"),
                fmt(r.get("xfer_s"), ".1f"), fmt(r.get("wall_s"), ".1f"), fmt(r.get("sessions_per_s"), ".0f"),
                ", ".join("%s %s (%s)" % (k, fmt(v["peak"] / 1024 if v.get("peak") else None, ".0f"),
                                          fmt(v["before"] / 1024 if v.get("before") else None, ".0f"))
                          for k, v in r["mem_kib"].items())))
            if r.get("aborted"):
                P("    ABORTED: %s" % r["aborted"])
            if r.get("errors"):
                P("    errors: %s" % "; ".join("%s × %d" % kv for kv in r["errors"].items()))
            if any(r.get("tcp_counters_delta", {}).values()):
                P("    kernel TCP meanwhile (whole machine): %s" % ", ".join(
                    "%s +%d" % kv for kv in r["tcp_counters_delta"].items()))
    if out.get("scale"):
        P("")
        P("scaling: L bulk sessions at once into a sink, %d MiB per level in all (up); aggregate MB/s; "
          "1-byte ping every 5 ms through the same path meanwhile, ms" % (
              meta.get("scale_bytes_per_level", 0) / 2**20))
        P("%-9s %6s %10s %9s %6s %8s %8s %6s %9s" % (
            "path", "level", "KiB/sess", "MB/s", "failed", "ping p50", "p99", "n", "slowest s"))
        for r in sorted(out["scale"], key=lambda r: (paths.index(r["path"]) if r["path"] in paths else 99,
                                                     r["level"])):
            pp = r.get("pingpong") or {}
            P("%-9s %6d %10d %9s %6d %8s %8s %6s %9s%s" % (
                r["path"], r["level"], r["per_bytes"] // 1024, fmt(r.get("mb_s"), ".1f"), r.get("failed", 0),
                fmt(pp["p50_us"] / 1000 if "p50_us" in pp else None, ".2f"),
                fmt(pp["p99_us"] / 1000 if "p99_us" in pp else None, ".2f"), pp.get("n", "-"),
                fmt(r.get("last_done_s"), ".2f"), "  " + r["error"] if r.get("error") else ""))
    if out.get("link", {}).get("bulk"):
        lk = out["link"]
        ip = lk.get("iperf_gbit_s", {})
        P("")
        P("over a link: client, edge, host in 3 network namespaces, 2 veth links at %s (tbf); iperf3 "
          "direct %s / %s Gbit/s up / down; SSH bulk %d MiB, median of %s rounds; CPU core-s/GiB" % (
              lk.get("rate"), ip.get("up", "-"), ip.get("down", "-"), meta.get("link_bytes", 0) / 2**20,
              meta.get("link_rounds", "?")))
        P("%-9s %4s %9s %8s %7s %7s %7s %7s" % ("path", "dir", "wall s", "MB/s", "/direct", "/hapx", "edge",
                                                "conn"))
        for p in [p for p in ("direct", "haproxy", "burrow") if p in lk["bulk"]]:
            for dname in ("up", "down"):
                d = lk["bulk"][p].get(dname)
                if not d:
                    continue
                c = d["cpu_s_per_gib"]
                P("%-9s %4s %9.3f %8.1f %7s %7s %7s %7s" % (
                    p, dname, d["wall_s"], d["mb_s"], fmt(d.get("vs_direct"), ".1%"),
                    fmt(d.get("vs_haproxy"), ".2f"), fmt(c.get("edge"), ".2f"), fmt(c.get("connector"), ".2f")))
    for n in out.get("notes", []):
        P("note: " + n)
    P("")

    # ---- gnuplot data
    with open(os.path.join(datadir, "bulk.dat"), "w") as f:
        f.write("# path up_MBps down_MBps\n")
        for p in order:
            f.write("%s %s %s\n" % (p, out["bulk"][p].get("up", {}).get("mb_s", "NaN"),
                                    out["bulk"][p].get("down", {}).get("mb_s", "NaN")))
    with open(os.path.join(datadir, "cpu.dat"), "w") as f:
        f.write("# path client edge connector (core-s/GiB, median of up and down)\n")
        for p in order:
            vals = []
            for proc in ("client", "edge", "connector"):
                xs = [out["bulk"][p][d]["cpu_s_per_gib"].get(proc) for d in ("up", "down")
                      if d in out["bulk"][p]]
                xs = [x for x in xs if x is not None]
                vals.append("%.3f" % statistics.fmean(xs) if xs else "NaN")
            f.write("%s %s\n" % (p, " ".join(vals)))
    with open(os.path.join(datadir, "iperf.dat"), "w") as f:
        f.write("# path up_Gbps down_Gbps\n")
        for p in [p for p in paths if p in out["iperf"]]:
            f.write("%s %s %s\n" % (p, out["iperf"][p].get("up", {}).get("gbit_s", "NaN"),
                                    out["iperf"][p].get("down", {}).get("gbit_s", "NaN")))

    if out.get("scale"):
        spaths = [p for p in paths if any(r["path"] == p for r in out["scale"])]
        levels = sorted({r["level"] for r in out["scale"]})
        by = {(r["path"], r["level"]): r for r in out["scale"]}
        def mbs(r):
            return r.get("mb_s")

        def p99_ms(r):
            pp = r.get("pingpong") or {}
            return pp["p99_us"] / 1000 if "p99_us" in pp else None

        for fname, get in (("scale-mbs.dat", mbs), ("scale-p99.dat", p99_ms)):
            with open(os.path.join(datadir, fname), "w") as f:
                f.write("level %s\n" % " ".join(spaths))
                for lv in levels:
                    xs = [get(by[(p, lv)]) if (p, lv) in by else None for p in spaths]
                    f.write("%d %s\n" % (lv, " ".join("NaN" if x is None else "%g" % x for x in xs)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo-server":
        echo_server(int(args[0]))
    elif cmd == "banner":
        banner(args)
    elif cmd == "pingpong":
        pingpong(args)
    elif cmd == "idle":
        idle(args)
    elif cmd == "origin":
        origin(args)
    elif cmd == "slow":
        slow(args)
    elif cmd == "conc":
        conc(args)
    elif cmd == "pingloop":
        pingloop(args)
    elif cmd == "scale":
        scale(args)
    elif cmd == "report":
        report(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
