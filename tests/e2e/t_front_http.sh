#!/usr/bin/env bash
# The edge's front door is a persistent HTTP/1.1 server (issue 25, part 1): authenticated admin
# requests keep the TLS connection (two requests, one connect), pipelined requests are answered in
# order, HEAD answers GET's head without its body, and an idle kept-alive connection is closed after
# the head timeout (10 s). A request body is read only once its credentials passed: an admin POST
# announcing a body with a wrong token is answered 401 at its head and closed; with the right token,
# more than 1 MiB is 413 at its head. 200 unauthenticated connections each announcing a 1 MiB body
# and sending 64 KiB of it are all refused (401, then 429 past the failure limit) and closed, the
# edge grows by less than 20 MB, and ssh works meanwhile.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# The edge's memory is its own, not ASan's quarantine of freed blocks (256 MiB by default: 1 here).
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1" start_stack
HF=("$PYTHON" "$E2E_DIR/load/http_front.py")

test_case "two admin requests reuse one TLS connection (curl: 1 connect, then 0)"
got=$(curl -sS --max-time 10 --cacert "$BURROW_CA" -H "Authorization: Bearer $BURROW_ADMIN_TOKEN" \
  -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
  "$BURROW_ADMIN_URL/api/v1/apps" "$BURROW_ADMIN_URL/api/v1/service-tokens" 2>>"$LOGS/curl.err") || true
step "status:connects per request: $got"
assert_eq "200:1 200:0" "${got% }" "two requests"
pass

test_case "pipelined GET, GET, HEAD in one write: answered in order, HEAD with GET's length and no body"
got=$("${HF[@]}" pipeline 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" "$BURROW_ADMIN_TOKEN" 2>>"$LOGS/http_front.err") || true
step "$(echo "$got" | tr '\n' '|')"
apps_len=$(echo "$got" | sed -n 1p | cut -d' ' -f2)
if [ -z "$apps_len" ] || [ "$apps_len" -le 10 ]; then
  fail "no first response: $got $(tail -n 1 "$LOGS/http_front.err")"
fi
assert_eq "200 $apps_len $apps_len keep-alive" "$(echo "$got" | sed -n 1p)" "GET /api/v1/apps"
assert_match "$(echo "$got" | sed -n 2p)" '^200 [0-9]+ [0-9]+ keep-alive$' "GET /api/v1/service-tokens"
assert_eq "200 0 $apps_len keep-alive" "$(echo "$got" | sed -n 3p)" "HEAD /api/v1/apps"
pass

test_case "a wrong token announcing a 1 MiB body: 401 at the head, connection closed, no body read"
got=$("${HF[@]}" early 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" wrong-token 1048576 2>>"$LOGS/http_front.err") || true
step "$got"
assert_match "$got" '^401 closed [0-9]+$' "status and close"
[ "${got##* }" -lt 3000 ] || fail_continue "answered after ${got##* } ms"
pass

test_case "the right token announcing more than 1 MiB: 413 at the head, connection closed"
got=$("${HF[@]}" early 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" "$BURROW_ADMIN_TOKEN" 1048577 2>>"$LOGS/http_front.err") || true
step "$got"
assert_match "$got" '^413 closed [0-9]+$' "status and close"
pass

test_case "200 unauthenticated connections announcing 1 MiB bodies: all refused and closed, edge +< 20 MB, ssh works"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$EDGE_PID/status"; }
before=$(rss)
"${HF[@]}" hold 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" 200 6 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14 \
  >"$T/hold.out" 2>>"$LOGS/http_front.err" &
hold=$!
wait_for 60 test -s "$T/hold.out" || fail "the 200 connections were not made within 60 s"
answered=$(cat "$T/hold.out")
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok' 2>>"$LOGS/ssh.err") || true
after=$(rss)
wait "$hold" || true
step "refused (401/429) and closed: $answered of 200; edge RSS $before -> $after KiB; ssh: $out"
assert_eq 200 "$answered" "connections refused and closed"
assert_eq ok "$out" "ssh during the attack"
[ $((after - before)) -lt $((20 * 1024)) ] || fail_continue "edge grew by $(((after - before) / 1024)) MiB"
pass

test_case "a response over 64 KiB (the audit log after those refusals) goes out chunked, whole, and the connection goes on"
# 60 more refusals: the log then holds well over 64 KiB of JSON
"${HF[@]}" hold 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" 60 0 127.0.0.15 >/dev/null 2>>"$LOGS/http_front.err" || true
sleep 1.5 # (the audit log takes records once a second)
got=$("${HF[@]}" big 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" "$BURROW_ADMIN_TOKEN" 2>>"$LOGS/http_front.err") || true
step "transfer-encoding, bytes, events, next status: $got"
read -r te bytes events status2 <<<"$got"
assert_eq chunked "$te" "transfer-encoding"
[ "${bytes:-0}" -gt 65536 ] || fail_continue "the audit response is $bytes bytes, expected more than 64 KiB"
[ "${events:-0}" -ge 260 ] || fail_continue "$events events decoded, expected at least the 260 refusals"
assert_eq 200 "$status2" "the next request on the same connection"
n=$(admin audit --json --kind refusal | grep -c '"id"' || true)
[ "$n" -ge 260 ] || fail_continue "burrow admin audit printed $n refusals, expected at least 260"
pass

test_case "an idle kept-alive admin connection is closed after the head timeout (10 s)"
got=$("${HF[@]}" idle 127.0.0.1 "$EDGE_PORT" "$BURROW_CA" "$BURROW_ADMIN_TOKEN" 2>>"$LOGS/http_front.err") || true
step "$got"
assert_match "$got" '^closed after [0-9.]+$' "closed"
secs=${got##* }
if [ "${secs%.*}" -lt 9 ] || [ "${secs%.*}" -ge 14 ]; then
  fail_continue "closed after $secs s, expected about 10"
fi
pass

test_case "/cdn-cgi/access/ is reserved on an application's hostname: 404 saying so, not the app's 426"
code=$(curl -sS --max-time 10 --cacert "$BURROW_CA" --resolve "ssh.site.test:$EDGE_PORT:127.0.0.1" -o "$T/body" \
  -w '%{http_code}' "https://ssh.site.test:$EDGE_PORT/cdn-cgi/access/login" 2>>"$LOGS/curl.err") || true
assert_eq 404 "$code" "status"
assert_eq "single sign-on is not set up on this edge (its administrator starts it with --auth-domain)" "$(cat "$T/body")" "body"
code=$(curl -sS --max-time 10 --cacert "$BURROW_CA" --resolve "ssh.site.test:$EDGE_PORT:127.0.0.1" -o /dev/null \
  -w '%{http_code}' "https://ssh.site.test:$EDGE_PORT/other" 2>>"$LOGS/curl.err") || true
assert_eq 426 "$code" "another path on the app's hostname"
pass
