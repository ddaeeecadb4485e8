#!/usr/bin/env bash
# `burrow admin tunnel delete` of a tunnel whose connector is connected: the edge closes all of its
# connections at once, which ends the sessions on them; the connector's redial is refused and it
# exits non-zero saying its credentials were rejected; the tunnel's routes are gone, and a new
# session to its hostname is refused with 502.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack

test_case "deleting a connected tunnel ends its open session within 5 s"
bssh "$SSH_USER@ssh.site.test" 'sleep 60; echo never' >"$T/long.out" 2>&1 &
LONG=$!
wait_for 10 grep -q "session service token ci -> ssh.site.test .* started" "$LOGS/edge.log" ||
  fail "the long session did not start"
admin tunnel delete host1 >/dev/null
t0=$(now_ms)
wait_for 5 bash -c "! kill -0 $LONG 2>/dev/null" || fail "the session on the deleted tunnel still runs 5 s later"
step "session ended $(($(now_ms) - t0)) ms after the delete"
rc=0
wait "$LONG" || rc=$?
assert_ne 0 "$rc" "ssh exit status of the cut session"
assert_not_contains "$(cat "$T/long.out")" never "the cut session's output"
pass

test_case "the edge closed all 4 of the tunnel's connections"
closed() { [ "$(grep -c 'tunnel host1 was deleted: closing its connection' "$LOGS/edge.log")" -eq 4 ]; }
wait_for 5 closed || fail "edge.log shows $(grep -c 'tunnel host1 was deleted: closing its connection' "$LOGS/edge.log") of 4 connections closed"
pass

test_case "the connector exits non-zero within 15 s: its credentials are rejected"
wait_for 15 bash -c "! kill -0 $CONNECTOR_PID 2>/dev/null" || fail "the connector of the deleted tunnel still runs 15 s later"
rc=0
wait "$CONNECTOR_PID" || rc=$?
step "connector exit $rc: $(tail -n 2 "$LOGS/connector-host1.err" | tr '\n' '|')"
assert_ne 0 "$rc" "connector exit status"
line=$(grep '^burrow: ' "$LOGS/connector-host1.err" || true)
assert_eq 1 "$(grep -c '^burrow: ' "$LOGS/connector-host1.err")" "'burrow: ' lines of the connector"
assert_contains "$line" "tunnel credentials rejected" "the connector's last word"
pass

test_case "the route is gone and a new session to ssh.site.test is refused with 502"
routes=$(admin route list)
assert_not_contains "$routes" "ssh.site.test" "burrow admin route list"
rc=0
timeout 15 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'echo reached' >"$T/new.out" 2>"$T/new.err" || rc=$?
cat "$T/new.err" >>"$LOGS/ssh.err"
assert_ne 0 "$rc" "ssh exit status"
assert_eq "burrow: ssh.site.test: edge refused the session (502 Bad Gateway): no tunnel serves ssh.site.test: route it with burrow admin route add TUNNEL ssh.site.test" \
  "$(grep '^burrow: ' "$T/new.err")" "the client's line"
pass
