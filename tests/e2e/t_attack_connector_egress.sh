#!/usr/bin/env bash
# Attack suite, connector egress (issue 4, part 2: "connector egress limited to its ingress
# origins, no SSRF through crafted stream metadata"): a hostile edge (tests/e2e/attack/
# fake_edge.py, with its own CA that the connector is told to trust) registers a connector that
# serves ssh.site.test -> the test sshd and trap.site.test -> a trap listener (used once, as a
# control), then sends CONNECT streams with crafted metadata: hostnames without an ingress rule, IP
# literals and ports aimed at the trap, smuggled burrow-* headers, other stream kinds, a NUL, and
# one stream before the registration result. The connector dials only what its rules name (the
# trap sees the control's connection and nothing else), answers each crafted stream with its
# refusal, serves the legitimate ones (the sshd banner comes back) and keeps running. No real edge
# is involved: the "still serving" check here is the connector's, a legitimate stream to sshd.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow
start_sshd

# A CA and a certificate for 127.0.0.1 that only the fake edge holds.
mkdir -p "$T/fake"
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=fake-edge-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$T/fake/ca.key" -out "$T/fake/ca.pem" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
      -keyout "$T/fake/edge.key" -out "$T/fake/edge.csr" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
      >"$T/fake/ext" &&
    openssl x509 -req -days 1 -in "$T/fake/edge.csr" -CA "$T/fake/ca.pem" -CAkey "$T/fake/ca.key" \
      -CAcreateserial -extfile "$T/fake/ext" -out "$T/fake/edge.pem"
} >>"$LOGS/openssl.err" 2>&1 || fail "openssl could not make the fake edge's certificate: $(tail -n 2 "$LOGS/openssl.err")"
printf '{"tunnel_id":"00000000-0000-4000-8000-00000000fa4e","tunnel_name":"fake","tunnel_secret":"%s"}\n' \
  "$(printf 'f%.0s' $(seq 1 64))" >"$T/fake.json"
chmod 600 "$T/fake.json"

TRAP_PORT=$(free_port)
"$PYTHON" "$E2E_DIR/attack/fake_edge.py" "$T/fake/edge.pem" "$T/fake/edge.key" "$T/fake/port" "$TRAP_PORT" \
  >"$T/fake.out" 2>>"$LOGS/fake_edge.err" &
FAKE=$!
wait_for 10 test -s "$T/fake/port" || fail "the fake edge did not start: $(tail -n 2 "$LOGS/fake_edge.err")"
BURROW_CA=$T/fake/ca.pem spawn connector "$BURROW" tunnel run --credentials-file "$T/fake.json" \
  --hostname ssh.site.test --url "ssh://localhost:$SSHD_PORT" \
  --hostname trap.site.test --url "tcp://127.0.0.1:$TRAP_PORT" --edge "127.0.0.1:$(cat "$T/fake/port")" \
  --ha-connections 1 --logfile "$LOGS/connector.log" --loglevel "$LOGLEVEL"
CONN=$BG_PID
done_fake() { ! _alive "$FAKE"; }
wait_for 60 done_fake || fail "the fake edge did not finish within 60 s: $(tail -n 3 "$T/fake.out" | tr '\n' '|')"
wait "$FAKE" || fail "the fake edge failed: $(tail -n 3 "$LOGS/fake_edge.err" | tr '\n' '|') $(tr '\n' '|' <"$T/fake.out")"
sed 's/^/   .. /' "$T/fake.out"

# result CASE: the fake edge's line for CASE, without the name
result() { sed -n "s/^$1 //p" "$T/fake.out"; }

# stream CASE TITLE WANT...: the connector answered CASE with one of WANT, and is still running.
stream() {
  local name=$1 title=$2 got w
  shift 2
  test_case "$title"
  got=$(result "$name")
  for w in "$@"; do
    if [ "$got" = "$w" ]; then
      if _alive "$CONN"; then pass; else fail_continue "the connector exited: $(tail -n 2 "$LOGS/connector.err" | tr '\n' '|')"; fi
      return 0
    fi
  done
  fail_continue "expected $(printf "'%s' " "$@")but got '${got:-nothing}'"
}

test_case "the connector registers with the hostnames of its ingress rules only"
assert_eq "hostnames=ssh.site.test,trap.site.test" "$(result registration)" "registration"
pass

stream before-registered "a CONNECT before the registration result is refused (503)" "status=503"
stream legit "control: CONNECT ssh.site.test reaches the configured origin (sshd banner)" "status=200 banner=yes"
stream legit-no-kind "CONNECT ssh.site.test without burrow-kind: the configured origin" "status=200 banner=yes"
stream unknown-host "CONNECT evil.site.test (no ingress rule): 404" "status=404"
stream ip-port-of-trap "CONNECT 127.0.0.1:TRAP: refused (400), not dialled" "status=400"
stream ip-only "CONNECT 127.0.0.1: no rule, 404" "status=404" "status=400"
stream localhost "CONNECT localhost: no rule, 404" "status=404"
stream host-with-trap-port "CONNECT ssh.site.test:TRAP: refused (400), not dialled" "status=400"
stream bracketed-ip "CONNECT [127.0.0.1]:TRAP: refused (400)" "status=400"
stream wildcard "CONNECT *.site.test: refused (400)" "status=400"
stream long-name "CONNECT a 304-character name: refused (400)" "status=400"
stream nul-in-authority "CONNECT with a NUL in :authority: refused or reset" "status=400" "rst=1"
stream smuggled-destination "burrow-destination/-origin/-url headers naming the trap are ignored: the configured origin" \
  "status=200 banner=yes"
stream kind-udp "burrow-kind: udp: 501" "status=501"
stream kind-http "burrow-kind: http: 501" "status=501"
stream case-and-dot "CONNECT SSH.Site.Test. reaches ssh.site.test's origin" "status=200 banner=yes"
stream legit-again "after every crafted stream, ssh.site.test still reaches its origin" "status=200 banner=yes"

stream trap-rule "control: CONNECT trap.site.test (its rule) does reach the trap" "status=200 banner=no"

test_case "the trap listener saw no connection but the control's: nothing crafted was dialled"
assert_eq "trap_dials=1" "$(grep '^trap_dials=' "$T/fake.out")" "connections to the trap"
_alive "$CONN" || fail "the connector exited: $(tail -n 2 "$LOGS/connector.err" | tr '\n' '|')"
pass
