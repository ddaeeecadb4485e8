#!/usr/bin/env bash
# Flow control: a session whose reader is slow neither stalls another session of the same
# connector nor makes the edge or the connector buffer without bound.
. "$(dirname "$0")/lib.sh"

start_stack
head -c 32M /dev/urandom >"$T/fast.bin"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# A reader that takes 64 KiB every 20 ms (about 3 MB/s) from a writer that could go far faster.
cat >"$T/slow_reader.py" <<'PY'
import sys, time
total = 0
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    total += len(b)
    time.sleep(0.02)
print(total)
PY

edge0=$(rss_kb "$EDGE_PID")
conn0=$(rss_kb "$CONNECTOR_PID")
mkfifo "$T/slow.fifo"
python3 "$T/slow_reader.py" <"$T/slow.fifo" >"$T/slow.count" &
SLOW=$!
bssh "$SSH_USER@ssh.site.test" 'head -c 1G /dev/zero' >"$T/slow.fifo" 2>/dev/null &
SLOW_SSH=$!
sleep 1

test_case "a fast session completes intact while a slow reader holds another session"
t0=$(now_ms)
got=$(bssh "$SSH_USER@ssh.site.test" sha256sum <"$T/fast.bin" | cut -d' ' -f1) || fail "fast session: ssh exited $?"
ms=$(($(now_ms) - t0))
step "32 MiB up with a slow neighbour: $ms ms"
assert_eq "$(sha "$T/fast.bin")" "$got" "sha256 of the fast session"
[ "$ms" -lt 30000 ] || fail "fast session took $ms ms: the slow reader stalls it"
pass

test_case "edge and connector memory stay bounded while the slow reader lags"
max_e=0 max_c=0
for _ in $(seq 1 20); do
  e=$(rss_kb "$EDGE_PID") c=$(rss_kb "$CONNECTOR_PID")
  [ "$e" -gt "$max_e" ] && max_e=$e
  [ "$c" -gt "$max_c" ] && max_c=$c
  sleep 0.2
done
_alive "$SLOW" || fail "the slow session ended early: $(cat "$T/slow.count" 2>/dev/null)"
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
