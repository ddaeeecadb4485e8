#!/usr/bin/env bash
# Two edges sharing one data directory (one SQLite database), one connector spread over both: ssh
# works through either; with one edge killed, new sessions through the other still work at once and
# the connector keeps its connections there; a revocation made on one edge is enforced by the other
# within seconds; the killed edge comes back and the connector returns to it. (Edges share state
# through one SQLite database here; each polls it for the others' commits every second.)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_sshd
start_edge
EDGE_A_PID=$EDGE_PID EDGE_A_PORT=$EDGE_PORT EDGE_A_TPORT=$EDGE_TUNNEL_PORT
setup_service_token
create_tunnel host1 ssh.site.test

EDGE_B_PORT=$(free_port) EDGE_B_TPORT=$(free_port)
start_edge_b() {
  spawn edge-b "$BURROW" edge --data-dir "$EDGE_DIR" --listen "127.0.0.1:$EDGE_B_PORT" \
    --tunnel-listen "127.0.0.1:$EDGE_B_TPORT" --loglevel "$LOGLEVEL" --logfile "$LOGS/edge-b.log"
  wait_for 30 port_open "$EDGE_B_TPORT" || fail "edge B not listening: $(tail -n 3 "$LOGS/edge-b.err")"
}
start_edge_b

spawn connector-host1 "$BURROW" tunnel run --credentials-file "$T/host1.json" --hostname ssh.site.test \
  --url "ssh://localhost:$SSHD_PORT" --edge "127.0.0.1:$EDGE_A_TPORT" --edge "127.0.0.1:$EDGE_B_TPORT" \
  --ha-connections 4 --logfile "$LOGS/connector-host1.log" --loglevel "$LOGLEVEL"
ssh_cfg

# registered_on PORT: registrations the connector logged with that edge (ever).
registered_on() { grep -c "registered connection .* to edge 127.0.0.1:$1\$" "$LOGS/connector-host1.log" 2>/dev/null || true; }
both_registered() { [ "$(registered_on "$EDGE_A_TPORT")" -ge 2 ] && [ "$(registered_on "$EDGE_B_TPORT")" -ge 2 ]; }

# via PORT CMD: ssh through the edge on PORT.
via() {
  local port=$1
  shift
  BURROW_EDGE=127.0.0.1:$port bssh "$SSH_USER@ssh.site.test" "$@"
}

test_case "the connector spreads its 4 connections over both edges"
wait_for 10 both_registered ||
  fail "registrations: edge A $(registered_on "$EDGE_A_TPORT"), edge B $(registered_on "$EDGE_B_TPORT")"
pass

test_case "ssh works through either edge (configuration written on A is served by B)"
assert_eq ok "$(via "$EDGE_A_PORT" 'echo ok')"
assert_eq ok "$(via "$EDGE_B_PORT" 'echo ok')"
pass

test_case "edge A killed: new sessions through edge B work at once, byte-exact"
head -c 4M /dev/urandom >"$T/blob"
stop_pid "$EDGE_A_PID" KILL 5
t0=$(now_ms)
got=$(via "$EDGE_B_PORT" 'sha256sum' <"$T/blob" | cut -d' ' -f1) || fail "ssh through B exited $?"
assert_eq "$(sha "$T/blob")" "$got" "sha256 through B"
step "first session through B $(($(now_ms) - t0)) ms after A died"
pass

test_case "edge A restarted: the connector moves its connections back within 10 s; ssh through A works"
a_before=$(registered_on "$EDGE_A_TPORT")
spawn edge "$BURROW" edge --data-dir "$EDGE_DIR" --listen "127.0.0.1:$EDGE_A_PORT" \
  --tunnel-listen "127.0.0.1:$EDGE_A_TPORT" --loglevel "$LOGLEVEL" --logfile "$LOGS/edge.log"
EDGE_A_PID=$BG_PID
wait_for 30 port_open "$EDGE_A_TPORT" || fail "edge A did not come back"
t0=$(now_ms)
back_on_a() { [ "$(registered_on "$EDGE_A_TPORT")" -ge $((a_before + 2)) ]; }
wait_for 10 back_on_a ||
  fail "the connector did not return to edge A within 10 s ($(registered_on "$EDGE_A_TPORT") registrations)"
step "both home connections back on A $(($(now_ms) - t0)) ms after it listened"
assert_eq ok "$(via "$EDGE_A_PORT" 'echo ok')"
pass

test_case "a service token revoked through edge B is refused by edge A within 5 s (shared state)"
BURROW_ADMIN_URL=https://127.0.0.1:$EDGE_B_PORT admin service-token revoke ci >/dev/null
t0=$(now_ms)
# (a session A let in just before its next poll is ended by A with "service token ci revoked": not
# yet the refusal this waits for, so it tries again)
refused() {
  ! BURROW_EDGE=127.0.0.1:$EDGE_A_PORT timeout 10 "$BURROW" access ssh --hostname ssh.site.test \
    --id "$ID" --secret "$SECRET" </dev/null >/dev/null 2>"$T/revoked.err" &&
    grep -q '^burrow: ssh\.site\.test: edge refused the session (401' "$T/revoked.err"
}
wait_for 5 refused || fail "edge A still accepts the token revoked on B after 5 s"
step "edge A refused the revoked token $(($(now_ms) - t0)) ms after B revoked it: $(head -n 1 "$T/revoked.err")"
# the client's one "burrow: " line with the status, not any 401 in the text (a port can hold one)
assert_match "$(grep '^burrow: ' "$T/revoked.err")" '^burrow: ssh\.site\.test: edge refused the session \(401 Unauthorized\)' "client's error line"
pass
