#!/usr/bin/env bash
# BURROW_HOME: what reads it is `burrow edge`, whose data directory defaults to $BURROW_HOME/edge
# (~/.burrow/edge without it; --data-dir wins over both). Started under umask 000, the edge creates
# that directory 0700 and its secrets (admin token, CA key, database) 0600, the CA certificate 0644;
# a restart on the same BURROW_HOME keeps the CA and the admin token. The client and the connector
# keep no state: a session through them leaves their BURROW_HOME and HOME empty.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow

# home_edge NAME ENV...: starts `burrow edge` (no --data-dir unless in ENV's trailing args) with the
# environment ENV (VAR=VALUE words, then "--" and extra edge args) under umask 000; sets EDGE_PID,
# EDGE_PORT, EDGE_TUNNEL_PORT; EDGE_DIR must name where its data should appear.
home_edge() {
  local name=$1 envs=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ $# -eq 0 ] || shift
  EDGE_PORT=$(free_port)
  EDGE_TUNNEL_PORT=$(free_port)
  spawn "$name" env "${envs[@]}" bash -c 'umask 000; exec "$@"' _ "$BURROW" edge \
    --listen "127.0.0.1:$EDGE_PORT" --tunnel-listen "127.0.0.1:$EDGE_TUNNEL_PORT" \
    --loglevel "$LOGLEVEL" --logfile "$LOGS/$name.log" "$@"
  EDGE_PID=$BG_PID
}
edge_up() { # NAME: waits for the edge started by home_edge, with its data in $EDGE_DIR
  wait_for 30 _edge_ready || fail "edge $1 not ready within 30 s with data in $EDGE_DIR: $(tail -n 3 "$LOGS/$1.err")"
}
mode() { stat -c %a "$1" 2>/dev/null || echo "(missing)"; }
listing() { (cd "$1" 2>/dev/null && find . -mindepth 1 | sort | tr '\n' ' ') || echo "(no $1)"; }

test_case "BURROW_HOME=DIR, no --data-dir: the edge keeps its data in DIR/edge (and nothing in HOME)"
BH=$T/bh # does not exist yet: the edge creates it
mkdir -p "$T/fakehome"
EDGE_DIR=$BH/edge
home_edge edge1 BURROW_HOME="$BH" HOME="$T/fakehome"
edge_up edge1
assert_eq "./edge ./edge/admin-token ./edge/burrow.db ./edge/ca-key.pem ./edge/ca.pem" \
  "$(listing "$BH" | sed 's/ $//; s| ./edge/burrow.db-[a-z]*||g')" "files under BURROW_HOME"
assert_eq "" "$(listing "$T/fakehome")" "files under HOME"
assert_contains "$(grep -m1 'edge ready' "$LOGS/edge1.log")" "data in $BH/edge" "the edge's ready line"
pass

test_case "under umask 000: DIR/edge 0700, admin-token, ca-key.pem, burrow.db 0600, ca.pem 0644"
assert_eq 700 "$(mode "$BH/edge")" "mode of BURROW_HOME/edge"
assert_eq 600 "$(mode "$BH/edge/admin-token")" "mode of admin-token"
assert_eq 600 "$(mode "$BH/edge/ca-key.pem")" "mode of ca-key.pem"
assert_eq 600 "$(mode "$BH/edge/burrow.db")" "mode of burrow.db"
assert_eq 644 "$(mode "$BH/edge/ca.pem")" "mode of ca.pem"
pass

test_case "that edge works: burrow admin with DIR/edge/admin-token and ca.pem"
BURROW_ADMIN_TOKEN=$(cat "$BH/edge/admin-token")
export BURROW_ADMIN_URL=https://127.0.0.1:$EDGE_PORT BURROW_ADMIN_TOKEN BURROW_CA=$BH/edge/ca.pem
export BURROW_EDGE=127.0.0.1:$EDGE_PORT
admin app create --name echo --hostname echo.site.test >/dev/null
assert_eq echo "$(admin app list | awk 'NR > 1 { print $1 }')" "apps listed"
pass

