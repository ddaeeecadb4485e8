#!/usr/bin/env bash
# The edge cannot grow its database (a file size limit stands in for a full disk): admin writes fail
# with a clear 500 and change nothing, while reads, existing configuration and ssh keep working.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

REAL=$BURROW
# Every burrow process of this test may write at most 300 KB per file: the edge's WAL hits that
# after a few dozen admin writes.
cat >"$T/limited-burrow" <<SH
#!/bin/sh
exec prlimit --fsize=300000 $REAL "\$@"
SH
chmod +x "$T/limited-burrow"
BURROW=$T/limited-burrow
start_stack
BURROW=$REAL

test_case "admin writes fail with 500 and a one-line reason once the store cannot grow"
failed_at=""
for i in $(seq 1 400); do
  if ! "$BURROW" admin app create --name "app$i" --hostname "h$i.site.test" >/dev/null 2>"$T/err"; then
    failed_at=$i
    break
  fi
done
[ -n "$failed_at" ] || fail "400 app creations all succeeded: the size limit did not bite"
step "the store refused write number $failed_at"
err=$(cat "$T/err")
assert_contains "$err" "(500)" "admin's error line"
assert_contains "$err" "store failure" "admin's error line"
assert_contains "$err" "disk space" "admin's error line"
pass

test_case "the failed write changed nothing and reads still work"
list=$("$BURROW" admin app list 2>&1) || fail "app list failed: $list"
assert_not_contains "$list" "app$failed_at " "app list"
assert_contains "$list" "ssh.site.test" "app list"
pass

test_case "the edge keeps serving ssh with the state it has"
_alive "$EDGE_PID" || fail "the edge died"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?"
assert_eq ok "$out"
pass
