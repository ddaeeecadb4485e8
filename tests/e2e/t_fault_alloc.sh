#!/usr/bin/env bash
# Allocation failures in session set-up (issue 25, review finding): with injected failures (the test
# build's BURROW_FAULTS, src/core/fault.h) in the edge's connection, parser, CONNECT stream and relay
# allocations, 24 ssh sessions in a row each either work or fail with one clear line, never
# hang; the edge never touches freed memory (ASan would abort it and the sanitizer scan fail the test),
# keeps no session or unauthenticated connection counted afterwards, and then serves everyone again.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

grep -qa BURROW_FAULTS "$BUILD/burrow-edge" ||
  skip "this build has no injected failures (make test builds them; release builds do not)"
EDGE_METRICS_PORT=$(free_port)
BURROW_FAULTS="relay_start:3,connect_submit:5,front_alloc:7,parser_alloc:11" start_stack

test_case "24 sessions with every 3rd relay, 5th CONNECT, 7th connection and 11th parser allocation failing"
ok=0 failed=0
for i in $(seq 1 24); do
  rc=0
  out=$(timeout 20 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" "echo ok$i" 2>"$T/ssh$i.err") || rc=$?
  if [ "$rc" -eq 0 ] && [ "$out" = "ok$i" ]; then
    ok=$((ok + 1))
  elif [ "$rc" -eq 124 ]; then
    fail_continue "session $i hung (20 s)"
  else
    failed=$((failed + 1))
  fi
done
step "$ok worked, $failed failed"
_alive "$EDGE_PID" || fail "the edge died: $(tail -n 3 "$LOGS/edge.err")"
[ "$ok" -ge 8 ] || fail_continue "only $ok of 24 sessions worked"
[ "$failed" -ge 4 ] || fail_continue "only $failed of 24 sessions failed: were the faults injected?"
n503=$(grep -l 'edge refused the session (503' "$T"/ssh*.err 2>/dev/null | wc -l)
[ "$n503" -ge 1 ] || fail_continue "no client said 'edge refused the session (503 ...)' for a failed CONNECT"
pass

test_case "afterwards: no session or unauthenticated connection is still counted, and the admin API answers"
wait_for 10 bash -c "[ \"\$(curl -fsS --max-time 5 http://127.0.0.1:$EDGE_METRICS_PORT/metrics | awk '\$1 == \"burrow_edge_sessions_active\" { print \$2 }')\" = 0 ]" ||
  fail_continue "burrow_edge_sessions_active is $(edge_metric burrow_edge_sessions_active), expected 0"
wait_for 10 unauth_released || fail_continue "unauthenticated connections still counted"
apps=$(admin app list) || true
assert_contains "$apps" ssh "burrow admin app list"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo fine') || true
[ "$out" = fine ] || out=$(bssh "$SSH_USER@ssh.site.test" 'echo fine') || true
assert_eq fine "$out" "ssh (a second try if the first met an injected failure)"
pass