test_case "client and connector with their own BURROW_HOME and HOME: a session works, both stay empty"
mkdir -p "$T/c-home" "$T/c-burrow" "$T/n-home" "$T/n-burrow"
create_service_token ci
admin policy add --app echo --action service_auth --include service-token=ci >/dev/null
create_tunnel host1 echo.site.test
ECHO_PORT=$(free_port)
spawn echo "$PYTHON" "$E2E_DIR/load/echo_server.py" "$ECHO_PORT"
wait_for 10 port_open "$ECHO_PORT" || fail "echo origin not listening"
spawn connector-host1 env HOME="$T/n-home" BURROW_HOME="$T/n-burrow" "$BURROW" tunnel run \
  --credentials-file "$T/host1.json" --hostname echo.site.test --url "tcp://127.0.0.1:$ECHO_PORT" \
  --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --ha-connections 1 --logfile "$LOGS/connector-host1.log" --loglevel "$LOGLEVEL"
CONNECTOR_PIDS[host1]=$BG_PID
wait_for 10 _registered_at_least host1 1 || fail "connector not registered within 10 s"
printf 'through burrow\n' >"$T/in"
out=$(env HOME="$T/c-home" BURROW_HOME="$T/c-burrow" timeout 20 "$BURROW" access ssh --hostname echo.site.test \
  --id "$TOKEN_ID" --secret "$TOKEN_SECRET" <"$T/in" 2>>"$LOGS/client.err") || fail "client exited $?: $(tail -n 2 "$LOGS/client.err")"
assert_eq "through burrow" "$out" "echoed through the client"
assert_eq "" "$(listing "$T/c-home")$(listing "$T/c-burrow")" "files the client left in HOME and BURROW_HOME"
assert_eq "" "$(listing "$T/n-home")$(listing "$T/n-burrow")" "files the connector left in HOME and BURROW_HOME"
pass

test_case "a restart on the same BURROW_HOME keeps the CA, the admin token and the app"
ca_before=$(sha "$BH/edge/ca.pem")
token_before=$(sha "$BH/edge/admin-token")
stop_pid "${CONNECTOR_PIDS[host1]}"
stop_pid "$EDGE_PID"
home_edge edge2 BURROW_HOME="$BH" HOME="$T/fakehome"
edge_up edge2
assert_eq "$ca_before" "$(sha "$BH/edge/ca.pem")" "sha256 of ca.pem"
assert_eq "$token_before" "$(sha "$BH/edge/admin-token")" "sha256 of admin-token"
BURROW_ADMIN_URL=https://127.0.0.1:$EDGE_PORT
assert_eq echo "$(admin app list | awk 'NR > 1 { print $1 }')" "apps listed after the restart"
stop_pid "$EDGE_PID"
pass

test_case "BURROW_HOME unset: the edge keeps its data in HOME/.burrow/edge"
mkdir -p "$T/home2"
EDGE_DIR=$T/home2/.burrow/edge
home_edge edge3 -u BURROW_HOME HOME="$T/home2"
edge_up edge3
assert_eq 600 "$(mode "$EDGE_DIR/admin-token")" "mode of HOME/.burrow/edge/admin-token"
stop_pid "$EDGE_PID"
pass

test_case "--data-dir wins over BURROW_HOME: nothing is created under BURROW_HOME"
mkdir -p "$T/bh3"
EDGE_DIR=$T/explicit
home_edge edge4 BURROW_HOME="$T/bh3" HOME="$T/fakehome" -- --data-dir "$EDGE_DIR"
edge_up edge4
assert_eq "" "$(listing "$T/bh3")" "files under BURROW_HOME"
assert_eq 600 "$(mode "$EDGE_DIR/admin-token")" "mode of --data-dir/admin-token"
stop_pid "$EDGE_PID"
pass
