#!/usr/bin/env bash
# SIGTERM to the connector: it takes no new sessions (the edge refuses them with 502 at once), lets
# open ones finish, then exits 0; one still open when --grace-period ends is closed and the
# connector exits 0 then, not when the session would have ended.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack

# refused_502 ERRFILE: ssh to ssh.site.test fails within 10 s with one "burrow: " line that says
# 502 Bad Gateway. Sets REASON when not.
refused_502() {
  local rc=0 t0 ms line
  t0=$(now_ms)
  timeout 15 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'echo reached' >"$T/new.out" 2>"$1" || rc=$?
  cat "$1" >>"$LOGS/ssh.err"
  ms=$(($(now_ms) - t0))
  step "new session: exit $rc after $ms ms: $(tr '\n' '|' <"$1")"
  line=$(grep '^burrow: ' "$1" || true)
  if [ "$rc" -eq 0 ]; then
    REASON="the new session was served (printed '$(cat "$T/new.out")')"
  elif [ "$ms" -ge 10000 ]; then
    REASON="the refusal took $ms ms"
  elif [ "$(grep -c '' <<<"$line")" -ne 1 ] || [[ $line != "burrow: ssh.site.test: edge refused the session (502 Bad Gateway): "* ]]; then
    REASON="expected one 'burrow: ssh.site.test: edge refused the session (502 Bad Gateway): ...' line, got: $(tr '\n' '|' <"$1")"
  else
    return 0
  fi
  return 1
}

# got_sigterm NAME: connector NAME's log says SIGTERM was received.
got_sigterm() { grep -q 'received SIGTERM: no new sessions' "$LOGS/connector-$1.log"; }

test_case "after SIGTERM a new session is refused with 502 while an open one still runs"
bssh "$SSH_USER@ssh.site.test" 'sleep 4; echo finished' >"$T/long.out" 2>&1 &
LONG=$!
wait_for 10 grep -q "session service token ci -> ssh.site.test .* started" "$LOGS/edge.log" ||
  fail "the long session did not start"
kill -TERM "$CONNECTOR_PID"
t0=$(now_ms)
wait_for 5 got_sigterm host1 || fail "the connector did not log the SIGTERM"
if ! refused_502 "$T/new.err"; then fail_continue "$REASON"; else
  _alive "$LONG" || fail "the open session ended before the new one was tried: $(cat "$T/long.out")"
  pass
fi

test_case "the open session finishes intact after the connector gets SIGTERM"
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
if refused_502 "$T/gone.err"; then pass; else fail_continue "$REASON"; fi

test_case "--grace-period 2s: a session still open is closed and the connector exits 0 within 2-8 s"
cp "$T/host1.json" "$T/grace.json"
start_connector grace ssh.site.test "ssh://localhost:$SSHD_PORT" 1 --grace-period 2s
GRACE_PID=$CONNECTOR_PID
n0=$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log" || true)
bssh "$SSH_USER@ssh.site.test" 'sleep 60; echo never' >"$T/grace.out" 2>&1 &
LONG=$!
started() { [ "$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log")" -gt "$n0" ]; }
wait_for 10 started || fail "the long session did not start"
kill -TERM "$GRACE_PID"
t0=$(now_ms)
# The bound: 2 s of grace, plus up to 6 s for a loaded machine; the session would run 60 s.
wait_for 12 bash -c "! kill -0 $GRACE_PID 2>/dev/null" || fail "connector still running 12 s after SIGTERM with --grace-period 2s"
ms=$(($(now_ms) - t0))
rc=0
wait "$GRACE_PID" || rc=$?
step "connector exited $rc after $ms ms"
[ "$ms" -ge 1900 ] || fail "the connector exited after $ms ms, before its 2 s grace period ended"
[ "$ms" -le 8000 ] || fail "the connector took $ms ms to exit, 2 s grace period"
assert_eq 0 "$rc" "connector exit status"
wait_for 10 bash -c "! kill -0 $LONG 2>/dev/null" || fail "the open session outlived the connector by 10 s"
rc=0
wait "$LONG" || rc=$?
assert_ne 0 "$rc" "exit status of the cut session"
assert_not_contains "$(cat "$T/grace.out")" never "the cut session's output"
assert_contains "$(cat "$LOGS/connector-grace.log")" "grace period over; closing remaining sessions" "connector log"
pass
