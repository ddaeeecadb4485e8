#!/usr/bin/env bash
# Routes are bound by the admin (issue 25, part 4): a connector serves only hostnames routed to its
# own tunnel; tunnel credentials claim nothing. A second tunnel's connector asking for a hostname
# routed to host1, or for an unrouted one, is refused with one line saying what to do, gives up at
# once (no retry storm), and host1 keeps serving. After `burrow admin route add host2 git.site.test`
# host2's connector (the seed one-liner `burrow tunnel --hostname H --url U`) serves it. `route
# delete` ends the sessions on the hostname within a second, naming the deletion; the tunnel's
# connector stays, so `route add` brings the hostname back at once. The admin API's refusals (404
# unknown tunnel, 409 naming the owner, 400 not a hostname, 404 no route) are one line each, and
# `tunnel create --hostname` binds all its routes or creates nothing.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack # host1 serves ssh.site.test (routed at tunnel create)
admin app create --name git --hostname git.site.test >/dev/null
admin policy add --app git --action service_auth --include service-token=ci >/dev/null
create_tunnel host2 # no routes yet
HOST1_PID=${CONNECTOR_PIDS[host1]}

# routes: "hostname tunnel" lines of burrow admin route list.
routes() { admin route list | awk 'NR > 1 { print $1, $2 }' | tr '\n' ',' | sed 's/,$//'; }

# host1_serves: host1's connector runs, kept its 4 connections, and ssh through it works.
host1_serves() {
  local out
  _alive "$HOST1_PID" || { REASON="host1's connector exited: $(tail -n 2 "$LOGS/connector-host1.err")"; return 1; }
  out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || true
  [ "$out" = ok ] || { REASON="ssh to ssh.site.test failed: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"; return 1; }
  if grep -qE 'to edge .* (lost|failed)' "$LOGS/connector-host1.log"; then
    REASON="host1's connector lost a connection: $(grep -m1 -E 'to edge .* (lost|failed)' "$LOGS/connector-host1.log")"
    return 1
  fi
}

# refused_host2 TITLE LINE HOSTNAME: host2's connector (4 connections) asking for HOSTNAME exits 1
# within 10 s with exactly LINE on stderr and in its log; the edge refused at most its 4
# registrations (no retries); the routes are unchanged; host1 still serves.
refused_host2() {
  local title=$1 want=$2 host=$3 rc=0 t0 ms refused0 refused
  test_case "$title"
  refused0=$(grep -c 'refused: hostname' "$LOGS/edge.log" || true)
  t0=$(now_ms)
  timeout 20 "$BURROW" tunnel run --credentials-file "$T/host2.json" --hostname "$host" \
    --url "ssh://localhost:$SSHD_PORT" --edge "127.0.0.1:$EDGE_TUNNEL_PORT" \
    --logfile "$LOGS/refused.log" --loglevel "$LOGLEVEL" >"$T/refused.out" 2>"$T/refused.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/refused.err" >>"$LOGS/refused.err"
  refused=$(($(grep -c 'refused: hostname' "$LOGS/edge.log" || true) - refused0))
  step "connector exit $rc after $ms ms, $refused registrations refused: $(tr '\n' '|' <"$T/refused.err")"
  if [ "$rc" -ne 1 ]; then
    fail_continue "the connector exited $rc, expected 1"
  elif [ "$ms" -ge 10000 ]; then
    fail_continue "the connector took $ms ms to give up"
  elif [ "$(cat "$T/refused.err")" != "$want" ]; then
    fail_continue "stderr: expected '$want', got '$(tr '\n' '|' <"$T/refused.err" | cut -c1-300)'"
  elif ! grep -qF "${want#burrow: tunnel: }" "$LOGS/refused.log"; then
    fail_continue "the connector's log does not hold the reason"
  elif [ "$refused" -lt 1 ] || [ "$refused" -gt 4 ]; then
    fail_continue "the edge refused $refused registrations for one connector run (1 to 4: one per connection)"
  elif [ "$(routes)" != "ssh.site.test host1" ]; then
    fail_continue "routes changed: $(routes)"
  elif host1_serves; then pass; else fail_continue "$REASON"; fi
}

TEDGE=127.0.0.1:$EDGE_TUNNEL_PORT
refused_host2 "host2 asking for ssh.site.test (routed to host1) is refused; host1 keeps serving" \
  "burrow: tunnel: edge $TEDGE refused registration: hostname ssh.site.test is routed to another tunnel, not to tunnel host2: see burrow admin route list" \
  ssh.site.test
refused_host2 "host2 asking for unrouted git.site.test is refused, saying which route to add; nothing is claimed" \
  "burrow: tunnel: edge $TEDGE refused registration: hostname git.site.test is not routed to tunnel host2: run burrow admin route add host2 git.site.test" \
  git.site.test

test_case "route add host2 git.site.test; then host2's 'burrow tunnel --hostname --url' serves it"
out=$(admin route add host2 git.site.test)
assert_match "$out" '^Route added: git\.site\.test -> tunnel "host2" \(id [0-9a-f-]{36}\)\.$' "route add output"
assert_eq "git.site.test host2,ssh.site.test host1" "$(routes)" "route list"
spawn connector-host2 "$BURROW" tunnel --hostname git.site.test --url "ssh://localhost:$SSHD_PORT" \
  --credentials-file "$T/host2.json" --edge "$TEDGE" --ha-connections 2 \
  --logfile "$LOGS/connector-host2.log" --loglevel "$LOGLEVEL"
CONNECTOR_PIDS[host2]=$BG_PID
wait_for 10 _registered_at_least host2 2 || fail "host2: $(registered_count host2) of 2 connections registered after 10 s"
out=$(bssh "$SSH_USER@git.site.test" 'echo ok') || fail "ssh to git.site.test exited $?: $(tail -n 2 "$LOGS/ssh.err")"
assert_eq ok "$out" "ssh through host2"
pass

says "route add for an unknown tunnel: 404, naming it" 1 \
  'burrow: admin: route add failed (404): no tunnel named "ghost": create it with burrow admin tunnel create ghost' \
  -- admin route add ghost new.site.test
says "route add of a routed hostname: 409, naming the tunnel that has it" 1 \
  'burrow: admin: route add failed (409): hostname "git.site.test" is already routed to tunnel "host2"; to move it, delete that route first (burrow admin route delete git.site.test)' \
  -- admin route add host1 Git.Site.Test.
says "route add of something that is not a hostname: 400" 1 \
  "burrow: admin: route add failed (400): hostname \"bad_host.site.test\" is not a valid DNS name (letters, digits, '-', '.')" \
  -- admin route add host1 bad_host.site.test
says "route delete of a hostname without a route: 404" 1 \
  'burrow: admin: route delete failed (404): no route for nope.site.test (burrow admin route list shows the routes)' \
  -- admin route delete nope.site.test
says "tunnel create x --hostname git.site.test (routed to host2): 409" 1 \
  'burrow: admin: tunnel create failed (409): hostname "git.site.test" is already routed to tunnel "host2"; to move it, delete that route first (burrow admin route delete git.site.test)' \
  -- admin tunnel create x --hostname new.site.test --hostname git.site.test

test_case "the refused tunnel create left no tunnel x and no route for new.site.test"
tunnels=$(admin tunnel list | awk 'NR > 1 { print $1 }' | tr '\n' ',')
assert_eq "host1,host2," "$tunnels" "tunnel list"
assert_eq "git.site.test host2,ssh.site.test host1" "$(routes)" "route list"
pass

test_case "tunnel create --hostname binds its routes with the tunnel"
admin tunnel create host3 --hostname h3.site.test --hostname H3b.Site.Test --output "$T/host3.json" >/dev/null
assert_contains "$(tail -n 1 "$LOGS/admin.err")" 'serving h3.site.test, h3b.site.test; credentials written to' "tunnel create's confirmation"
assert_eq "git.site.test host2,h3.site.test host3,h3b.site.test host3,ssh.site.test host1" "$(routes)" "route list"
pass

