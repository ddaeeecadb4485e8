#!/usr/bin/env bash
# The connector's --metrics 127.0.0.1:PORT (Prometheus text) counts what happened: live tunnel
# connections, sessions (total and open), origin failures, reconnects. One connector (2 HA
# connections) serves echo.site.test (an echo origin) and dead.site.test (a closed port); after a
# known sequence (one session held open then closed, one session to the dead origin, the edge killed
# and restarted) every series has exactly the expected value.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

HA=2
start_edge
admin app create --name echo --hostname echo.site.test >/dev/null
admin app create --name dead --hostname dead.site.test >/dev/null
create_service_token ci
ID=$TOKEN_ID SECRET=$TOKEN_SECRET
admin policy add --app echo --action service_auth --include service-token=ci >/dev/null
admin policy add --app dead --action service_auth --include service-token=ci >/dev/null
create_tunnel m echo.site.test dead.site.test
ECHO_PORT=$(free_port)
spawn echo "$PYTHON" "$E2E_DIR/load/echo_server.py" "$ECHO_PORT"
wait_for 10 port_open "$ECHO_PORT" || fail "echo origin not listening"
DEAD_PORT=$(free_port) # nothing listens there
METRICS_PORT=$(free_port)
spawn connector-m "$BURROW" tunnel run --credentials-file "$T/m.json" \
  --hostname echo.site.test --url "tcp://127.0.0.1:$ECHO_PORT" \
  --hostname dead.site.test --url "tcp://127.0.0.1:$DEAD_PORT" \
  --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --ha-connections "$HA" --metrics "127.0.0.1:$METRICS_PORT" \
  --logfile "$LOGS/connector-m.log" --loglevel "$LOGLEVEL"
CONNECTOR_PIDS[m]=$BG_PID
wait_for 10 _registered_at_least m "$HA" || fail "connector: $(registered_count m) of $HA connections registered after 10 s"

# metric NAME: the value of series NAME on the connector's metrics endpoint; empty when absent.
metric() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" 2>>"$LOGS/curl.err" || true; } |
    awk -v k="$1" '$1 == k { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; } # NAME VALUE
# expect NAME VALUE: the series reaches VALUE within 5 s (a counter the loop updates just after
# the event the test saw), else the case fails naming what it is.
expect() {
  wait_for 5 metric_is "$1" "$2" || fail "$1: expected $2, got '$(metric "$1")'"
}
all_series() {
  curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" 2>>"$LOGS/curl.err" |
    awk '$1 !~ /^#/ { print $1 "=" $2 }' | tr '\n' ' '
}

test_case "at start: $HA connections, no sessions, no failures, no reconnects"
step "$(all_series)"
expect burrow_tunnel_connections "$HA"
expect burrow_tunnel_streams_total 0
expect burrow_tunnel_streams_active 0
expect burrow_tunnel_origin_failures_total 0
expect burrow_tunnel_reconnects_total 0
assert_match "$(curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics")" \
  '^# TYPE burrow_tunnel_streams_total counter$' "Prometheus TYPE line"
pass

LPORT=$(free_port)
spawn access "$BURROW" access tcp --hostname echo.site.test --url "127.0.0.1:$LPORT" --id "$ID" --secret "$SECRET"
# listening: asked of the kernel, since a probe connection would itself be a session
listening() { grep -q ":$(printf '%04X' "$1") 00000000:0000 0A " /proc/net/tcp; }
wait_for 10 listening "$LPORT" || fail "burrow access tcp not listening"

test_case "one session open: streams_active 1, streams_total 1"
exec 7<>"/dev/tcp/127.0.0.1/$LPORT"
printf 'hello\n' >&7
reply=""
read -r -t 10 reply <&7 || fail "no echo through the session within 10 s"
assert_eq hello "$reply" "echo"
step "$(all_series)"
expect burrow_tunnel_streams_active 1
expect burrow_tunnel_streams_total 1
expect burrow_tunnel_origin_failures_total 0
pass

test_case "the session closed: streams_active 0, streams_total still 1"
exec 7>&-
expect burrow_tunnel_streams_active 0
expect burrow_tunnel_streams_total 1
pass

test_case "a session to a closed origin port: origin_failures_total 1, no session counted"
mkfifo "$T/stdin"
exec 8<>"$T/stdin"
rc=0
timeout 15 "$BURROW" access ssh --hostname dead.site.test --id "$ID" --secret "$SECRET" <"$T/stdin" \
  >/dev/null 2>"$T/dead.err" || rc=$?
step "client exit $rc: $(tr '\n' '|' <"$T/dead.err" | cut -c1-300)"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the client to the dead origin exited $rc"
assert_contains "$(cat "$T/dead.err")" "(502 Bad Gateway)" "client's error"
step "$(all_series)"
expect burrow_tunnel_origin_failures_total 1
expect burrow_tunnel_streams_total 1
expect burrow_tunnel_streams_active 0
pass

test_case "edge killed: connections drop to 0; restarted: back to $HA, reconnects_total $HA"
before=$(registered_count m)
stop_pid "$EDGE_PID" KILL
wait_for 10 metric_is burrow_tunnel_connections 0 ||
  fail "burrow_tunnel_connections still '$(metric burrow_tunnel_connections)' 10 s after the edge died"
expect burrow_tunnel_reconnects_total "$HA"
start_edge
wait_for 15 _registered_at_least m $((before + HA)) ||
  fail "$(($(registered_count m) - before)) of $HA connections registered again within 15 s"
step "$(all_series)"
expect burrow_tunnel_connections "$HA"
expect burrow_tunnel_reconnects_total "$HA"
pass

test_case "after the restart a new session works and is counted: streams_total 2, failures still 1"
exec 7<>"/dev/tcp/127.0.0.1/$LPORT"
printf 'again\n' >&7
reply=""
read -r -t 10 reply <&7 || fail "no echo through the session within 10 s"
assert_eq again "$reply" "echo"
exec 7>&-
expect burrow_tunnel_streams_total 2
expect burrow_tunnel_streams_active 0
expect burrow_tunnel_origin_failures_total 1
expect burrow_tunnel_reconnects_total "$HA"
pass
