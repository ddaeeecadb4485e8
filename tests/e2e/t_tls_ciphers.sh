#!/usr/bin/env bash
# TLS 1.2 only with ECDHE and an AEAD (AES-GCM, ChaCha20-Poly1305) on every TLS context burrow makes
# (src/core/tls.c): no CBC suite (testssl.sh "obsolete CBC ciphers offered", LUCKY13) and none without
# forward secrecy. Against the edge's client listener (its own EC certificate, and a user's RSA
# certificate given with --tls-cert) and its tunnel listener, `openssl s_client -tls1_2` with a CBC
# suite or a non-ECDHE suite fails the handshake; with each ECDHE AEAD suite it succeeds; TLS 1.3
# works with each of its three suites. burrow access and the connector offer no CBC suite: a TLS 1.2
# server that allows only CBC suites finds no shared cipher with either.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rsa.site.test -addext subjectAltName=DNS:rsa.site.test \
  -keyout "$T/rsa.key" -out "$T/rsa.pem" 2>>"$LOGS/openssl.err" || fail "cannot make an RSA certificate"
start_sshd
start_edge --tls-cert "$T/rsa.pem" --tls-key "$T/rsa.key"
setup_service_token
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
ssh_cfg

# hello PORT SNI ARGS...: s_client's handshake with 127.0.0.1:PORT; prints "PROTOCOL CIPHER" when it
# completed, "failed" when not.
hello() {
  local port=$1 sni=$2 got
  shift 2
  got=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$sni" "$@" </dev/null 2>&1 |
    sed -n 's/^New, \(TLSv[0-9.]*\), Cipher is \(.*\)$/\1 \2/p' | head -n 1) || true
  echo "${got:-failed}"
}

# suites WHAT PORT SNI REFUSED... -- ACCEPTED...: each TLS 1.2 suite of REFUSED fails, each of
# ACCEPTED is negotiated.
suites() {
  local what=$1 port=$2 sni=$3 c got bad=""
  shift 3
  test_case "$what"
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    got=$(hello "$port" "$sni" -tls1_2 -cipher "$1")
    step "TLS 1.2 $1: $got"
    [ "$got" = failed ] || bad+=" $1 negotiated ($got);"
    shift
  done
  shift
  for c in "$@"; do
    got=$(hello "$port" "$sni" -tls1_2 -cipher "$c")
    step "TLS 1.2 $c: $got"
    [ "$got" = "TLSv1.2 $c" ] || bad+=" $c not negotiated ($got);"
  done
  if [ -n "$bad" ]; then fail_continue "${bad# }"; else pass; fi
}

suites "client listener, the edge's EC certificate: TLS 1.2 CBC suites refused, ECDHE AEAD suites accepted" \
  "$EDGE_PORT" ssh.site.test \
  ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384 -- \
  ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305
suites "client listener, a user's RSA certificate: TLS 1.2 CBC and non-ECDHE suites refused, ECDHE AEAD accepted" \
  "$EDGE_PORT" rsa.site.test \
  ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA ECDHE-RSA-AES128-SHA256 AES128-SHA AES128-GCM-SHA256 \
  DHE-RSA-AES128-GCM-SHA256 -- \
  ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305
suites "tunnel listener: TLS 1.2 CBC suites refused, ECDHE AEAD suites accepted" \
  "$EDGE_TUNNEL_PORT" burrow-edge \
  ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 -- \
  ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-CHACHA20-POLY1305

test_case "TLS 1.3 unchanged: each of its three suites on both listeners"
bad=""
for port in "$EDGE_PORT" "$EDGE_TUNNEL_PORT"; do
  for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
    got=$(hello "$port" ssh.site.test -tls1_3 -ciphersuites "$c")
    step "$port TLS 1.3 $c: $got"
    [ "$got" = "TLSv1.3 $c" ] || bad+=" $port $c: $got;"
  done
done
if [ -n "$bad" ]; then fail_continue "${bad# }"; else pass; fi

# A TLS 1.2 server allowing only CBC suites (its own certificate: the cipher is chosen before the
# certificate is checked).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=cbc -keyout "$T/cbc.key" \
  -out "$T/cbc.pem" 2>>"$LOGS/openssl.err" || fail "cannot make an EC certificate"
CBC_PORT=$(free_port)
spawn s_server-cbc openssl s_server -quiet -accept "127.0.0.1:$CBC_PORT" -cert "$T/cbc.pem" -key "$T/cbc.key" -tls1_2 \
  -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384'
wait_for 5 port_open "$CBC_PORT" || fail "openssl s_server did not listen on $CBC_PORT"
no_shared() { [ "$(grep -c 'no shared cipher' "$LOGS/s_server-cbc.out" "$LOGS/s_server-cbc.err" |
  awk -F: '{ n += $2 } END { print n + 0 }')" -ge "$1" ]; }

test_case "burrow access offers no CBC suite: a CBC-only TLS 1.2 server finds no shared cipher"
rc=0
BURROW_EDGE=127.0.0.1:$CBC_PORT timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" --secret "$SECRET" \
  >"$T/access.out" 2>"$T/access.err" || rc=$?
cat "$T/access.err" >>"$LOGS/access.err"
step "burrow access exit $rc: $(tr '\n' '|' <"$T/access.err")"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
  fail_continue "burrow access did not fail (exit $rc)"
elif ! wait_for 5 no_shared 1; then
  fail_continue "s_server saw no 'no shared cipher': $(tail -n 3 "$LOGS/s_server-cbc.err" | tr '\n' '|')"
else pass; fi

test_case "the connector offers no CBC suite: a CBC-only TLS 1.2 server finds no shared cipher"
spawn connector-cbc "$BURROW" tunnel run --credentials-file "$T/host1.json" --hostname ssh.site.test \
  --url "ssh://localhost:$SSHD_PORT" --edge "127.0.0.1:$CBC_PORT" --ha-connections 1 \
  --logfile "$LOGS/connector-cbc.log" --loglevel info
pid=$BG_PID
if ! wait_for 10 grep -q 'failed: TLS handshake' "$LOGS/connector-cbc.log"; then
  fail_continue "no TLS handshake failure in the connector's log within 10 s"
elif ! wait_for 5 no_shared 2; then
  fail_continue "s_server saw no second 'no shared cipher': $(tail -n 3 "$LOGS/s_server-cbc.err" | tr '\n' '|')"
else pass; fi
stop_pid "$pid"

test_case "ssh through burrow still works (TLS 1.3 to the edge, from the client and the connector)"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass
