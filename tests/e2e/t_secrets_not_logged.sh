#!/usr/bin/env bash
# With debug logging on edge and connector, after a full session (admin calls, tunnel, a refused and
# an accepted ssh), no log or stderr holds the service token secret, a presented wrong secret, the
# tunnel secret or the admin token; the store keeps none of the secrets in the clear.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # read by start_edge and start_connector
LOGLEVEL=debug
start_stack
tunnel_secret=$(json_get tunnel_secret <"$T/host1.json")
wrong_secret=$(printf 'f%.0s' $(seq 1 64))
[ -n "$tunnel_secret" ] || fail "no tunnel_secret in $T/host1.json"

test_case "a full session runs with debug logs on edge and connector"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
timeout 15 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $ID --secret $wrong_secret" \
  "$SSH_USER@ssh.site.test" true 2>>"$LOGS/ssh.err" && fail "a wrong secret got through"
admin app list >/dev/null
admin service-token list >/dev/null
[ "$(wc -l <"$LOGS/edge.log")" -ge 5 ] || fail "edge debug log has fewer than 5 lines"
[ "$(registered_count host1)" -ge 1 ] || fail "connector log has no 'registered connection'"
pass

# logs_without WHAT VALUE
logs_without() {
  local hits
  test_case "no log holds the $1"
  hits=$(grep -rlaF -- "$2" "$LOGS" || true)
  if [ -n "$hits" ]; then fail_continue "found in: $(echo "$hits" | xargs -n1 basename | tr '\n' ' ')"; else pass; fi
}
logs_without "service token secret" "$SECRET"
logs_without "wrong secret a client presented" "$wrong_secret"
logs_without "tunnel secret" "$tunnel_secret"
logs_without "admin token" "$BURROW_ADMIN_TOKEN"

test_case "the store keeps no service token or tunnel secret in the clear"
[ -s "$EDGE_DIR/burrow.db" ] || fail "no $EDGE_DIR/burrow.db"
hits=$(grep -laF -e "$SECRET" -e "$tunnel_secret" "$EDGE_DIR"/burrow.db* || true)
[ -z "$hits" ] || fail "found in: $hits"
pass

test_case "tunnel create --output writes the credentials file with mode 0600"
admin tunnel create host9 --output "$T/host9.json" >/dev/null
assert_eq 600 "$(stat -c %a "$T/host9.json")" "mode of host9.json"
[ -n "$(json_get tunnel_secret <"$T/host9.json")" ] || fail "no tunnel_secret in host9.json"
pass
