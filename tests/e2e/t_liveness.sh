#!/usr/bin/env bash
# Connections that die silently (issue 28). The edge runs in a network namespace of its own; nftables
# there drops every packet of chosen established connections without a word, as a NAT or firewall
# that lost its state does, while new connections pass. Heartbeats find the dead tunnel connections
# (the connector redials at once, the edge ends their sessions saying why), a session whose CONNECT
# meets a dead connection moves to a live one, TCP keepalive frees the session of a client that
# vanished, and heartbeats keep an idle tunnel's flows alive in a conntrack table that forgets idle
# flows fast. Defaults: heartbeats every 5 s, 3 missed = dead.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

netns_up
start_sshd
netns_start_edge --tcp-keepalive 4s
setup_service_token
create_tunnel host1 ssh.site.test
CMETRICS_PORT=$(free_port)
netns_start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT" --metrics "127.0.0.1:$CMETRICS_PORT"
ssh_cfg
host=$SSH_USER@ssh.site.test

connector_metric() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$CMETRICS_PORT/metrics" 2>>"$LOGS/curl.err" || true; } |
    awk -v k="$1" '$1 == k { print $2 }'
}

# ssh_ok TIMEOUT_S: a new ssh session runs a command within TIMEOUT_S.
ssh_ok() {
  [ "$(SSH_TIMEOUT=$1 bssh "$host" 'echo ok' 2>/dev/null)" = ok ]
}

# bg_session NAME: an ssh session that idles for 60 s (started when it printed "started"); sets BG.
# (Its stderr, and its client's, goes to $LOGS/ssh.err as every bssh's.)
bg_session() {
  SSH_TIMEOUT=90 bssh "$host" 'echo started; sleep 60' >"$T/$1.out" &
  BG=$!
  wait_for 10 grep -q started "$T/$1.out" || fail "session $1 did not start: $(tail -n 2 "$LOGS/ssh.err")"
}

ms_since() { echo $(($(now_ms) - $1)); }

edge_sessions_none() { [ "$(netns_edge_metric burrow_edge_sessions_active)" = 0 ]; }
origins_none() { [ "$(connector_metric burrow_tunnel_streams_active)" = 0 ]; }

test_case "ssh works through the edge's namespace"
ssh_ok 20 || fail "ssh failed: $(tail -n 3 "$LOGS/ssh.err")"
pass

test_case "one of four tunnel flows silently dropped: 20 sessions in a row right after all succeed"
mapfile -t ports < <(flow_ports 7844)
[ "${#ports[@]}" -eq 4 ] || fail "expected 4 tunnel connections, found ${#ports[@]}: ${ports[*]}"
before=$(registered_count host1)
t0=$(now_ms)
netns_drop_flows 7844 "${ports[0]}"
for i in $(seq 1 20); do
  ssh_ok 10 || fail "session $i of 20 failed after $(ms_since "$t0") ms: $(tail -n 2 "$LOGS/ssh.err")"
done
step "20 sessions in $(ms_since "$t0") ms"
pass

test_case "the connector declares the dropped connection dead and redials it within 20 s"
wait_for 25 _registered_at_least host1 $((before + 1)) || fail "no new registration within 25 s of the drop"
redial_ms=$(ms_since "$t0")
step "redialled after $redial_ms ms"
[ "$redial_ms" -lt 20000 ] || fail "redialled only $redial_ms ms after the drop"
assert_match "$(grep 'is dead' "$LOGS/connector-host1.log")" 'connection [0-9] to edge .* is dead: nothing heard for [0-9.]+ s' \
  "connector log"
pass
netns_pass_all

test_case "all tunnel flows silently dropped: new sessions work again within 20 s, no restart"
wait_for 10 _registered_at_least host1 $((before + 1)) # (the replacement is one of the four)
bg_session held
mapfile -t ports < <(flow_ports 7844)
before=$(registered_count host1)
t0=$(now_ms)
netns_drop_flows 7844 "${ports[@]}"
ok_ms=""
while [ "$(ms_since "$t0")" -lt 30000 ]; do
  if ssh_ok 4; then
    ok_ms=$(ms_since "$t0")
    break
  fi
done
[ -n "$ok_ms" ] || fail "no ssh session worked within 30 s of the drop"
step "a new session worked $ok_ms ms after the drop"
[ "$ok_ms" -lt 20000 ] || fail "the first new session worked only after $ok_ms ms"
pass

test_case "the edge ends the dead connections' sessions, saying why, within ~15 s"
wait_for 10 bash -c "! kill -0 $BG 2>/dev/null" || fail "the held session still runs $(ms_since "$t0") ms after the drop"
step "held session ended after $(ms_since "$t0") ms"
assert_match "$(cat "$LOGS/ssh.err")" 'session ended by the edge: tunnel host1 connection [0-9] is dead' \
  "the clients' stderr"
assert_match "$(grep 'is dead' "$LOGS/edge.log")" 'tunnel host1 connection [0-9] from .* is dead: nothing heard for' \
  "edge log"
dead=$(netns_edge_metric burrow_edge_tunnel_connections_dead_total)
[ "${dead:-0}" -ge 4 ] || fail "burrow_edge_tunnel_connections_dead_total is '$dead', expected >= 4"
pass
netns_pass_all

test_case "a client whose path vanishes mid-session is freed within the keepalive bound (4 s)"
wait_for 10 _registered_at_least host1 $((before + 4)) || fail "the connector did not redial all 4"
bg_session vanishing
[ "$(netns_edge_metric burrow_edge_sessions_active)" = 1 ] || fail "expected 1 active session"
mapfile -t ports < <(flow_ports 8443)
t0=$(now_ms)
netns_drop_flows 8443 "${ports[@]}"
wait_for 15 edge_sessions_none ||
  fail "the edge still holds the session $(ms_since "$t0") ms after the client vanished"
freed=$(ms_since "$t0")
wait_for 5 origins_none ||
  fail "the connector still holds the origin connection"
step "session freed after $freed ms, origin connection closed"
[ "$freed" -lt 10000 ] || fail "freed only after $freed ms"
kill "$BG" 2>/dev/null || true
pass
netns_pass_all

test_case "an idle tunnel outlives a conntrack table that forgets flows idle for 9 s"
# Like a NAT: an entry expires after 9 s without packets; then the flow's packets are no longer its
# own (a non-SYN packet that starts no known flow is dropped).
nsx sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=9
nsx nft add table inet burrow_nat
nsx nft add chain inet burrow_nat in '{ type filter hook input priority 0; }'
nsx nft add chain inet burrow_nat out '{ type filter hook output priority 0; }'
nsx nft add rule inet burrow_nat in 'ct state new tcp flags & (syn|ack) != syn drop'
nsx nft add rule inet burrow_nat out 'ct state new tcp flags & (syn|ack) != syn drop'
before=$(registered_count host1)
dead_before=$(grep -c 'is dead' "$LOGS/connector-host1.log" || true)
sleep 28
t0=$(now_ms)
ssh_ok 5 || fail "a new session on the idle tunnel failed: $(tail -n 2 "$LOGS/ssh.err")"
step "a new session after 28 s idle took $(ms_since "$t0") ms"
assert_eq "$dead_before" "$(grep -c 'is dead' "$LOGS/connector-host1.log" || true)" "connections declared dead while idle"
assert_eq "$before" "$(registered_count host1)" "registrations while idle"
pass
