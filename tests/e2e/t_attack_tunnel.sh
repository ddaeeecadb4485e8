#!/usr/bin/env bash
# Attack suite, connectors (issue 4, part 2; issue 25, part 4): a connector may serve only
# hostnames an admin routed to its own tunnel, and only with its tunnel's secret. A connector of
# tunnel host2 that asks for ssh.site.test (routed to host1) — also spelled SSH.Site.Test. — a
# connector of host4 that asks for an unrouted hostname (alone, or next to ssh.site.test), and a
# connector with host1's credentials that asks for host2's hostname are refused: each exits non-zero
# at once with one "burrow: " line naming the hostname, and the routes stay as they were (tunnel
# credentials claim nothing). A wrong secret, an unknown or deleted tunnel, or host2's id with host1's secret: "tunnel
# credentials rejected". A credentials file whose secret is longer than a registration holds (200
# characters) is refused at start with one line naming the limit (the connector used to send the
# bytes after the secret's buffer, then retry for ever). After each, the rightful connectors still
# serve their hostnames.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
setup_service_token ci2 ssh2 ssh2.site.test # app ssh2 (ssh2.site.test), token ci2
ID2=$TOKEN_ID SECRET2=$TOKEN_SECRET
ID=$(json_get client_id <"$T/token-ci.json") SECRET=$(json_get client_secret <"$T/token-ci.json")
export ID SECRET
create_tunnel host2 ssh2.site.test
start_connector host2 ssh2.site.test "ssh://localhost:$SSHD_PORT"
create_tunnel host3 # deleted below: its credentials must stop working
admin tunnel delete host3 >/dev/null
create_tunnel host4 # no routes
HOST1_PID=${CONNECTOR_PIDS[host1]}
HOST2_PID=${CONNECTOR_PIDS[host2]}

REASON=""

# creds OUT TUNNEL_ID_FROM SECRET_FROM: a credentials file with the tunnel_id of one file and the
# tunnel_secret of another (or the literal secret, when SECRET_FROM is not a file).
creds() {
  "$PYTHON" - "$2" "$3" >"$T/$1.json" <<'PY'
import json, os, sys
a = json.load(open(sys.argv[1]))
b = sys.argv[2]
a["tunnel_secret"] = json.load(open(b))["tunnel_secret"] if os.path.isfile(b) else b
print(json.dumps(a))
PY
  chmod 600 "$T/$1.json"
}

# serving: the edge and both rightful connectors are up and ssh works to both hostnames.
serving() {
  local out h
  if ! _alive "$EDGE_PID"; then
    REASON="the edge died: $(tail -n 3 "$LOGS/edge.err" | tr '\n' '|')"
    return 1
  fi
  if ! _alive "$HOST1_PID" || ! _alive "$HOST2_PID"; then
    REASON="a rightful connector exited: $(tail -n 2 "$LOGS/connector-host1.err" "$LOGS/connector-host2.err" | tr '\n' '|')"
    return 1
  fi
  for h in ssh.site.test ssh2.site.test; do
    if [ $h = ssh.site.test ]; then
      out=$(bssh "$SSH_USER@$h" 'echo ok') || true
    else
      out=$(timeout --foreground "$SSH_TIMEOUT" ssh -F "$SSH_CFG" \
        -o ProxyCommand="$BURROW access ssh --hostname %h --id $ID2 --secret $SECRET2" \
        "$SSH_USER@$h" 'echo ok' 2>>"$LOGS/ssh.err") || true
    fi
    if [ "$out" != ok ]; then
      REASON="ssh to $h failed afterwards: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
      return 1
    fi
  done
}

# routes: "hostname tunnel" lines of burrow admin route list, sorted.
routes() { admin route list | awk 'NR > 1 { print $1, $2 }' | sort; }
ROUTES0=$(routes)
step "routes: $(printf '%s' "$ROUTES0" | tr '\n' ',')"

