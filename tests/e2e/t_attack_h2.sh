#!/usr/bin/env bash
# Attack suite, HTTP/2 abuse in both directions of the tunnel (hardening issue).
#
# 1. A hostile edge against the real connector (tests/e2e/attack/h2_fake_edge.py, a TLS server
#    with ALPN h2 on the edge's tunnel port, its certificate issued by the edge's own CA so the
#    connector trusts it): after a normal registration it sends 10,000 CONNECT streams each reset
#    at once (rapid reset), more streams than the connector's SETTINGS_MAX_CONCURRENT_STREAMS, a
#    CONTINUATION flood, SETTINGS and PING floods it never reads the answers to, a SETTINGS frame
#    of 500 entries, WINDOW_UPDATEs that overflow 2^31-1 (stream and connection), DATA on an
#    unopened and on a closed stream. One connection per attack: the connector must close it
#    (GOAWAY or close) or keep serving it cleanly (it answers a PING), never crash (ASan build),
#    keep its memory bounded, dial the origin for next to none of the reset streams, and redial.
#    Then the fake goes and the real edge starts on the same port: the connector registers with
#    it by itself and ssh through burrow works.
# 2. A hostile connector against the real edge (tests/e2e/attack/h2_fake_connector.py, with valid
#    credentials of its own tunnel): after registering it opens streams from the server side,
#    sends PUSH_PROMISE, RST_STREAM/SETTINGS/PING floods, a response header block over the edge's
#    limits, DATA on unknown streams and a WINDOW_UPDATE overflow. The edge closes each offending
#    connection within a bounded time (or, for floods of legal frames, keeps serving it
#    cleanly), never crashes, and keeps serving ssh through the rightful connector of
#    ssh.site.test throughout.
# Every case always runs: no environment variable picks a subset (in CI nothing may shrink this test
# silently). To debug one case, run h2_fake_edge.py / h2_fake_connector.py by hand with its name.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- 1. hostile edge -> connector

start_sshd
start_edge # makes the edge's CA and data dir; stopped while the fake holds its tunnel port
setup_service_token
create_tunnel host1 ssh.site.test count.site.test
ssh_cfg
stop_pid "$EDGE_PID"

mkdir -p "$T/fake"
{
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$T/fake/edge.key" -out "$T/fake/edge.csr" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      >"$T/fake/ext" &&
    openssl x509 -req -days 1 -in "$T/fake/edge.csr" -CA "$EDGE_DIR/ca.pem" -CAkey "$EDGE_DIR/ca-key.pem" \
      -CAcreateserial -CAserial "$T/fake/ca.srl" -extfile "$T/fake/ext" -out "$T/fake/edge.pem"
} >>"$LOGS/openssl.err" 2>&1 || fail "openssl could not issue the fake edge's certificate: $(tail -n 2 "$LOGS/openssl.err")"

EDGE_CASES=(rapid-reset max-concurrent continuation-flood settings-flood settings-many ping-flood
  window-stream window-conn data-unopened data-closed)
ORIGIN_PORT=$(free_port)
spawn fake_edge "$PYTHON" "$E2E_DIR/attack/h2_fake_edge.py" "$T/fake/edge.pem" "$T/fake/edge.key" \
  "$EDGE_TUNNEL_PORT" "$ORIGIN_PORT" "$T/connector.pid" "${EDGE_CASES[@]}"
FAKE_PID=$BG_PID
wait_for 10 grep -q '^listening' "$LOGS/fake_edge.out" || fail "the fake edge did not start: $(tail -n 2 "$LOGS/fake_edge.err")"
# The connector's memory after the attacks is its own, not ASan's quarantine of freed blocks.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16" spawn connector-host1 "$BURROW" tunnel run \
  --credentials-file "$T/host1.json" --hostname ssh.site.test --url "ssh://localhost:$SSHD_PORT" \
  --hostname count.site.test --url "tcp://127.0.0.1:$ORIGIN_PORT" --edge "127.0.0.1:$EDGE_TUNNEL_PORT" \
  --ha-connections 1 --logfile "$LOGS/connector-host1.log" --loglevel "$LOGLEVEL"
