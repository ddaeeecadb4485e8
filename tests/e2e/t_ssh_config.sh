#!/usr/bin/env bash
# burrow access ssh-config prints a Host block whose ProxyCommand is this burrow, and that block
# works as is in an ssh_config (service token from the environment).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow

test_case "ssh-config prints 'Host ssh.site.test'"
out=$("$BURROW" access ssh-config --hostname ssh.site.test 2>>"$LOGS/cli.err") || fail "exit $?: $(tail -n 2 "$LOGS/cli.err")"
printf '%s\n' "$out" >"$T/block"
step "printed: $(tr '\n' '|' <"$T/block")"
assert_match "$out" '^Host ssh\.site\.test[[:space:]]*$' "ssh-config output"
pass

test_case "its ProxyCommand is '<absolute path>/burrow access ssh --hostname %h' and runs this burrow"
pc=$(grep -E '^[[:space:]]*ProxyCommand[[:space:]]' "$T/block" || true)
[ "$(printf '%s' "$pc" | grep -c '^')" -eq 1 ] || fail "expected one ProxyCommand line, got: '$pc'"
assert_match "$pc" '^[[:space:]]*ProxyCommand[[:space:]]+/[^[:space:]]*/burrow access ssh --hostname %h[[:space:]]*$' "ProxyCommand line"
path=$(printf '%s\n' "$pc" | awk '{print $2}')
[ -x "$path" ] || fail "$path is not executable"
[ "$path" -ef "$BURROW" ] || fail "$path is not $BURROW"
pass

test_case "the printed block, pasted into an ssh_config, gets ssh through burrow"
start_sshd
start_edge
setup_service_token
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
SSH_CFG=$T/ssh_config.pasted
ssh_config_write "$T/base_config" "$SSH_KEY"
cat "$T/block" "$T/base_config" >"$SSH_CFG"
out=$(BURROW_SERVICE_TOKEN_ID=$ID BURROW_SERVICE_TOKEN_SECRET=$SECRET bssh "$SSH_USER@ssh.site.test" 'echo ok') ||
  fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass
