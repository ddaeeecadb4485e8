#!/usr/bin/env bash
# Deleting through the admin CLI takes effect at once for new sessions and in the lists:
# `burrow admin policy delete ID` leaves the service token with 403 (no policy of app "ssh" allows it)
# and the policy gone from `policy list`; `burrow admin app delete NAME` leaves its hostname with 404
# "unknown hostname ..." and the app and its policies gone from the lists, other apps untouched.
# `burrow admin tunnel delete NAME` drops its route and ends its running connector (exit 1, "refused
# registration: tunnel credentials rejected ..."). Deleting what does not exist exits non-zero with one
# clear line naming it.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack # app "ssh" (ssh.site.test), token "ci", a service_auth policy naming it, connector
# A second app with its own policy, which no delete below may touch.
admin app create --name other --hostname other.site.test >/dev/null
admin policy add --app other --action service_auth --include service-token=ci --name other-ci >/dev/null
mkfifo "$T/stdin"
exec 8<>"$T/stdin" # stdin for the direct client: open, never written

# policy_ids APP: the ids in `burrow admin policy list` whose APP column is APP (header skipped).
policy_ids() { admin policy list | awk -v a="$1" 'NR > 1 && $2 == a { print $1 }'; }
# app_names: the NAME column of `burrow admin app list`.
app_names() { admin app list | awk 'NR > 1 { print $1 }'; }

# refused_with HOST LINE: `burrow access ssh --hostname HOST` with the "ci" token exits non-zero
# within 10 s and its stderr is exactly LINE.
refused_with() {
  local host=$1 want=$2 rc=0 t0 ms
  t0=$(now_ms)
  timeout 15 "$BURROW" access ssh --hostname "$host" --id "$ID" --secret "$SECRET" \
    <"$T/stdin" >/dev/null 2>"$T/client.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/client.err" >>"$LOGS/client.err"
  step "client exit $rc after $ms ms: $(tr '\n' '|' <"$T/client.err" | cut -c1-300)"
  [ "$rc" -ne 124 ] || fail "client still running after 15 s"
  [ "$rc" -ne 0 ] || fail "client exit status 0"
  [ "$ms" -lt 10000 ] || fail "client took $ms ms to fail"
  assert_eq "$want" "$(cat "$T/client.err")" "client's stderr"
}

# admin_fails WANT-LINE ARGS...: burrow admin ARGS exits non-zero with nothing on stdout and
# exactly WANT-LINE on stderr.
admin_fails() {
  local want=$1 rc=0
  shift
  "$BURROW" admin "$@" >"$T/admin.out" 2>"$T/admin.err" || rc=$?
  cat "$T/admin.err" >>"$LOGS/admin.err"
  step "burrow admin $*: exit $rc: $(tr '\n' '|' <"$T/admin.err" | cut -c1-300)"
  [ "$rc" -ne 0 ] || fail "burrow admin $* exited 0: $(head -c 200 "$T/admin.out")"
  [ ! -s "$T/admin.out" ] || fail "burrow admin $* printed on stdout: $(head -c 200 "$T/admin.out")"
  assert_eq "$want" "$(cat "$T/admin.err")" "burrow admin $*: stderr"
}

test_case "before any delete: ssh through burrow works, policy list shows app ssh's policy"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
mapfile -t ids < <(policy_ids ssh)
assert_eq 1 "${#ids[@]}" "policies of app ssh listed"
POLICY=${ids[0]}
assert_match "$POLICY" '^[0-9a-f-]{36}$' "policy id"
pass

test_case "policy delete ID: exit 0, 'Policy ID deleted.', gone from policy list, app other's policy kept"
out=$(admin policy delete "$POLICY")
assert_eq "Policy $POLICY deleted." "$out" "output"
assert_eq "" "$(policy_ids ssh)" "policies of app ssh listed after the delete"
assert_eq 1 "$(policy_ids other | grep -c .)" "policies of app other listed"
pass

test_case "after policy delete the service token gets 403: no policy of app \"ssh\" allows it"
refused_with ssh.site.test \
  'burrow: ssh.site.test: edge refused the session (403 Forbidden): no policy of app "ssh" allows service token "ci"'
pass

test_case "policy delete of that id again: non-zero exit, says no such policy"
admin_fails "burrow: admin: policy delete failed (404): no policy with id \"$POLICY\"" policy delete "$POLICY"
pass

test_case "app delete ssh (with a policy again): exit 0, says so, app and its policies gone from the lists"
admin policy add --app ssh --action service_auth --include service-token=ci >/dev/null
[ -n "$(policy_ids ssh)" ] || fail "the new policy of app ssh is not listed"
out=$(admin app delete ssh)
assert_match "$out" '^App "ssh" deleted \(id [0-9a-f-]{36}\), with its policies\.$' "output"
assert_eq other "$(app_names | tr '\n' ' ' | sed 's/ $//')" "apps listed"
assert_eq "" "$(policy_ids ssh)" "policies of app ssh listed after the app's delete"
assert_eq 1 "$(policy_ids other | grep -c .)" "policies of app other listed"
pass

test_case "after app delete its hostname gets 404: unknown hostname ssh.site.test"
refused_with ssh.site.test \
  'burrow: ssh.site.test: edge refused the session (404 Not Found): unknown hostname ssh.site.test: no application is configured for it'
pass

test_case "the other app still passes the edge's checks (502: no tunnel serves it)"
refused_with other.site.test \
  'burrow: other.site.test: edge refused the session (502 Bad Gateway): no tunnel serves other.site.test: route it with burrow admin route add TUNNEL other.site.test'
pass

test_case "app delete of an app that does not exist: non-zero exit, says no such app"
admin_fails 'burrow: admin: app delete failed (404): no app named "ssh"' app delete ssh
pass

# The tunnel: its running connector (host1, 4 connections) must stop, its route must go.
test_case "before tunnel delete: tunnel list shows host1, route list routes ssh.site.test to it"
assert_eq host1 "$(admin tunnel list | awk 'NR > 1 { print $1 }')" "tunnels listed"
assert_eq "ssh.site.test host1" "$(admin route list | awk 'NR > 1 { print $1, $2 }')" "routes listed"
_alive "${CONNECTOR_PIDS[host1]}" || fail "connector host1 is not running"
pass

test_case "tunnel delete host1: exit 0, says so, tunnel and its route gone from the lists"
out=$(admin tunnel delete host1)
assert_match "$out" '^Tunnel "host1" deleted \(id [0-9a-f-]{36}\), with its routes\.$' "output"
assert_eq "" "$(admin tunnel list | awk 'NR > 1 { print $1 }')" "tunnels listed"
assert_eq "" "$(admin route list | awk 'NR > 1 { print $1, $2 }')" "routes listed"
pass

test_case "the deleted tunnel's running connector ends within 10 s, exit 1, saying its credentials were rejected"
pid=${CONNECTOR_PIDS[host1]}
wait_for 10 eval '! _alive '"$pid" || fail "connector host1 still running 10 s after its tunnel was deleted"
rc=0
wait "$pid" || rc=$?
assert_eq 1 "$rc" "the connector's exit status"
want="burrow: tunnel: edge 127.0.0.1:$EDGE_TUNNEL_PORT refused registration: tunnel credentials rejected: unknown tunnel or wrong secret"
step "connector stderr: $(tr '\n' '|' <"$LOGS/connector-host1.err" | cut -c1-400)"
assert_eq "$want" "$(grep '^burrow: ' "$LOGS/connector-host1.err" | sort -u)" "the connector's 'burrow: ' lines"
pass

test_case "tunnel delete of that tunnel again: non-zero exit, says no such tunnel"
admin_fails 'burrow: admin: tunnel delete failed (404): no tunnel named "host1"' tunnel delete host1
pass
