#!/usr/bin/env bash
# The edge is killed (SIGKILL) in the middle of a transfer: the session on the dead edge ends at
# once with a clear error (no hang), the connector is back within 2 s of the edge listening again,
# and bytes that were delivered are exactly right.
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
t0=$(now_ms)
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

test_case "the connector is back within 2 s of the edge listening again"
sleep 0.5
start_edge
t0=$(now_ms)
wait_for 2 _registered_at_least host1 $((before + 1)) || fail "no registration within 2 s"
step "first connection registered $(($(now_ms) - t0)) ms after the edge was ready"
out=$(bssh "$host" 'echo ok') || fail "ssh after the restart exited $?"
assert_eq ok "$out"
pass

test_case "a killed connector makes the edge answer 502 at once"
stop_pid "$CONNECTOR_PID" KILL
t0=$(now_ms)
rc=0
bssh "$host" 'echo no' >/dev/null || rc=$?
assert_ne 0 "$rc" "ssh exit status"
assert_contains "$(tail -n 3 "$LOGS/ssh.err")" "502" "client's error line"
[ $(($(now_ms) - t0)) -lt 5000 ] || fail "refusal took $(($(now_ms) - t0)) ms"
pass
