#!/usr/bin/env bash
# The edge is killed (SIGKILL) in the middle of a transfer: the session on the dead edge ends at
# once with a clear error (no hang), the connector is back within 4 s of the edge listening again
# while its retries never grow past the 1 s cap, and bytes that were delivered are exactly right; a
# killed connector makes the client say "(502 Bad Gateway)" on its "burrow: " line.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
host=$SSH_USER@ssh.site.test
head -c 16M /dev/urandom >"$T/blob"
bssh "$host" "cat > $T/remote-blob" <"$T/blob" || fail "upload exited $?"

test_case "a transfer cut by the edge's death ends quickly with an error"
# A slow, long download; the edge dies under it.
bssh "$host" "while :; do cat $T/remote-blob; done" >"$T/partial" 2>/dev/null &
DL=$!
wait_for 10 test -s "$T/partial" || fail "the download never started"
before=$(registered_count host1)
stop_pid "$EDGE_PID" KILL
killed_at=$(now_ms)
t0=$killed_at
rc=0
wait_for 10 bash -c "! kill -0 $DL 2>/dev/null" || fail "ssh still running 10 s after the edge died"
wait "$DL" || rc=$?
step "ssh ended $(($(now_ms) - t0)) ms after the edge died, exit $rc"
assert_ne 0 "$rc" "ssh exit status"
pass

test_case "what arrived before the cut is an exact prefix of the stream"
size=$(stat -c %s "$T/partial")
blob=$(stat -c %s "$T/blob")
[ "$size" -gt 0 ] || fail "nothing arrived"
full=$((size / blob))
rest=$((size % blob))
for _ in $(seq 1 "$full"); do cat "$T/blob"; done >"$T/expected"
head -c "$rest" "$T/blob" >>"$T/expected"
assert_eq "$(sha "$T/expected")" "$(sha "$T/partial")" "sha256 of the $size bytes that arrived"
pass

test_case "the connector is back within 4 s of the edge listening again; its retries stay 1 s apart"
# The connector retries every 0.5-1 s once its backoff reaches the cap (tunnel/supervisor.c,
# BACKOFF_CAP_MS 1000), so its first connection registers at most ~1 s after the edge is ready, plus a
# TLS handshake and a registration (measured 81-88 ms here, ASan build). The bound is 4 s: 3 s of slack
# for a loaded 2-core machine. That bound alone cannot catch a backoff without its cap (4 slots, each
# with jitter: one of them often lands early), so the edge stays down 7 s from the kill and each
# slot's retries in the connector's log are checked: consecutive attempts (refusal, loss or
# registration) of one slot at most 2.5 s apart (1 s cap + up to ~0.3 s handshake, 1.2 s slack).
# A backoff that keeps doubling is 3.2-6.4 s apart by its sixth attempt, which every slot reaches
# within 6.2 s of the kill (mutant backoff_uncapped).
while [ "$(now_ms)" -lt $((killed_at + 7000)) ]; do sleep 0.1; done
start_edge
t0=$(now_ms)
wait_for 4 _registered_at_least host1 $((before + 1)) || fail "no registration within 4 s"
step "first connection registered $(($(now_ms) - t0)) ms after the edge was ready"
wait_for 6 _registered_at_least host1 $((before + 4)) || fail "not all 4 connections back within 6 s"
# per slot, the ms between consecutive attempt outcomes after the kill (UTC time of day of each line)
gaps=$(awk -v from="$before" '
  function ms(ts) { split(substr(ts, 12, 12), a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
  / registered connection [0-9]+ / { if (++reg <= from) next }
  reg < from { next }
  / (registered connection|connection) [0-9]+ / {
    if (!match($0, /connection [0-9]+ /)) next
    slot = substr($0, RSTART + 11, RLENGTH - 12)
    t = ms($1)
    if (slot in last && t - last[slot] > max[slot]) max[slot] = t - last[slot]
    last[slot] = t
  }
  END { for (s in max) printf "%s:%d ", s, max[s] }' "$LOGS/connector-host1.log")
step "largest gap between one slot's attempts (slot:ms): $gaps"
[ -n "$gaps" ] || fail "no retries of the connector in its log"
for g in $gaps; do
  [ "${g#*:}" -le 2500 ] || fail "slot ${g%%:*} waited ${g#*:} ms between two attempts (cap 1 s): $gaps"
done
out=$(bssh "$host" 'echo ok') || fail "ssh after the restart exited $?"
assert_eq ok "$out"
pass

test_case "a killed connector makes the edge answer 502 at once"
stop_pid "$CONNECTOR_PID" KILL
t0=$(now_ms)
rc=0
bssh "$host" 'echo no' >/dev/null || rc=$?
assert_ne 0 "$rc" "ssh exit status"
# the client's own "burrow: " line, not any 502 in the text (a port such as 45021 has one)
assert_match "$(grep '^burrow: ' "$LOGS/ssh.err" | tail -n 1)" '^burrow: ssh\.site\.test: .*\(502 Bad Gateway\)' "client's error line"
[ $(($(now_ms) - t0)) -lt 5000 ] || fail "refusal took $(($(now_ms) - t0)) ms"
pass
