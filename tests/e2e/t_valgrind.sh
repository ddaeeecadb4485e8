#!/usr/bin/env bash
# The core path under valgrind (release build, no sanitizers): edge, connector and client carry an
# ssh session with 1 MiB each way; then every process reports no invalid access and no leak.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

REL=$REPO/build
[ -x "$REL/burrow" ] && [ -x "$REL/burrow-edge" ] || fail "missing release build in $REL (make all)"
command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/install-deps)"
cat >"$T/vg-burrow" <<SH
#!/bin/sh
exec valgrind --quiet --trace-children=yes --error-exitcode=99 --leak-check=full \
  --suppressions=$REPO/tests/valgrind.supp \
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$LOGS/valgrind-%p.log \
  $REL/burrow "\$@"
SH
chmod +x "$T/vg-burrow"
BURROW=$T/vg-burrow
SSH_TIMEOUT=120

start_sshd
start_edge
setup_service_token
create_tunnel host1
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT" 1
ssh_cfg
head -c 1M /dev/urandom >"$T/blob"

test_case "an ssh session with 1 MiB each way works under valgrind"
got=$(bssh "$SSH_USER@ssh.site.test" "sha256sum; head -c 1048576 /dev/zero" <"$T/blob" | head -c 64) ||
  fail "ssh exited $?"
assert_eq "$(sha "$T/blob")" "$got" "sha256 of the upload"
pass

test_case "edge, connector and client: no invalid reads or writes, no definite leaks"
stop_pid "$CONNECTOR_PID" TERM 30
stop_pid "$EDGE_PID" TERM 30
bad=$(grep -l -E "Invalid (read|write)|uninitialised|definitely lost|Mismatched free|Invalid free" \
  "$LOGS"/valgrind-*.log 2>/dev/null || true)
[ -z "$bad" ] || fail "valgrind reports in: $bad: $(grep -h -m3 -E 'Invalid|uninitialised|definitely' $bad)"
n=$(ls "$LOGS"/valgrind-*.log 2>/dev/null | wc -l)
[ "$n" -ge 3 ] || fail "expected valgrind logs of edge, connector and client, found $n"
pass
