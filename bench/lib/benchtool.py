#!/usr/bin/python3
"""benchtool.py — small measuring helpers for bench/run (stdlib only).

  echo-server PORT                        TCP echo origin on 127.0.0.1:PORT (epoll, TCP_NODELAY)
  banner --runs N --timeout S NAME=CMD…   time from spawning CMD to its first "SSH-2.0-" line,
                                          the NAMEs interleaved run by run; JSON lines on stdout
  pingpong --n N --size B NAME=PORT…      N round trips of B bytes per path, interleaved in blocks;
                                          a JSON line with percentiles (µs) per path
  idle --port P --n N --pids a=PID,…      RSS of the given processes before / with N idle sessions
                                          open (each proven end to end by one echoed byte) / after
  report RAW.jsonl OUT.json DATADIR       medians, ratios, the table on stdout, gnuplot data files

Nothing here asserts a time: it measures and reports.
"""
import json
import os
import selectors
import shlex
import signal
import socket
import statistics
import subprocess
import sys
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

def one_banner(cmd, timeout):
    t0 = time.perf_counter_ns()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, close_fds=True)
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
    port, n, pids, settle, batch = 0, 1000, {}, 2.0, 100
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


# ------------------------------------------------------------------ report

def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def report(args):
    raw, outp, datadir = args
    recs = [json.loads(l) for l in open(raw) if l.strip()]
    meta = next((r for r in recs if r["kind"] == "meta"), {})
    paths = meta.get("paths", [])
    out = {"meta": meta, "bulk": {}, "sha": {}, "iperf": {}, "banner": {}, "pingpong": [],
           "idle": None}

    # SSH bulk: median wall per path/direction, CPU per GiB per process (median over rounds)
    for r in recs:
        if r["kind"] != "bulk":
            continue
        d = out["bulk"].setdefault(r["path"], {}).setdefault(r["dir"], {"walls": [], "cpu": {}})
        d["walls"].append(r["wall_s"])
        d["bytes"] = r["bytes"]
        gib = r["bytes"] / 2**30
        for proc, s in r.get("cpu", {}).items():
            if s is not None:
                d["cpu"].setdefault(proc, []).append(s / gib)
    for p, dirs in out["bulk"].items():
        for dname, d in dirs.items():
            w = med(d["walls"])
            d["wall_s"] = round(w, 3)
            d["mb_s"] = round(d["bytes"] / w / 1e6, 1)
            d["rounds"] = len(d["walls"])
            d["cpu_s_per_gib"] = {k: round(med(v), 3) for k, v in d["cpu"].items()}
            del d["cpu"]
    for p, dirs in out["bulk"].items():
        for dname, d in dirs.items():
            for ref in ("direct", "haproxy"):
                rd = out["bulk"].get(ref, {}).get(dname)
                if rd:
                    d["vs_" + ref] = round(d["mb_s"] / rd["mb_s"], 3)
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
        elif r["kind"] == "note":
            out.setdefault("notes", []).append(r["text"])
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
    elif cmd == "report":
        report(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