CONN_PID=$BG_PID
CONNECTOR_PIDS[host1]=$CONN_PID
echo "$CONN_PID" >"$T/connector.pid"
fake_done() { ! _alive "$FAKE_PID"; }
wait_for 45 fake_done || fail "the fake edge did not finish within 45 s: $(tail -n 2 "$LOGS/fake_edge.out" | tr '\n' '|')"
sed 's/^/   .. /' "$LOGS/fake_edge.out"

# ran CASE: CASE is in EDGE_CASES or CONN_CASES (all of them always run).
ran() { [[ " ${EDGE_CASES[*]} ${CONN_CASES[*]} " == *" $1 "* ]]; }
CONN_CASES=()

# edge_result CASE: the fake edge's line for CASE, without the name.
edge_result() { sed -n "s/^$1 //p" "$LOGS/fake_edge.out"; }
field() { printf '%s\n' "$1" | sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p"; }

# edge_case CASE TITLE OUTCOME_ERE: the connector answered CASE with an outcome matching
# OUTCOME_ERE ("stuck" never does), is still running, and redialled (the fake's next case, or
# the real edge below, takes its next connection).
edge_case() {
  local name=$1 title=$2 want=$3 line outcome
  ran "$name" || return 0
  test_case "$title"
  line=$(edge_result "$name")
  outcome=$(field "$line" outcome)
  if [ -z "$line" ]; then
    fail_continue "no result: $(grep '^setup' "$LOGS/fake_edge.out" || tail -n 2 "$LOGS/fake_edge.err" | tr '\n' '|')"
  elif ! _alive "$CONN_PID"; then
    fail_continue "the connector died: $(tail -n 3 "$LOGS/connector-host1.err" | tr '\n' '|')"
  elif ! printf '%s\n' "$outcome" | grep -Eqx -- "$want"; then
    fail_continue "the connector's answer was '$outcome', expected /$want/ ($line)"
  else
    pass
  fi
}

CLOSES='goaway:[A-Z_]+|closed' # the connection is closed (GOAWAY first, or not)
CLEAN="$CLOSES|open"           # or kept, still answering PINGs

edge_case rapid-reset "edge->connector rapid reset (up to 10,000 CONNECTs, each reset in the same write): the connector stops it with GOAWAY" "$CLOSES"
ran rapid-reset && test_case "rapid reset: the connector dials the origin for at most 1% of the reset streams it processed"
line=$(edge_result rapid-reset)
sent=$(field "$line" sent) dials=$(field "$line" dials) processed=$(field "$line" processed)
processed=${processed:-$sent}
step "rapid reset: $sent streams sent, $processed processed before GOAWAY, $dials origin dials"
# A reset stream's origin is resolved on the thread pool; its dial starts only if the RST was not
# read by then. HEADERS and RST go out in one write, so they are read together: any dial at all is
# a race lost, and 1% would be a systematic one.
if ! ran rapid-reset; then
  :
elif [ -z "$dials" ]; then
  fail_continue "no result for rapid-reset"
elif [ "$dials" -gt $((processed / 100)) ]; then
  fail_continue "$dials origin dials for $processed reset streams"
else pass; fi

edge_case max-concurrent "edge->connector: streams beyond the connector's SETTINGS_MAX_CONCURRENT_STREAMS are refused (GOAWAY)" "$CLOSES"
edge_case continuation-flood "edge->connector CONTINUATION flood (a header block that never ends): the connection is closed" "$CLOSES"
edge_case settings-flood "edge->connector SETTINGS flood, ACKs never read: closed or kept cleanly" "$CLEAN"
edge_case settings-many "edge->connector SETTINGS frame of 500 entries: closed or kept cleanly" "$CLEAN"
edge_case ping-flood "edge->connector PING flood, answers never read: closed or kept cleanly" "$CLEAN"
edge_case window-stream "edge->connector stream WINDOW_UPDATE past 2^31-1: that stream is reset, the connection kept or closed" "$CLEAN"
ran window-stream && test_case "stream window overflow: the connector resets the stream with FLOW_CONTROL_ERROR"
got=$(field "$(edge_result window-stream)" stream)
if ! ran window-stream; then
  :
elif [ "$got" = rst:FLOW_CONTROL_ERROR ] || [[ $(field "$(edge_result window-stream)" outcome) == goaway:FLOW_CONTROL_ERROR ]]; then
  pass
else fail_continue "the stream was '$got'"; fi
edge_case window-conn "edge->connector connection WINDOW_UPDATE past 2^31-1: GOAWAY FLOW_CONTROL_ERROR" 'goaway:FLOW_CONTROL_ERROR|closed'
edge_case data-unopened "edge->connector DATA on a stream nobody opened: GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
edge_case data-closed "edge->connector DATA on a long-closed stream: closed or ignored cleanly" "$CLEAN"

test_case "connector memory stays bounded through every attack"
first=$(sed -n '1,/^done/p' "$LOGS/fake_edge.out" | grep -m1 ' rss0=' || true)
last=$(grep ' hwm=' "$LOGS/fake_edge.out" | tail -n 1)
rss0=$(field "$first" rss0) hwm=$(field "$last" hwm)
if [ -z "$rss0" ] || [ -z "$hwm" ]; then
  fail_continue "no memory figures from the fake edge"
else
  step "connector RSS $rss0 KiB before the attacks, peak $hwm KiB (+$(((hwm - rss0) / 1024)) MiB; $BURROW, ASan quarantine 16 MiB if ASan)"
  # The peak is max-concurrent's 20,000 open streams; nothing may grow past that.
  if [ $((hwm - rss0)) -gt $((128 * 1024)) ]; then
    fail_continue "the connector grew by $(((hwm - rss0) / 1024)) MiB"
  else pass; fi
fi

test_case "after the attacks the connector registers with the real edge by itself and ssh through burrow works"
n0=$(registered_count host1)
start_edge
if ! wait_for 15 _registered_at_least host1 $((n0 + 1)); then
  fail_continue "the connector did not register with the real edge within 15 s"
else
  out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || true
  if [ "$out" = ok ]; then pass; else fail_continue "ssh through burrow failed: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"; fi
fi

# ---------------------------------------------------------------- 2. hostile connector -> edge

# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
admin app create --name evil --hostname evil.site.test >/dev/null
admin policy add --app evil --action service_auth --include service-token=ci >/dev/null
create_tunnel evil evil.site.test
CONN_CASES=(big-headers server-stream-even server-stream-odd push-promise
  rst-idle rst-flood settings-flood ping-flood data-unknown window-overflow)
EDGE_PID=$EDGE_PID EDGE_PORT=$EDGE_PORT EDGE_TUNNEL_PORT=$EDGE_TUNNEL_PORT ID=$ID SECRET=$SECRET \
  spawn fake_connector "$PYTHON" "$E2E_DIR/attack/h2_fake_connector.py" "$T/evil.json" evil.site.test "${CONN_CASES[@]}"
FAKEC_PID=$BG_PID
fakec_done() { ! _alive "$FAKEC_PID"; }
wait_for 45 fakec_done || fail "the fake connector did not finish within 45 s: $(tail -n 2 "$LOGS/fake_connector.out" | tr '\n' '|')"
sed 's/^/   .. /' "$LOGS/fake_connector.out"

# conn_case CASE TITLE OUTCOME_ERE [MAX_S]: the edge answered CASE with an outcome matching
# OUTCOME_ERE, within MAX_S (default 2) seconds when it closed the connection, and is still up.
conn_case() {
  local name=$1 title=$2 want=$3 max=${4:-2} line outcome after
  ran "$name" || return 0
  test_case "$title"
  line=$(sed -n "s/^$name //p" "$LOGS/fake_connector.out")
  outcome=$(field "$line" outcome)
  after=$(field "$line" after)
  if [ -z "$line" ]; then
    fail_continue "no result: $(grep '^setup' "$LOGS/fake_connector.out" || tail -n 2 "$LOGS/fake_connector.err" | tr '\n' '|')"
  elif ! _alive "$EDGE_PID"; then
    fail_continue "the edge died: $(tail -n 3 "$LOGS/edge.err" | tr '\n' '|')"
  elif ! printf '%s\n' "$outcome" | grep -Eqx -- "$want"; then
    fail_continue "the edge's answer was '$outcome', expected /$want/ ($line)"
  elif [ "$outcome" != open ] && ! awk -v a="${after%s}" -v m="$max" 'BEGIN { exit !(a <= m) }'; then
    fail_continue "the edge took $after to close the connection (limit ${max}s)"
  else
    pass
  fi
}

conn_case big-headers "connector->edge response header block over the edge's limits (100 headers, 100 KB): stream reset or connection closed" "$CLEAN"
ran big-headers && test_case "oversized response headers: the client gets a refusal, not a session, and the stream is reset"
line=$(sed -n 's/^big-headers //p' "$LOGS/fake_connector.out")
client=$(field "$line" client) stream=$(field "$line" stream)
if ! ran big-headers; then
  :
elif [[ $client != 50[234] ]]; then
  fail_continue "the client got '$client' ($line)"
elif [ "$stream" = kept ] && [ "$(field "$line" outcome)" = open ]; then
  fail_continue "the edge neither reset the stream nor closed the connection ($line)"
else pass; fi
conn_case server-stream-even "connector->edge HEADERS on a server stream never promised (2): GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
conn_case server-stream-odd "connector->edge HEADERS on a client stream the edge never opened (101): GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
conn_case push-promise "connector->edge PUSH_PROMISE with push disabled: GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
conn_case rst-idle "connector->edge RST_STREAM on a stream never opened: GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
conn_case rst-flood "connector->edge 100,000 RST_STREAM on closed streams: closed or ignored cleanly" "$CLEAN" 15
conn_case settings-flood "connector->edge SETTINGS flood, ACKs never read: closed or kept cleanly" "$CLEAN" 10
conn_case ping-flood "connector->edge PING flood, answers never read: closed or kept cleanly" "$CLEAN" 10
conn_case data-unknown "connector->edge DATA on a stream never opened: GOAWAY PROTOCOL_ERROR" 'goaway:PROTOCOL_ERROR|closed'
conn_case window-overflow "connector->edge connection WINDOW_UPDATE past 2^31-1: GOAWAY FLOW_CONTROL_ERROR" 'goaway:FLOW_CONTROL_ERROR|closed'

test_case "the edge spends bounded CPU on each flood (under 2 s of CPU per 100,000 frames)"
# (CPU time, not wall time: a loaded machine does not inflate it. Measured: rst-flood 0.02 s for
# 100,000 frames, the others 0.00 s, so 2 s is a 100x margin; the closes above took 0.00-0.26 s
# against their 2 s bound.)
bad=""
for c in rst-flood settings-flood ping-flood; do
  ran "$c" || continue
  line=$(sed -n "s/^$c //p" "$LOGS/fake_connector.out")
  cpu=$(field "$line" cpu)
  step "$c: $(field "$line" sent) frames sent, edge CPU $cpu s, outcome $(field "$line" outcome)"
  awk -v c="${cpu:-99}" 'BEGIN { exit !(c < 2.0) }' || bad+="$c: ${cpu:-?} s; "
done
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi

test_case "after the hostile connector the edge serves ssh through the rightful connector of ssh.site.test"
if serving; then pass; else fail_continue "$REASON"; fi
