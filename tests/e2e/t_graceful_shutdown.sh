#!/usr/bin/env bash
# SIGTERM to the connector: no new sessions, open ones finish, then it exits 0.
. "$(dirname "$0")/lib.sh"

start_stack

test_case "an open session finishes after the connector gets SIGTERM"
bssh "$SSH_USER@ssh.site.test" 'sleep 2; echo finished' >"$T/long.out" 2>&1 &
LONG=$!
wait_for 10 grep -q "session service token ci -> ssh.site.test .* started" "$LOGS/edge.log" ||
  fail "the long session did not start"
kill -TERM "$CONNECTOR_PID"
t0=$(now_ms)
wait "$LONG" || fail "the open session failed after SIGTERM: $(cat "$T/long.out")"
assert_eq finished "$(cat "$T/long.out")" "open session output"
pass

test_case "the connector exits 0 once its sessions are done"
rc=0
wait_for 10 bash -c "! kill -0 $CONNECTOR_PID 2>/dev/null" || fail "connector still running 10 s after its last session"
wait "$CONNECTOR_PID" || rc=$?
step "connector exited $(($(now_ms) - t0)) ms after SIGTERM"
assert_eq 0 "$rc" "connector exit status"
pass

test_case "with the connector gone, a new session is refused quickly with 502"
t0=$(now_ms)
rc=0
bssh "$SSH_USER@ssh.site.test" 'echo no' >/dev/null 2>"$T/new.err" || rc=$?
assert_ne 0 "$rc" "ssh exit status"
[ $(($(now_ms) - t0)) -lt 10000 ] || fail "refusal took $(($(now_ms) - t0)) ms"
assert_contains "$(cat "$LOGS/ssh.err")" "502" "burrow's error line"
pass
