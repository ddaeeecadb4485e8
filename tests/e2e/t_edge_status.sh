#!/usr/bin/env bash
# The edge's 504 (README "When the edge says no": "the connector did not reach the origin within
# 15 s"): a connector that registered but never answers the CONNECT of a session (tests/e2e/attack/
# h2_fake_connector.py silent) leaves the client waiting about 15 s, then burrow access prints one
# "burrow: HOST: edge refused the session (504 Gateway Timeout): the connector did not reach the
# origin in time" line and exits non-zero; the edge resets the stream it opened (CANCEL), counts
# the refusal, and serves the next session normally. A client that goes away (TCP reset, or a plain
# close) while its session is being connected is logged as gone at once ("client went away before
# the session started"), counted as no refusal, and its stream to the connector is reset (CANCEL).
#
# (The edge's 503, "edge cannot open a stream to the connector right now; retry", is not tested:
# it answers only when h2_submit fails for a connection tunnels_pick chose, which happens only when
# the edge is out of memory or has used all 2^30 client stream ids of that connection; a connector
# at its SETTINGS_MAX_CONCURRENT_STREAMS does not cause it, nghttp2 queues the stream.)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
start_stack
admin app create --name slow --hostname slow.site.test >/dev/null
admin policy add --app slow --action service_auth --include service-token=ci >/dev/null
create_tunnel slow slow.site.test
export EDGE_PORT EDGE_TUNNEL_PORT EDGE_PID ID SECRET
export SILENT_STOP=$T/silent.stop
spawn fake-connector "$PYTHON" "$E2E_DIR/attack/h2_fake_connector.py" "$T/slow.json" slow.site.test silent
FAKE=$BG_PID
fake_registered() {
  _alive "$FAKE" || fail "the fake connector exited: $(tail -n 2 "$LOGS/fake-connector.out" "$LOGS/fake-connector.err" | tr '\n' '|')"
  grep -qx registered "$LOGS/fake-connector.out"
}
wait_for 15 fake_registered || fail "the fake connector did not register within 15 s"

test_case "a connector that never answers the CONNECT: after ~15 s the client prints one 504 line and fails"
other0=$(edge_metric 'burrow_edge_refused_total{status="other"}')
rc=0 t0=$(now_ms)
timeout 40 "$BURROW" access ssh --hostname slow.site.test --id "$ID" --secret "$SECRET" \
  >"$T/slow.out" 2>"$T/slow.err" || rc=$?
ms=$(($(now_ms) - t0))
cat "$T/slow.err" >>"$LOGS/access.err"
step "burrow access exit $rc after $ms ms; stderr: $(tr '\n' '|' <"$T/slow.err" | cut -c1-300)"
want="burrow: slow.site.test: edge refused the session (504 Gateway Timeout): the connector did not reach the origin in time"
if [ "$rc" -eq 124 ]; then
  fail_continue "burrow access still waiting after 40 s"
elif [ "$rc" -eq 0 ]; then
  fail_continue "burrow access exited 0"
elif [ "$(cat "$T/slow.err")" != "$want" ]; then
  fail_continue "stderr is not the one line '$want': '$(tr '\n' '|' <"$T/slow.err")'"
elif [ "$ms" -lt 14000 ] || [ "$ms" -gt 25000 ]; then
  fail_continue "refused after $ms ms, not ~15 s (14-25 s)"
elif [ -s "$T/slow.out" ]; then
  fail_continue "burrow access wrote to stdout: $(head -c 200 "$T/slow.out")"
else pass; fi

refused() { # every burrow_edge_refused_total series, one line
  { curl -fsS --max-time 5 "http://127.0.0.1:$EDGE_METRICS_PORT/metrics" 2>>"$LOGS/curl.err" || true; } |
    grep '^burrow_edge_refused_total' | tr '\n' ' '
}
# gone.py N reset|close: sends the upgrade for slow.site.test, waits until the edge has opened its
# CONNECT stream (the fake connector's "connect N"), then closes: with a TCP reset (SO_LINGER 0) or
# a plain close (FIN).
cat >"$T/gone.py" <<'PY'
import os, socket, ssl, struct, sys, time
ctx = ssl.create_default_context(cafile=os.environ["BURROW_CA"])
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(os.environ["EDGE_PORT"])), timeout=10),
                    server_hostname="slow.site.test")
s.sendall(("GET / HTTP/1.1\r\nHost: slow.site.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Cf-Access-Client-Id: %s\r\nCf-Access-Client-Secret: %s\r\n\r\n"
           % (os.environ["ID"], os.environ["SECRET"])).encode())
deadline = time.monotonic() + 10
while "connect " + sys.argv[2] not in open(sys.argv[1]).read().split("\n"):
    if time.monotonic() > deadline:
        sys.exit("the edge opened no CONNECT stream within 10 s")
    time.sleep(0.05)
if sys.argv[3] == "reset":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
gone_logged() { # N: the edge's log has N "client went away" lines for slow.site.test
  [ "$(grep -cE "session service token ci -> slow\.site\.test from 127\.0\.0\.1(:[0-9]+)?: client went away before the session started" "$LOGS/edge.log")" -ge "$1" ]
}
n=1
for how in reset close; do
  n=$((n + 1))
  test_case "a client that goes away ($how) while its session is being connected: logged as gone at once, no refusal counted"
  refused0=$(refused)
  "$PYTHON" "$T/gone.py" "$LOGS/fake-connector.out" "$n" "$how" >"$T/gone.out" 2>&1 ||
    fail "the client failed: $(tail -n 3 "$T/gone.out")"
  if ! wait_for 5 gone_logged $((n - 1)); then
    fail_continue "no 'client went away' line in the edge's log within 5 s: $(grep 'slow.site.test' "$LOGS/edge.log" | tail -n 1)"
  elif grep -q 'slow.site.test.*: 502 ' "$LOGS/edge.log"; then
    fail_continue "the edge logged a 502 for it: $(grep -m1 'slow.site.test.*: 502 ' "$LOGS/edge.log")"
  elif [ "$(refused)" != "$refused0" ]; then
    fail_continue "refusals counted: $refused0 -> $(refused)"
  else pass; fi
done

test_case "the edge reset the streams it had opened (CANCEL) and counted the 504 as a refusal"
touch "$SILENT_STOP"
wait_for 10 grep -q '^silent ' "$LOGS/fake-connector.out" || fail "the fake connector did not report"
line=$(grep '^silent ' "$LOGS/fake-connector.out")
step "fake connector: $line; refused{other}: $other0 -> $(edge_metric 'burrow_edge_refused_total{status="other"}')"
if [ "$line" != "silent streams=3 reset=CANCEL,CANCEL,CANCEL" ]; then
  fail_continue "expected 'silent streams=3 reset=CANCEL,CANCEL,CANCEL', got '$line'"
elif [ "$(edge_metric 'burrow_edge_refused_total{status="other"}')" != $((other0 + 1)) ]; then
  fail_continue "refused{other} went from $other0 to $(edge_metric 'burrow_edge_refused_total{status="other"}'), expected +1"
elif ! grep -qE "refused service token ci slow\.site\.test from 127\.0\.0\.1(:[0-9]+)?: 504 the connector did not reach the origin in time" "$LOGS/edge.log"; then
  fail_continue "the edge's log has no 504 line for the session: $(grep -m1 'slow.site.test' "$LOGS/edge.log")"
else pass; fi

test_case "afterwards a session through a real connector works"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass
