#!/usr/bin/env bash
# Sessions are bound to what allowed them: a live ssh session ends within 2 s (measured: tens of
# ms) of its service token's revocation, its policy's or application's deletion, or its tunnel's
# deletion; when its token expires or its application's session duration runs out (checked every
# second). The client prints one line naming the cause ("burrow: HOST: session ended by the edge:
# service token r1 revoked"), ssh exits non-zero, and the remote command's later output never
# arrives. A session still allowed is untouched by changes that do not concern it.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_sshd
start_edge
admin app create --name ssh --hostname ssh.site.test >/dev/null
admin app create --name gone --hostname gone.site.test >/dev/null
admin app create --name dur --hostname dur.site.test --session-duration 3s >/dev/null
admin app create --name td --hostname td.site.test >/dev/null
for t in keep r1 p1; do create_service_token "$t"; done
admin policy add --app ssh --action service_auth --include service-token=keep --include service-token=r1 >/dev/null
P1=$(admin policy add --app ssh --action service_auth --include service-token=p1 --json | json_get id)
for a in gone dur td; do admin policy add --app "$a" --action service_auth --include service-token=keep >/dev/null; done
create_tunnel host1 ssh.site.test dur.site.test gone.site.test
create_tunnel host2 td.site.test
URL=ssh://localhost:$SSHD_PORT
start_connector host1 ssh.site.test "$URL" 1 --hostname dur.site.test --url "$URL" --hostname gone.site.test --url "$URL"
start_connector host2 td.site.test "$URL" 1
ssh_cfg

declare -A SPID=()
# session NAME TOKEN HOST CMD: ssh through burrow with TOKEN's credentials in the background;
# stdout in $T/NAME.out, stderr in $T/NAME.err; waits until the edge logs it started.
session() {
  local name=$1 tok=$2 host=$3 remote=$4 id secret n0
  id=$(json_get client_id <"$T/token-$tok.json") secret=$(json_get client_secret <"$T/token-$tok.json")
  n0=$(grep -c "session service token $tok -> $host .* started" "$LOGS/edge.log" || true)
  timeout 60 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $id --secret $secret" \
    "$SSH_USER@$host" "$remote" >"$T/$name.out" 2>"$T/$name.err" &
  SPID[$name]=$!
  _started() { [ "$(grep -c "session service token $1 -> $2 .* started" "$LOGS/edge.log")" -gt "$3" ]; }
  wait_for 15 _started "$tok" "$host" "$n0" || fail "session $name ($tok -> $host) did not start: $(cat "$T/$name.err")"
}

# ended NAME LINE BOUND_MS T0: session NAME ended within BOUND_MS of T0 (ms), exit non-zero, no
# "late" output, and its stderr holds exactly the one "burrow: " line LINE.
ended() {
  local name=$1 want=$2 bound=$3 t0=$4 rc=0 ms
  wait_for $(((bound + 999) / 1000 + 5)) bash -c "! kill -0 ${SPID[$name]} 2>/dev/null" ||
    fail "session $name still runs $((bound / 1000 + 5)) s later"
  ms=$(($(now_ms) - t0))
  wait "${SPID[$name]}" || rc=$?
  cat "$T/$name.err" >>"$LOGS/ssh.err"
  step "session $name ended after $ms ms, exit $rc: $(tr '\n' '|' <"$T/$name.err")"
  [ "$ms" -le "$bound" ] || fail "session $name ended $ms ms after the change (bound $bound ms)"
  assert_ne 0 "$rc" "ssh exit status of $name"
  assert_not_contains "$(cat "$T/$name.out")" late "output of $name"
  assert_eq "$want" "$(grep '^burrow: ' "$T/$name.err")" "the client's line for $name"
}

test_case "service-token revoke ends the token's live session within 2 s, naming the token"
session keep1 keep ssh.site.test 'sleep 12; echo late-but-allowed'
session r1 r1 ssh.site.test 'sleep 30; echo late'
admin service-token revoke r1 >/dev/null
ended r1 "burrow: ssh.site.test: session ended by the edge: service token r1 revoked" 2000 "$(now_ms)"
_alive "${SPID[keep1]}" || fail "the session of token keep ended too: $(cat "$T/keep1.err")"
pass

test_case "policy delete ends the sessions it allowed, with the policy's verdict"
session p1 p1 ssh.site.test 'sleep 30; echo late'
admin policy delete "$P1" >/dev/null
ended p1 'burrow: ssh.site.test: session ended by the edge: no policy of app "ssh" allows service token "p1"' 2000 "$(now_ms)"
pass

test_case "app delete ends the app's sessions, not another app's"
session gone keep gone.site.test 'sleep 30; echo late'
admin app delete gone >/dev/null
ended gone "burrow: gone.site.test: session ended by the edge: application for gone.site.test deleted" 2000 "$(now_ms)"
_alive "${SPID[keep1]}" || fail "the session of app ssh ended too: $(cat "$T/keep1.err")"
pass

test_case "tunnel delete ends its sessions, naming the tunnel"
session td keep td.site.test 'sleep 30; echo late'
admin tunnel delete host2 >/dev/null
ended td "burrow: td.site.test: session ended by the edge: tunnel host2 deleted" 2000 "$(now_ms)"
pass

test_case "a session still allowed finishes normally through all of that"
rc=0
wait "${SPID[keep1]}" || rc=$?
assert_eq 0 "$rc" "ssh exit status of the allowed session"
assert_eq late-but-allowed "$(cat "$T/keep1.out")" "its output"
assert_eq "" "$(grep '^burrow: ' "$T/keep1.err" || true)" "its burrow lines"
pass

test_case "an app's --session-duration 3s ends a live session at 3 s"
session dur keep dur.site.test 'sleep 30; echo late'
t0=$(now_ms)
ended dur "burrow: dur.site.test: session ended by the edge: session duration of app dur (3s) ran out" 6000 "$t0"
ms=$(($(now_ms) - t0))
[ "$ms" -ge 1500 ] || fail "the session ended after $ms ms, before its 3 s"
pass

test_case "a service token that expires (--duration 4s) ends its live session"
admin service-token create --name e1 --duration 4s --json >"$T/token-e1.json"
admin policy add --app ssh --action service_auth --include service-token=e1 >/dev/null
session e1 e1 ssh.site.test 'sleep 30; echo late'
t0=$(now_ms)
ended e1 "burrow: ssh.site.test: session ended by the edge: service token e1 expired" 7000 "$t0"
pass

test_case "each end is in the edge's log with its reason"
for why in "service token r1 revoked" "tunnel host2 deleted" "application for gone.site.test deleted" \
  "session duration of app dur (3s) ran out" "service token e1 expired"; do
  grep -q "ended by the edge: $why\$" "$LOGS/edge.log" || fail "edge.log does not say '$why'"
done
pass