# refused_connector TITLE NEEDLE CREDS HOSTNAME...: burrow tunnel run with CREDS for HOSTNAMEs exits
# non-zero within 15 s; its stderr is one "burrow: " line that contains NEEDLE; the routes are
# unchanged; the rightful connectors still serve.
refused_connector() {
  local title=$1 needle=$2 cred=$3 rc=0 t0 ms lines line h args=()
  shift 3
  for h in "$@"; do args+=(--hostname "$h" --url "ssh://localhost:$SSHD_PORT"); done
  test_case "$title"
  t0=$(now_ms)
  timeout 20 "$BURROW" tunnel run --credentials-file "$T/$cred.json" "${args[@]}" \
    --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --logfile "$LOGS/attacker.log" --loglevel "$LOGLEVEL" \
    >"$T/attacker.out" 2>"$T/attacker.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/attacker.err" >>"$LOGS/attacker.err"
  step "connector exit $rc after $ms ms: $(tr '\n' '|' <"$T/attacker.err" | cut -c1-300)"
  lines=$(grep -c '^burrow: ' "$T/attacker.err" || true)
  line=$(grep -m1 '^burrow: ' "$T/attacker.err" || true)
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
    fail_continue "the connector did not exit non-zero within 20 s (exit $rc)"
  elif [ "$ms" -ge 15000 ]; then
    fail_continue "the connector took $ms ms to give up"
  elif [ "$lines" -ne 1 ] || [ "$(grep -c '' "$T/attacker.err")" -ne 1 ]; then
    fail_continue "expected one 'burrow: ' line on stderr, got: $(tr '\n' '|' <"$T/attacker.err" | cut -c1-300)"
  elif [[ $line != *"$needle"* ]]; then
    fail_continue "'$line' does not say '$needle'"
  elif [ "$(routes)" != "$ROUTES0" ]; then
    fail_continue "routes changed: $(routes | tr '\n' ',') (were $(printf '%s' "$ROUTES0" | tr '\n' ','))"
  elif serving; then pass; else fail_continue "$REASON"; fi
}

refused_connector "host2's connector asking for ssh.site.test (routed to host1) is refused, naming the hostname" \
  "hostname ssh.site.test is routed to another tunnel, not to tunnel host2" host2 ssh.site.test
refused_connector "host2's connector asking for SSH.Site.Test. (case, trailing dot) is refused the same way" \
  "hostname ssh.site.test is routed to another tunnel, not to tunnel host2" host2 SSH.Site.Test.
refused_connector "host4's credentials cannot claim an unrouted hostname" \
  "hostname free.site.test is not routed to tunnel host4: run burrow admin route add host4 free.site.test" \
  host4 free.site.test
refused_connector "host4 asking for ssh.site.test and an unrouted hostname is refused and routes neither" \
  "hostname ssh.site.test is routed to another tunnel, not to tunnel host4" host4 ssh.site.test free.site.test
refused_connector "host1's credentials cannot serve ssh2.site.test (routed to host2)" \
  "hostname ssh2.site.test is routed to another tunnel, not to tunnel host1" host1 ssh2.site.test

creds wrong-secret "$T/host1.json" "$(printf '0%.0s' $(seq 1 64))"
refused_connector "host1's tunnel id with a wrong secret: credentials rejected" \
  "tunnel credentials rejected" wrong-secret ssh.site.test
creds swapped "$T/host2.json" "$T/host1.json"
refused_connector "host2's tunnel id with host1's secret: credentials rejected" \
  "tunnel credentials rejected" swapped ssh2.site.test
creds deleted "$T/host3.json" "$T/host3.json"
refused_connector "credentials of a deleted tunnel (host3): credentials rejected" \
  "tunnel credentials rejected" deleted free.site.test
"$PYTHON" - "$T/host1.json" >"$T/unknown.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
a["tunnel_id"] = "00000000-0000-4000-8000-000000000000"
print(json.dumps(a))
PY
chmod 600 "$T/unknown.json"
refused_connector "an unknown tunnel id with host1's secret: credentials rejected" \
  "tunnel credentials rejected" unknown free.site.test

creds long-secret "$T/host1.json" "$(printf 'a%.0s' $(seq 1 200))"
refused_connector "a credentials file whose secret is 200 characters: refused at start, naming the limit" \
  "the tunnel secret in $T/long-secret.json is 200 characters long; a tunnel secret has at most 159" \
  long-secret ssh.site.test

test_case "after every refusal host1 and host2 keep all their registered connections"
lost=$(grep -hE 'to edge .* (lost|failed)' "$LOGS/connector-host1.log" "$LOGS/connector-host2.log" || true)
if [ -n "$lost" ] || [ "$(registered_count host1)" -ne 4 ] || [ "$(registered_count host2)" -ne 4 ]; then
  fail_continue "a rightful connector lost or redialled a connection: $(printf '%s' "$lost" | head -n 2 | tr '\n' '|')"
elif serving; then pass; else fail_continue "$REASON"; fi