test_case "route delete ssh.site.test ends the ssh session on it within 2 s, naming the deletion"
SSH_OUT=$T/late.out SSH_ERR=$T/late.err
n0=$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log" || true)
timeout 60 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'sleep 20; echo late' >"$SSH_OUT" 2>"$SSH_ERR" &
SSH_PID=$!
_started() { [ "$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log")" -gt "$n0" ]; }
wait_for 15 _started || fail "the session did not start: $(cat "$SSH_ERR")"
t0=$(now_ms)
out=$(admin route delete ssh.site.test)
assert_eq 'Route of ssh.site.test to tunnel "host1" deleted; sessions on it end within a second.' "$out" "route delete output"
wait_for 7 bash -c "! kill -0 $SSH_PID 2>/dev/null" || fail "the ssh session still runs 7 s after route delete"
ms=$(($(now_ms) - t0))
rc=0
wait "$SSH_PID" || rc=$?
cat "$SSH_ERR" >>"$LOGS/ssh.err"
step "ssh ended $ms ms after route delete was run, exit $rc: $(tr '\n' '|' <"$SSH_ERR")"
[ "$ms" -le 2000 ] || fail "the session ended $ms ms after route delete (bound 2000 ms)"
assert_ne 0 "$rc" "ssh exit status"
assert_not_contains "$(cat "$SSH_OUT")" late "the session's output"
assert_eq "burrow: ssh.site.test: session ended by the edge: route of ssh.site.test to tunnel host1 deleted" \
  "$(grep '^burrow: ' "$SSH_ERR")" "the client's line"
pass

test_case "without its route ssh.site.test is refused (502, saying to add a route); host1's connector stays"
err=$(timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" --secret "$SECRET" 2>&1 >/dev/null </dev/null) && fail "access ssh succeeded"
assert_eq "burrow: ssh.site.test: edge refused the session (502 Bad Gateway): no tunnel serves ssh.site.test: route it with burrow admin route add TUNNEL ssh.site.test" \
  "$err" "the client's line"
_alive "$HOST1_PID" || fail "host1's connector exited: $(tail -n 2 "$LOGS/connector-host1.err")"
out=$(bssh "$SSH_USER@git.site.test" 'echo ok') || true
assert_eq ok "$out" "ssh to git.site.test (host2) meanwhile"
pass

test_case "route add host1 ssh.site.test again: host1's running connector serves it at once"
admin route add host1 ssh.site.test >/dev/null
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 2 "$LOGS/ssh.err")"
assert_eq ok "$out" "ssh through host1"
[ "$(registered_count host1)" -eq 4 ] || fail "host1 registered $(registered_count host1) connections (expected its first 4)"
pass

test_case "a connector naming a routed and an unrouted hostname serves the routed one and says once which it does not"
spawn connector-mixed "$BURROW" tunnel run --credentials-file "$T/host1.json" --hostname ssh.site.test \
  --url "ssh://localhost:$SSHD_PORT" --hostname extra.site.test --url "ssh://localhost:$SSHD_PORT" \
  --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --ha-connections 2 --logfile "$LOGS/connector-mixed.log" --loglevel "$LOGLEVEL"
MIXED_PID=$BG_PID
mixed_up() { [ "$(grep -c 'registered connection' "$LOGS/connector-mixed.log" 2>/dev/null)" -ge 2 ]; }
wait_for 15 mixed_up || fail "the connector did not register: $(tail -n 2 "$LOGS/connector-mixed.err")"
_alive "$MIXED_PID" || fail "the connector exited: $(tail -n 2 "$LOGS/connector-mixed.err")"
assert_eq "burrow: tunnel: edge 127.0.0.1:$EDGE_TUNNEL_PORT serves only part of this connector: hostname extra.site.test is not routed to tunnel host1: run burrow admin route add host1 extra.site.test" \
  "$(grep '^burrow: ' "$LOGS/connector-mixed.err")" "the connector's one line"
stop_pid "$HOST1_PID"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || true
assert_eq ok "$out" "ssh to ssh.site.test through the mixed connector alone"
stop_pid "$MIXED_PID"
pass
