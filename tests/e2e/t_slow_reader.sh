#!/usr/bin/env bash
# Flow control: a session whose reader is slow neither stalls another session of the same
# connector nor makes the edge or the connector buffer without bound.
# The slow session must really be moving bytes the whole time: its reader writes its running total
# to $T/slow.progress (a session that delivers nothing, e.g. one replaced by `sleep 600`, fails).
# The fast session starts only once the slow one has delivered 1 MiB, and the slow one must deliver
# at least 1 MiB more while the fast one runs (so they overlap) and at least 1 MiB more during the
# 4 s the memory is sampled. Measured here (ASan build): ~2.5-3 MB/s, the reader's own pace, so
# each of those windows sees several MiB; 1 MiB leaves room for a loaded machine.
. "$(dirname "$0")/lib.sh"

start_stack
head -c 32M /dev/urandom >"$T/fast.bin"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# A reader that takes 64 KiB every 20 ms (about 3 MB/s) from a writer that could go far faster;
# its running total goes to PROGRESS (replaced atomically) after every read.
cat >"$T/slow_reader.py" <<'PY'
import os, sys, time
path = sys.argv[1]
total = 0
def report():
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % total)
    os.replace(path + ".tmp", path)
report()
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    total += len(b)
    report()
    time.sleep(0.02)
print(total)
PY
slow_bytes() { cat "$T/slow.progress" 2>/dev/null || echo 0; }
MIB=1048576

edge0=$(rss_kb "$EDGE_PID")
conn0=$(rss_kb "$CONNECTOR_PID")
mkfifo "$T/slow.fifo"
"$PYTHON" "$T/slow_reader.py" "$T/slow.progress" <"$T/slow.fifo" >"$T/slow.count" &
SLOW=$!
bssh "$SSH_USER@ssh.site.test" 'head -c 1G /dev/zero' >"$T/slow.fifo" &
SLOW_SSH=$!
slow_started() {
  _alive "$SLOW_SSH" || fail "the slow session ended at once: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
  [ "$(slow_bytes)" -ge "$MIB" ]
}
wait_for 30 slow_started || fail "the slow session delivered $(slow_bytes) bytes in 30 s (wanted 1 MiB)"

test_case "a fast session completes intact while a slow reader holds another session"
t0=$(now_ms) s0=$(slow_bytes)
got=$(bssh "$SSH_USER@ssh.site.test" sha256sum <"$T/fast.bin" | cut -d' ' -f1) || fail "fast session: ssh exited $?"
ms=$(($(now_ms) - t0)) s1=$(slow_bytes)
step "32 MiB up with a slow neighbour: $ms ms; meanwhile the slow session delivered $(((s1 - s0) / 1024)) KiB ($s0 -> $s1 bytes)"
assert_eq "$(sha "$T/fast.bin")" "$got" "sha256 of the fast session"
[ "$ms" -lt 30000 ] || fail "fast session took $ms ms: the slow reader stalls it"
_alive "$SLOW_SSH" || fail "the slow session ended during the fast one ($s1 bytes)"
[ $((s1 - s0)) -ge "$MIB" ] ||
  fail "the slow session delivered only $((s1 - s0)) bytes during the fast session's $ms ms: they did not overlap"
pass

test_case "edge and connector memory stay bounded while the slow reader lags"
max_e=0 max_c=0 s0=$(slow_bytes)
for _ in $(seq 1 20); do
  e=$(rss_kb "$EDGE_PID") c=$(rss_kb "$CONNECTOR_PID")
  [ "$e" -gt "$max_e" ] && max_e=$e
  [ "$c" -gt "$max_c" ] && max_c=$c
  sleep 0.2
done
_alive "$SLOW" && _alive "$SLOW_SSH" || fail "the slow session ended early: $(slow_bytes) bytes"
s1=$(slow_bytes)
step "the slow session delivered $(((s1 - s0) / 1024)) KiB while memory was sampled ($s1 bytes in all)"
[ $((s1 - s0)) -ge "$MIB" ] || fail "the slow session delivered only $((s1 - s0)) bytes in the 4 s sampled: stalled"
step "RSS growth: edge $(((max_e - edge0) / 1024)) MiB, connector $(((max_c - conn0) / 1024)) MiB (1 GiB offered)"
# Flow control bounds each session to its HTTP/2 window plus socket buffers: a few MiB, not the GiB
# the writer offers. 64 MiB leaves room for the sanitizer build's own overhead.
[ $((max_e - edge0)) -lt 65536 ] || fail "edge grew by $(((max_e - edge0) / 1024)) MiB"
[ $((max_c - conn0)) -lt 65536 ] || fail "connector grew by $(((max_c - conn0) / 1024)) MiB"
kill -KILL "$SLOW" "$SLOW_SSH" 2>/dev/null
pass

test_case "after the slow session is dropped, new sessions work"
wait "$SLOW" "$SLOW_SSH" 2>/dev/null || true
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?"
assert_eq ok "$out"
pass
