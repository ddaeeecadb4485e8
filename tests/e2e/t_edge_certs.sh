#!/usr/bin/env bash
# Edge certificates (README "Edge certificates"): with `--tls-cert chain.pem --tls-key key.pem`
# (repeatable) the edge serves that chain to a client asking (SNI) for a name the certificate
# covers: a wildcard *.site.test covers a.site.test and ssh.site.test, so ssh through burrow works
# with BURROW_CA set to the user's own root (and not with the edge's CA); a second --tls-cert
# serves its own name; a name two labels under the wildcard (a.b.site.test) or the wildcard's apex
# (site.test) gets a certificate from the edge's CA instead. `--name` adds names (DNS or IP) to the
# certificate a client gets when it dials the edge by IP without SNI.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- the user's own PKI

P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$LOGS/openssl.err" || fail "openssl $1 failed: $(tail -n 2 "$LOGS/openssl.err")"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
# sign NAME CN ISSUER EXTENSIONS: $P/NAME.pem for $P/NAME.key, signed by $P/ISSUER.{pem,key}
sign() {
  newkey "$P/$1.key"
  ossl req -new -key "$P/$1.key" -subj "/O=user pki/CN=$2" -out "$P/$1.csr"
  printf '%s\n' "$4" >"$P/$1.ext"
  ossl x509 -req -in "$P/$1.csr" -CA "$P/$3.pem" -CAkey "$P/$3.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -sha256 -extfile "$P/$1.ext" -out "$P/$1.pem"
}
newkey "$P/root.key"
ossl req -x509 -new -key "$P/root.key" -subj "/O=user pki/CN=user root" -days 2 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/root.pem"
sign int "user intermediate" root $'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign'
LEAF=$'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'
sign wild "wildcard site.test" int "$LEAF"$'\nsubjectAltName=DNS:*.site.test'
cat "$P/wild.pem" "$P/int.pem" >"$P/wild-chain.pem"
sign other "ssh.other.test" root "$LEAF"$'\nsubjectAltName=DNS:ssh.other.test'

start_sshd
start_edge --tls-cert "$P/wild-chain.pem" --tls-key "$P/wild.key" --tls-cert "$P/other.pem" --tls-key "$P/other.key" \
  --name edge.example.com --name 192.0.2.7
setup_service_token
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
ssh_cfg

# served SNI: the certificates the edge sends for SNI (none when SNI is "-"), PEM, in $T/served.pem;
# the s_client output in $T/s_client.out.
served() {
  local sni=(-servername "$1")
  [ "$1" != - ] || sni=(-noservername)
  timeout 10 openssl s_client -connect "127.0.0.1:$EDGE_PORT" "${sni[@]}" -showcerts </dev/null \
    >"$T/s_client.out" 2>>"$LOGS/openssl.err" || true
  sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$T/s_client.out" >"$T/served.pem"
  [ -s "$T/served.pem" ] || fail "no certificate from the edge for SNI $1: $(tail -n 2 "$LOGS/openssl.err")"
}
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
ncerts() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1"; }
field() { openssl x509 -noout "-$1" -nameopt compat -in "$2" | sed "s/^$1=//"; }
san() { openssl x509 -noout -ext subjectAltName -in "$1" | sed -n '2,$p' | tr -d ' '; }
# verifies NAME CAFILE: the served chain verifies for NAME against CAFILE
verifies() {
  openssl verify -CAfile "$2" -untrusted "$T/served.pem" -verify_hostname "$1" "$T/served.pem" >>"$LOGS/openssl.err" 2>&1
}

test_case "a.site.test: the edge serves the --tls-cert chain (wildcard leaf + intermediate), valid under the user's root"
served a.site.test
step "served: $(ncerts "$T/served.pem") certificates, subject '$(field subject "$T/served.pem")', issuer '$(field issuer "$T/served.pem")'"
if [ "$(fp "$T/served.pem")" != "$(fp "$P/wild.pem")" ]; then
  fail_continue "the leaf served is '$(field subject "$T/served.pem")' (issuer '$(field issuer "$T/served.pem")'), not the --tls-cert one"
elif [ "$(ncerts "$T/served.pem")" != 2 ]; then
  fail_continue "$(ncerts "$T/served.pem") certificates served, expected the leaf and the intermediate"
elif ! verifies a.site.test "$P/root.pem"; then
  fail_continue "the chain served does not verify for a.site.test against the user's root: $(tail -n 1 "$LOGS/openssl.err")"
else pass; fi

test_case "ssh through burrow to ssh.site.test (covered by the wildcard) works with BURROW_CA = the user's root"
out=$(BURROW_CA=$P/root.pem bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "... and is refused as untrusted with BURROW_CA = the edge's own CA"
rc=0
err=$(timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" --secret "$SECRET" 2>&1 >/dev/null) || rc=$?
step "exit $rc: $err"
case $err in
  "burrow: ssh.site.test: TLS handshake with edge 127.0.0.1:$EDGE_PORT failed: its certificate for ssh.site.test is not trusted"*) pass ;;
  *) fail_continue "expected the 'not trusted' line, got (exit $rc): $err" ;;
esac

test_case "ssh.other.test: the second --tls-cert is served for its name"
served ssh.other.test
if [ "$(fp "$T/served.pem")" != "$(fp "$P/other.pem")" ]; then
  fail_continue "served '$(field subject "$T/served.pem")' (issuer '$(field issuer "$T/served.pem")'), not the second --tls-cert"
elif ! verifies ssh.other.test "$P/root.pem"; then
  fail_continue "does not verify against the user's root: $(tail -n 1 "$LOGS/openssl.err")"
else pass; fi

# edge_ca_cert NAME: the edge served a certificate of its own CA, valid for NAME
edge_ca_cert() {
  served "$1"
  step "$1: subject '$(field subject "$T/served.pem")', issuer '$(field issuer "$T/served.pem")', SAN $(san "$T/served.pem")"
  if [ "$(fp "$T/served.pem")" = "$(fp "$P/wild.pem")" ]; then
    fail_continue "the edge served the wildcard --tls-cert for $1"
  elif ! verifies "$1" "$EDGE_DIR/ca.pem"; then
    fail_continue "the certificate served for $1 is not the edge CA's for $1: $(field subject "$T/served.pem") by $(field issuer "$T/served.pem"): $(tail -n 1 "$LOGS/openssl.err")"
  else pass; fi
}
admin app create --name ab --hostname a.b.site.test >/dev/null
test_case "a.b.site.test (two labels under *.site.test): a certificate from the edge's CA, not the wildcard"
edge_ca_cert a.b.site.test
test_case "site.test (the wildcard's apex): a certificate from the edge's CA, not the wildcard"
edge_ca_cert site.test

test_case "by IP without SNI: the edge CA's certificate names the --name names besides 127.0.0.1"
served -
names=$(san "$T/served.pem")
step "subject '$(field subject "$T/served.pem")', SAN $names"
if ! verifies edge.example.com "$EDGE_DIR/ca.pem"; then
  fail_continue "not valid for edge.example.com under the edge's CA (SAN $names): $(tail -n 1 "$LOGS/openssl.err")"
else
  case ",$names," in
    *,IPAddress:192.0.2.7,*) case ",$names," in
      *,IPAddress:127.0.0.1,*) pass ;;
      *) fail_continue "SAN $names lacks 127.0.0.1" ;;
    esac ;;
    *) fail_continue "SAN $names lacks the --name 192.0.2.7" ;;
  esac
fi
