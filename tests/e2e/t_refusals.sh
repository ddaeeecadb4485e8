#!/usr/bin/env bash
# Every refusal reaches the user quickly as one "burrow: HOST: ... (STATUS) ..." line on ssh's stderr
# and a failed ssh: 401 wrong, revoked or expired secret, 403 token the policy does not name, 404 unknown
# hostname, 502 no connector or origin refused (naming the cause, not the origin's address, which only
# the edge's log holds). Afterwards the edge counts none of those connections
# as unauthenticated any more (src/edge/auth/unauth.c).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
start_stack
create_service_token other # named by no policy
OTHER_ID=$TOKEN_ID OTHER_SECRET=$TOKEN_SECRET
create_service_token gone # allowed, then revoked
GONE_ID=$TOKEN_ID GONE_SECRET=$TOKEN_SECRET
admin policy add --app ssh --action service_auth --include service-token=gone >/dev/null
admin service-token create --name short --duration 2s --json >"$T/token-short.json" # expires at once
SHORT_AT=$(now_ms)
SHORT_ID=$(json_get client_id <"$T/token-short.json") SHORT_SECRET=$(json_get client_secret <"$T/token-short.json")
admin policy add --app ssh --action service_auth --include service-token=short >/dev/null
admin app create --name ssh2 --hostname ssh2.site.test >/dev/null # no tunnel serves it
admin policy add --app ssh2 --action service_auth --include service-token=ci >/dev/null
admin app create --name ssh3 --hostname ssh3.site.test >/dev/null # served, but nothing listens
admin policy add --app ssh3 --action service_auth --include service-token=ci >/dev/null
create_tunnel host3 ssh3.site.test
CLOSED_PORT=$(free_port)
start_connector host3 ssh3.site.test "ssh://localhost:$CLOSED_PORT"

WRONG_SECRET=$(printf '0%.0s' $(seq 1 64))
REASON=""

# refused STATUS HOST ID SECRET: ssh through burrow to HOST fails within 10 s and stderr has exactly
# one line starting "burrow: " that names HOST and STATUS. Sets REASON when not.
refused() {
  local want=$1 host=$2 id=$3 secret=$4 rc=0 t0 ms err lines line
  err=$T/refused-$want-$host.err
  t0=$(now_ms)
  timeout 15 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $id --secret $secret" \
    "$SSH_USER@$host" 'echo reached' >"$T/refused.out" 2>"$err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$err" >>"$LOGS/ssh.err"
  step "ssh exit $rc after $ms ms; stderr: $(tr '\n' '|' <"$err" | cut -c1-300)"
  if [ "$rc" -eq 0 ]; then REASON="ssh succeeded (printed '$(cat "$T/refused.out")')"; return 1; fi
  if [ "$rc" -eq 124 ]; then REASON="ssh still running after 15 s"; return 1; fi
  if [ "$ms" -ge 10000 ]; then REASON="ssh took $ms ms to fail (limit 10 s)"; return 1; fi
  lines=$(grep -c '^burrow: ' "$err" || true)
  if [ "$lines" -ne 1 ]; then
    REASON="expected one 'burrow: ' line on stderr, got $lines: $(tr '\n' '|' <"$err" | cut -c1-300)"
    return 1
  fi
  line=$(grep '^burrow: ' "$err")
  case $line in *"$host"*) ;; *) REASON="'$line' does not name $host"; return 1 ;; esac
  if ! printf '%s\n' "$line" | grep -Eq "(^|[^0-9])$want([^0-9]|$)"; then
    REASON="'$line' does not name status $want"
    return 1
  fi
}

check() { # NAME STATUS HOST ID SECRET
  test_case "$1"
  if refused "$2" "$3" "$4" "$5"; then pass; else fail_continue "$REASON"; fi
}

check "wrong secret: 401" 401 ssh.site.test "$ID" "$WRONG_SECRET"

test_case "revoked token: works before, 401 right after 'service-token revoke'"
out=$(timeout 30 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $GONE_ID --secret $GONE_SECRET" \
  "$SSH_USER@ssh.site.test" 'echo ok' 2>>"$LOGS/ssh.err") || fail_continue "token 'gone' refused before revocation"
if [ "${out:-}" = ok ]; then
  admin service-token revoke gone >/dev/null
  if refused 401 ssh.site.test "$GONE_ID" "$GONE_SECRET"; then pass; else fail_continue "$REASON"; fi
fi

test_case "service token created with --duration 2s: 401 'expired' once 2 s have passed"
while [ $(($(now_ms) - SHORT_AT)) -lt 3000 ]; do sleep 0.2; done
if ! refused 401 ssh.site.test "$SHORT_ID" "$SHORT_SECRET"; then
  fail_continue "$REASON"
elif [ "$(grep '^burrow: ' "$T/refused-401-ssh.site.test.err")" != "burrow: ssh.site.test: edge refused the session (401 Unauthorized): service token expired: create a new one with burrow admin service-token create" ]; then
  fail_continue "the refusal does not say the token expired: $(grep '^burrow: ' "$T/refused-401-ssh.site.test.err")"
else
  pass
fi

check "token no policy names: 403" 403 ssh.site.test "$OTHER_ID" "$OTHER_SECRET"
check "unknown hostname nope.site.test: 404" 404 nope.site.test "$ID" "$SECRET"
check "app with no connector (ssh2.site.test): 502" 502 ssh2.site.test "$ID" "$SECRET"

test_case "connector whose origin port is closed (ssh3.site.test): 502 with the cause, not the origin's address"
# The origin's address is the connector's business: the client is told why, the edge's log where.
if ! refused 502 ssh3.site.test "$ID" "$SECRET"; then
  fail_continue "$REASON"
else
  line=$(grep '^burrow: ' "$T/refused-502-ssh3.site.test.err")
  if [ "$line" != "burrow: ssh3.site.test: edge refused the session (502 Bad Gateway): origin unreachable: the connector could not connect to the origin: connection refused" ]; then
    fail_continue "unexpected line: $line"
  elif [[ $line == *"$CLOSED_PORT"* ]]; then
    fail_continue "the client's line names the origin's port $CLOSED_PORT: $line"
  elif ! grep -q "502 origin unreachable: origin localhost:$CLOSED_PORT for ssh3.site.test: connection refused" "$LOGS/edge.log"; then
    fail_continue "the edge's log lacks the origin's address: $(grep -m1 'origin unreachable' "$LOGS/edge.log" || true)"
  else
    pass
  fi
fi

# tls_refused WHAT NEEDLE VAR=VALUE: ssh through burrow with VAR=VALUE in the client's environment
# fails within 10 s with one "burrow: " line on stderr that contains NEEDLE.
tls_refused() { # WHAT NEEDLE VAR=VALUE...
  local what=$1 needle=$2 rc=0 t0 ms err=$T/tls-refused.err
  shift 2
  local setting="$*"
  test_case "$what"
  t0=$(now_ms)
  env "$@" timeout 15 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $ID --secret $SECRET" \
    "$SSH_USER@ssh.site.test" 'echo reached' >"$T/tls-refused.out" 2>"$err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$err" >>"$LOGS/ssh.err"
  step "ssh exit $rc after $ms ms; stderr: $(tr '\n' '|' <"$err" | cut -c1-300)"
  [ "$rc" -ne 0 ] || fail "ssh succeeded with $setting"
  [ "$ms" -lt 10000 ] || fail "ssh took $ms ms to fail"
  assert_eq 1 "$(grep -c '^burrow: ' "$err")" "'burrow: ' lines on stderr"
  assert_contains "$(grep '^burrow: ' "$err")" "$needle"
  pass
}
printf 'not a certificate\n' >"$T/garbage.pem"
tls_refused "BURROW_CA that holds no certificate: says it cannot load it" "cannot load CA file $T/garbage.pem" \
  BURROW_CA="$T/garbage.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other-ca \
  -keyout "$T/other-ca.key" -out "$T/other-ca.pem" 2>/dev/null
tls_refused "BURROW_CA of another CA: certificate not trusted, and why" \
  "its certificate for ssh.site.test is not trusted (unable to get local issuer certificate): set BURROW_CA to the edge's ca.pem" \
  BURROW_CA="$T/other-ca.pem"
# TLS servers that are not our edge, with certificates of that other CA (trusted through BURROW_CA):
# other-name for another name, expired for the right name but valid only in 2020 (both also for
# 127.0.0.1, the address the connector dials), other-ip for another name only.
cat >"$T/other-ca.cnf" <<EOF
[ca]
default_ca = other
[other]
database = $T/other-ca.idx
serial = $T/other-ca.srl
new_certs_dir = $T
policy = any
default_md = sha256
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
: >"$T/other-ca.idx"
echo 01 >"$T/other-ca.srl"
other_cert() { # NAME SAN OUT [openssl ca options]
  local name=$1 san=$2 out=$3
  shift 3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -addext "subjectAltName=$san" -keyout "$out.key" -out "$out.csr" 2>/dev/null &&
    openssl ca -batch -config "$T/other-ca.cnf" -cert "$T/other-ca.pem" -keyfile "$T/other-ca.key" \
      -in "$out.csr" -out "$out" "$@" >/dev/null 2>&1 || fail "openssl ca could not issue $out"
}
other_cert other.site.test DNS:other.site.test,IP:127.0.0.1 "$T/other-name.pem" -days 1
other_cert other.site.test DNS:other.site.test "$T/other-ip.pem" -days 1
other_cert ssh.site.test DNS:ssh.site.test,IP:127.0.0.1 "$T/expired.pem" -startdate 20200101000000Z -enddate 20200102000000Z
declare -A PORT=()
for cert in other-name expired other-ip; do
  port=$(free_port)
  spawn "s_server-$cert" openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$T/$cert.pem" \
    -key "$T/$cert.pem.key"
  wait_for 5 port_open "$port" || fail "openssl s_server ($cert) did not listen on $port"
  PORT[$cert]=$port
done
tls_refused "an edge certificate for another name: says so, and to check BURROW_EDGE" \
  "its certificate is not valid for ssh.site.test (hostname mismatch): check that BURROW_EDGE names the burrow edge that serves ssh.site.test" \
  BURROW_CA="$T/other-ca.pem" BURROW_EDGE="127.0.0.1:${PORT[other-name]}"
tls_refused "an expired edge certificate: says so, and to check the clocks" \
  "its certificate for ssh.site.test is refused (certificate has expired): check this machine's clock and the edge's" \
  BURROW_CA="$T/other-ca.pem" BURROW_EDGE="127.0.0.1:${PORT[expired]}"
# The connector logs the same causes, each with its own hint, and keeps retrying.
connector_tls_refused() { # WHAT EDGE-PORT NEEDLE
  local what=$1 port=$2 needle=$3 log=$LOGS/connector-tls-$2.log
  test_case "$what"
  spawn "connector-tls-$port" env BURROW_CA="$T/other-ca.pem" "$BURROW" tunnel run \
    --credentials-file "$T/host3.json" --hostname ssh3.site.test --url "ssh://localhost:1" \
    --edge "127.0.0.1:$port" --ha-connections 1 --logfile "$log" --loglevel info
  local pid=$BG_PID
  wait_for 10 grep -q 'failed: TLS handshake' "$log" || fail "no TLS failure in the connector's log within 10 s"
  step "$(grep -m1 'failed: TLS handshake' "$log")"
  assert_contains "$(grep -m1 'failed: TLS handshake' "$log")" "$needle"
  _alive "$pid" || fail "the connector exited after a failed handshake"
  stop_pid "$pid"
  pass
}
connector_tls_refused "connector, edge certificate for another name: log says so, and to check --edge" \
  "${PORT[other-ip]}" \
  "certificate for another host: IP address mismatch (does --edge name the edge by a name its certificate holds?)"
connector_tls_refused "connector, expired edge certificate: log says so, and to check the clocks" "${PORT[expired]}" \
  "certificate refused: certificate has expired (check the clocks of this machine and the edge)"
tls_refused "BURROW_CA that does not exist: says it cannot read it" "cannot read CA file $T/missing.pem" \
  BURROW_CA="$T/missing.pem"
# burrow reads OpenSSL's configuration only when OPENSSL_CONF names one (start-up time); one that
# allows only a cipher suite the edge does not offer must fail, and say so rather than blame the CA.
cat >"$T/ccm8.cnf" <<'EOF'
openssl_conf = t_init
[t_init]
ssl_conf = t_ssl
[t_ssl]
system_default = t_sys
[t_sys]
MinProtocol = TLSv1.3
Ciphersuites = TLS_AES_128_CCM_8_SHA256
EOF
tls_refused "OPENSSL_CONF allowing no cipher suite of the edge's: handshake failure, names OPENSSL_CONF" \
  "failed: sslv3 alert handshake failure: check that BURROW_EDGE names the edge's listener and what OPENSSL_CONF allows" \
  OPENSSL_CONF="$T/ccm8.cnf"

test_case "after all refusals the allowed token still gets through"
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "every refused or finished connection released its unauthenticated count (none refused for it)"
# A count the edge never released would lock 127.0.0.1 out once it reached --max-unauth-per-addr.
wait_for 5 unauth_released ||
  fail "the edge still counts $(edge_metric 'burrow_edge_unauth_connections{listener="client"}') client and $(edge_metric 'burrow_edge_unauth_connections{listener="tunnel"}') tunnel connections as unauthenticated"
assert_eq 0 "$(edge_metric 'burrow_edge_unauth_refused_total{listener="client"}')" "connections refused over the cap"
pass
