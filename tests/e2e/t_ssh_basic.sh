#!/usr/bin/env bash
# OpenSSH through burrow as ProxyCommand with a service token: the command runs, its output, exit
# status and EOF come back, and the token may come from the environment instead of flags.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
proxy="$BURROW access ssh --hostname %h --id $ID --secret $SECRET"

test_case "ssh -o ProxyCommand='burrow access ssh --hostname %h --id --secret' runs 'echo ok'"
t0=$(now_ms)
out=$(bssh -o ProxyCommand="$proxy" "$SSH_USER@ssh.site.test" 'echo ok') ||
  fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
ms=$(($(now_ms) - t0))
assert_eq ok "$out" "remote output"
step "session took $ms ms"
[ "$ms" -lt 10000 ] || fail "a one-line session took $ms ms (limit 10 s)"
pass

test_case "the remote exit status (7) is ssh's exit status"
rc=0
bssh -o ProxyCommand="$proxy" "$SSH_USER@ssh.site.test" 'exit 7' || rc=$?
assert_eq 7 "$rc" "exit status"
pass

test_case "stdin reaches the remote command and its EOF ends it"
out=$(printf 'line one\nline two\n' | bssh -o ProxyCommand="$proxy" "$SSH_USER@ssh.site.test" 'cat; echo done') ||
  fail "ssh exited $?"
assert_eq $'line one\nline two\ndone' "$out" "echoed input"
pass

test_case "BURROW_SERVICE_TOKEN_ID/SECRET replace --id/--secret"
out=$(BURROW_SERVICE_TOKEN_ID=$ID BURROW_SERVICE_TOKEN_SECRET=$SECRET \
  bssh -o ProxyCommand="$BURROW access ssh --hostname %h" "$SSH_USER@ssh.site.test" 'echo ok') ||
  fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass
