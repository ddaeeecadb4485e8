#!/usr/bin/env bash
# --max-unauth-per-addr (README "Unauthenticated connections per address", "When the edge says
# no"), small numbers of connections (t_load_halfopen floods with thousands at the default 256):
# - with a cap of 3, 4 silent connections from 127.0.0.1 to the client listener: 3 held, the 4th
#   reset; burrow access from that address then prints exactly the README's line (the edge closed
#   the connection before the TLS handshake finished, naming --max-unauth-per-addr) and exits 1;
#   the metrics count 3 held and 2 refused, the log names the address and the limit once;
# - the same cap on the tunnel listener;
# - BURROW_MAX_UNAUTH_PER_ADDR=3 in the edge's environment sets the same cap;
# - --max-unauth-per-addr 0 is no cap: 300 silent connections from one address are all held and
#   a client from that address still reaches the edge (its request is answered: 404);
# - a value that is not a number from 0 to 1000000 stops the edge at start with a one-line reason.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
ulimit -n 4096 2>/dev/null || true
[ "$(ulimit -n)" -ge 1024 ] || skip "needs ulimit -n 1024 for 300 connections; the limit here is $(ulimit -n)"

series() { printf 'burrow_edge_%s{listener="%s"}' "$1" "$2"; }

# restart_edge ARGS...: (re)starts the edge with ARGS, waits until it counts no unauthenticated
# connection (the readiness probes' are released).
restart_edge() {
  [ -z "${EDGE_PID:-}" ] || stop_pid "$EDGE_PID"
  start_edge "$@"
  wait_for 5 unauth_released || fail "a fresh edge counts unauthenticated connections"
}

# hold PORT N: N silent TCP connections to PORT from 127.0.0.1 (attack/hold.py), held until
# release; sets HELD to hold.py's line "open=N closed=N".
HOLD_N=0
hold() {
  HOLD_N=$((HOLD_N + 1))
  local ready=$T/hold$HOLD_N.ready
  HOLD_STOP=$T/hold$HOLD_N.stop
  spawn "hold$HOLD_N" "$PYTHON" "$E2E_DIR/attack/hold.py" tcp "$1" "$2" "$ready" "$HOLD_STOP"
  HOLD_PID=$BG_PID
  wait_for 30 test -e "$ready" || fail "hold.py did not open $2 connections within 30 s: $(tail -n 1 "$LOGS/hold$HOLD_N.err")"
  HELD=$(cat "$ready")
}
release() {
  touch "$HOLD_STOP"
  stop_pid "$HOLD_PID" TERM 10
  wait_for 5 unauth_released || fail "the edge still counts $(edge_metric "$(series unauth_connections client)") client and $(edge_metric "$(series unauth_connections tunnel)") tunnel connections after they closed"
}

restart_edge --max-unauth-per-addr 3
CAP_LINE="burrow: ssh.site.test: edge 127.0.0.1:$EDGE_PORT closed the connection before the TLS handshake finished (an edge refuses addresses holding more than --max-unauth-per-addr unfinished connections): retry shortly, and check BURROW_EDGE=HOST:PORT"

test_case "cap 3: of 4 silent connections to the client listener 3 are held, the 4th is reset"
hold "$EDGE_PORT" 4
step "hold.py: $HELD"
if [ "$HELD" = "open=3 closed=1" ]; then pass; else fail_continue "expected 'open=3 closed=1', got '$HELD'"; fi

test_case "cap 3 reached: burrow access from that address prints the README's one line and exits 1"
rc=0
timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id x --secret y >"$T/capped.out" 2>"$T/capped.err" || rc=$?
step "exit $rc: $(cat "$T/capped.err")"
# the README must quote what the client prints
readme_line=$(grep -F -- 'closed the connection before the TLS handshake finished' "$REPO/README.md" | head -n 1 | sed 's/^ *//')
if [ "$rc" -ne 1 ]; then
  fail_continue "exit $rc, expected 1; stderr: $(cat "$T/capped.err")"
elif [ "$(cat "$T/capped.err")" != "$CAP_LINE" ]; then
  fail_continue "stderr is not the one line '$CAP_LINE': '$(tr '\n' '|' <"$T/capped.err")'"
