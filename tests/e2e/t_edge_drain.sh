#!/usr/bin/env bash
# An edge drains on SIGTERM (issue 25, part 7): with two edges sharing one data directory and a
# connector spread over both, SIGTERM to edge A stops it accepting, sends the connector GOAWAY on each
# connection, and the connector moves all 4 connections to edge B within 2 s, while an ssh session open
# through A (`sleep 3; echo done`) finishes and prints done; new sessions through B work meanwhile; A
# exits 0 once its last tunnel connection has closed. With --grace-period 2s, SIGTERM to the last edge
# cuts a session that would run 20 s after about 2 s, and the edge exits 0.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_sshd
start_edge
EDGE_A_PID=$EDGE_PID EDGE_A_PORT=$EDGE_PORT EDGE_A_TPORT=$EDGE_TUNNEL_PORT
setup_service_token
create_tunnel host1 ssh.site.test

EDGE_B_PORT=$(free_port) EDGE_B_TPORT=$(free_port)
spawn edge-b "$BURROW" edge --data-dir "$EDGE_DIR" --listen "127.0.0.1:$EDGE_B_PORT" \
  --tunnel-listen "127.0.0.1:$EDGE_B_TPORT" --grace-period 2s --loglevel "$LOGLEVEL" --logfile "$LOGS/edge-b.log"
EDGE_B_PID=$BG_PID
wait_for 30 port_open "$EDGE_B_TPORT" || fail "edge B not listening: $(tail -n 3 "$LOGS/edge-b.err")"

spawn connector-host1 "$BURROW" tunnel run --credentials-file "$T/host1.json" --hostname ssh.site.test \
  --url "ssh://localhost:$SSHD_PORT" --edge "127.0.0.1:$EDGE_A_TPORT" --edge "127.0.0.1:$EDGE_B_TPORT" \
  --ha-connections 4 --logfile "$LOGS/connector-host1.log" --loglevel "$LOGLEVEL"
ssh_cfg

# registered_on PORT: registrations the connector logged with that edge (ever).
registered_on() { grep -c "registered connection .* to edge 127.0.0.1:$1\$" "$LOGS/connector-host1.log" 2>/dev/null || true; }
both_registered() { [ "$(registered_on "$EDGE_A_TPORT")" -ge 2 ] && [ "$(registered_on "$EDGE_B_TPORT")" -ge 2 ]; }
all_on_b() { [ "$(registered_on "$EDGE_B_TPORT")" -ge 4 ]; }
via() { # PORT CMD...: ssh through the edge on PORT
  local port=$1
  shift
  BURROW_EDGE=127.0.0.1:$port bssh "$SSH_USER@ssh.site.test" "$@"
}
exited() { ! kill -0 "$1" 2>/dev/null; }

wait_for 15 both_registered ||
  fail "registrations: edge A $(registered_on "$EDGE_A_TPORT"), edge B $(registered_on "$EDGE_B_TPORT")"

test_case "SIGTERM to edge A: the open session finishes (done), the connector is all on B within 2 s, A exits 0"
via "$EDGE_A_PORT" 'sleep 3; echo done' >"$T/long.out" 2>"$T/long.err" &
LONG=$!
wait_for 10 grep -q "session service token ci -> ssh.site.test .* started" "$LOGS/edge.log" ||
  fail "the session through A did not start: $(cat "$T/long.err")"
t0=$(now_ms)
kill -TERM "$EDGE_A_PID"
wait_for 2 all_on_b || fail_continue "connections on B 2 s after SIGTERM: $(registered_on "$EDGE_B_TPORT") registrations"
step "all 4 connections on B $(($(now_ms) - t0)) ms after SIGTERM"
assert_eq ok "$(via "$EDGE_B_PORT" 'echo ok' 2>>"$LOGS/ssh.err")" "a new session through B during the drain"
port_open "$EDGE_A_PORT" && fail_continue "edge A still accepts clients while draining"
rc=0
wait "$LONG" || rc=$?
step "the open session: exit $rc, out '$(cat "$T/long.out")' after $(($(now_ms) - t0)) ms"
assert_eq 0 "$rc" "the open session's exit status"
assert_eq "done" "$(cat "$T/long.out")" "the open session's output"
wait_for 5 exited "$EDGE_A_PID" || fail "edge A still running 5 s after its last session"
rc=0
wait "$EDGE_A_PID" || rc=$?
step "edge A exited $rc after $(($(now_ms) - t0)) ms"
assert_eq 0 "$rc" "edge A's exit status"
assert_contains "$(cat "$LOGS/edge.log")" "drained: every tunnel connection has closed" "edge A's log"
assert_contains "$(cat "$LOGS/connector-host1.log")" "is shutting down; 1 open session(s) finish there" "connector log"
pass

test_case "SIGTERM to the last edge with --grace-period 2s: a 20 s session is cut after about 2 s, exit 0"
via "$EDGE_B_PORT" 'sleep 20; echo late' >"$T/cut.out" 2>"$T/cut.err" &
CUT=$!
wait_for 10 grep -q "session service token ci -> ssh.site.test .* started" "$LOGS/edge-b.log" ||
  fail "the session through B did not start: $(cat "$T/cut.err")"
sleep 0.5
t0=$(now_ms)
kill -TERM "$EDGE_B_PID"
wait_for 10 exited "$EDGE_B_PID" || fail "edge B still running 10 s after SIGTERM with --grace-period 2s"
ms=$(($(now_ms) - t0))
rc=0
wait "$EDGE_B_PID" || rc=$?
step "edge B exited $rc after $ms ms"
assert_eq 0 "$rc" "edge B's exit status"
if [ "$ms" -lt 1800 ] || [ "$ms" -ge 6000 ]; then fail_continue "edge B exited after $ms ms, expected about 2000"; fi
wait_for 10 exited "$CUT" || fail_continue "the cut session's ssh still running"
wait "$CUT" || true
assert_not_contains "$(cat "$T/cut.out")" late "the cut session's output"
assert_contains "$(cat "$LOGS/edge-b.log")" "grace period over; closing 1 remaining session(s)" "edge B's log"
pass