elif [ "${readme_line//8443/$EDGE_PORT}" != "$CAP_LINE" ]; then
  fail_continue "README quotes '$readme_line', the client prints '$CAP_LINE'"
else pass; fi

test_case "cap 3: the metrics count 3 held and 2 refused; the log names the address and the limit once"
held=$(edge_metric "$(series unauth_connections client)") refused=$(edge_metric "$(series unauth_refused_total client)")
warned=$(grep -c "too many unauthenticated client connections from 127.0.0.1 (limit 3, --max-unauth-per-addr)" "$LOGS/edge.log" || true)
step "unauthenticated $held, refused $refused, warnings $warned"
if [ "$held" != 3 ] || [ "$refused" != 2 ]; then
  fail_continue "unauth_connections $held and unauth_refused_total $refused (expected 3 and 2)"
elif [ "$warned" != 1 ]; then
  fail_continue "$warned warnings in edge.log (expected 1)"
else pass; fi
release

test_case "cap 3 on the tunnel listener: of 4 silent connections 3 are held, the 4th is reset"
hold "$EDGE_TUNNEL_PORT" 4
step "hold.py: $HELD; metrics: $(edge_metric "$(series unauth_connections tunnel)") held, $(edge_metric "$(series unauth_refused_total tunnel)") refused"
if [ "$HELD" != "open=3 closed=1" ]; then
  fail_continue "expected 'open=3 closed=1', got '$HELD'"
elif [ "$(edge_metric "$(series unauth_refused_total tunnel)")" != 1 ]; then
  fail_continue "unauth_refused_total{tunnel} is $(edge_metric "$(series unauth_refused_total tunnel)"), expected 1"
else pass; fi
release

test_case "BURROW_MAX_UNAUTH_PER_ADDR=3 in the edge's environment: 3 of 4 held"
export BURROW_MAX_UNAUTH_PER_ADDR=3
restart_edge
unset BURROW_MAX_UNAUTH_PER_ADDR
hold "$EDGE_PORT" 4
step "hold.py: $HELD"
if [ "$HELD" = "open=3 closed=1" ]; then pass; else fail_continue "expected 'open=3 closed=1', got '$HELD'"; fi
release

test_case "--max-unauth-per-addr 0 is no cap: 300 silent connections from one address are all held"
restart_edge --max-unauth-per-addr 0
hold "$EDGE_PORT" 300
held=$(edge_metric "$(series unauth_connections client)") refused=$(edge_metric "$(series unauth_refused_total client)")
step "hold.py: $HELD; metrics: $held held, $refused refused"
if [ "$HELD" != "open=300 closed=0" ]; then
  fail_continue "expected 'open=300 closed=0', got '$HELD'"
elif [ "$held" != 300 ] || [ "$refused" != 0 ]; then
  fail_continue "unauth_connections $held and unauth_refused_total $refused (expected 300 and 0)"
else pass; fi

test_case "... and meanwhile a client from that address reaches the edge (404 for a hostname it does not serve)"
rc=0
err=$(timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id x --secret y 2>&1 >/dev/null) || rc=$?
step "exit $rc: $err"
case $err in
  "burrow: ssh.site.test: edge refused the session (404 Not Found): "*) pass ;;
  *) fail_continue "expected a 404 refusal, got (exit $rc): $err" ;;
esac
release

test_case "--max-unauth-per-addr that is not a number from 0 to 1000000: the edge does not start and says why"
bad=""
for v in -1 abc 1000001; do
  rc=0
  err=$(timeout 10 "$BURROW" edge --data-dir "$T/edge-bad" --listen "127.0.0.1:$(free_port)" \
    --tunnel-listen "127.0.0.1:$(free_port)" --max-unauth-per-addr "$v" 2>&1 >/dev/null) || rc=$?
  step "$v: exit $rc: $err"
  [ "$rc" = 2 ] && [ "$err" = "burrow: edge: --max-unauth-per-addr must be a whole number from 0 (no cap) to 1000000, not $v" ] ||
    bad+="$v: exit $rc, '$err'; "
done
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi
