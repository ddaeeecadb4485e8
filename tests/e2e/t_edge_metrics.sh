#!/usr/bin/env bash
# The edge's metrics (--metrics, README "Metrics") count exactly what happened: after a known
# sequence — one ssh session held open, one that uploads 1 MiB, one that downloads 2 MiB, then one
# refusal each of 401, 403, 404 and 502, and one connector registration with a wrong secret — the
# series show sessions_total 3 (1 active while the first is open, 0 once all ended), bytes up and
# down at least what was sent (and not twice as much), one refusal per status and none other,
# one refused registration, and tunnel_connections 4 while the connector is up, 0 once it stops.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
start_stack
create_service_token other # named by no policy: 403
OTHER_ID=$TOKEN_ID OTHER_SECRET=$TOKEN_SECRET
admin app create --name ssh2 --hostname ssh2.site.test >/dev/null # no tunnel serves it: 502
admin policy add --app ssh2 --action service_auth --include service-token=ci >/dev/null

m() { edge_metric "burrow_edge_$1"; }
refused() { m "refused_total{status=\"$1\"}"; }
# expect "NAME=VALUE ..." : every series NAME (burrow_edge_ omitted) has exactly VALUE; prints the
# mismatches ("NAME=GOT (expected VALUE)"), nothing when all match.
expect() {
  local kv got
  for kv in "$@"; do
    got=$(m "${kv%=*}")
    [ "$got" = "${kv##*=}" ] || printf '%s=%s (expected %s); ' "${kv%=*}" "${got:-absent}" "${kv##*=}"
  done
}
ZERO_REFUSED=('refused_total{status="401"}=0' 'refused_total{status="403"}=0' 'refused_total{status="404"}=0'
  'refused_total{status="502"}=0' 'refused_total{status="503"}=0' 'refused_total{status="other"}=0')

test_case "before any session: no sessions, refusals or bytes; 4 tunnel connections"
bad=$(expect sessions_total=0 sessions_active=0 'bytes_total{dir="up"}=0' 'bytes_total{dir="down"}=0' \
  tunnel_connections=4 registrations_refused_total=0 "${ZERO_REFUSED[@]}")
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi

test_case "while one ssh session is open: sessions_total 1, sessions_active 1"
(
  rc=0
  bssh "$SSH_USER@ssh.site.test" "echo up; until [ -e '$T/go' ]; do sleep 0.1; done; echo done" >"$T/held.out" || rc=$?
  echo "$rc" >"$T/held.rc"
) &
HELD=$!
up() { grep -qx up "$T/held.out" 2>/dev/null; }
if ! wait_for 30 up; then
  fail_continue "the session did not come up: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
else
  bad=$(expect sessions_total=1 sessions_active=1)
  if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi
fi
touch "$T/go"
wait "$HELD" || true

test_case "after a 1 MiB upload and a 2 MiB download: sessions_total 3, active 0, bytes counted once each way"
head -c 1048576 /dev/urandom >"$T/up.bin"
bssh "$SSH_USER@ssh.site.test" 'cat >/dev/null' <"$T/up.bin" || fail "upload: ssh exited $?: $(tail -n 2 "$LOGS/ssh.err")"
got=$(bssh "$SSH_USER@ssh.site.test" 'head -c 2097152 /dev/urandom' | wc -c) || fail "download: ssh failed: $(tail -n 2 "$LOGS/ssh.err")"
assert_eq 2097152 "$got" "bytes downloaded"
ended() { [ "$(m sessions_active)" = 0 ]; }
wait_for 10 ended || true
up_b=$(m 'bytes_total{dir="up"}') down_b=$(m 'bytes_total{dir="down"}')
step "bytes up $up_b, down $down_b (sent 1048576 up, 2097152 down, plus ssh's own)"
bad=$(expect sessions_total=3 sessions_active=0)
# ssh's own traffic over three sessions (handshakes, the held one's lines) is a few tens of KiB.
if [ -n "$bad" ]; then
  fail_continue "$bad"
elif [ "${up_b:-0}" -lt 1048576 ] || [ "$up_b" -ge $((1048576 + 524288)) ]; then
  fail_continue "bytes up $up_b: expected 1 MiB plus less than 512 KiB of ssh's own"
elif [ "${down_b:-0}" -lt 2097152 ] || [ "$down_b" -ge $((2097152 + 524288)) ]; then
  fail_continue "bytes down $down_b: expected 2 MiB plus less than 512 KiB of ssh's own"
else pass; fi

# refuse STATUS HOST ID SECRET: burrow access to HOST is refused with STATUS.
refuse() {
  local rc=0 err
  err=$(timeout 15 "$BURROW" access ssh --hostname "$2" --id "$3" --secret "$4" 2>&1 >/dev/null) || rc=$?
  step "$1: exit $rc: $err"
  case $err in "burrow: $2: edge refused the session ($1 "*) ;; *) fail "expected a $1 refusal for $2, got (exit $rc): $err" ;; esac
}
test_case "one refusal each of 401, 403, 404 and 502: each counted once, under its status"
refuse 401 ssh.site.test "$ID" "$(printf '0%.0s' $(seq 1 64))"
refuse 403 ssh.site.test "$OTHER_ID" "$OTHER_SECRET"
refuse 404 nope.site.test "$ID" "$SECRET"
refuse 502 ssh2.site.test "$ID" "$SECRET"
bad=$(expect 'refused_total{status="401"}=1' 'refused_total{status="403"}=1' 'refused_total{status="404"}=1' \
  'refused_total{status="502"}=1' 'refused_total{status="503"}=0' 'refused_total{status="other"}=0' \
  sessions_total=3 sessions_active=0)
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi

test_case "a connector with a wrong tunnel secret: registrations_refused_total 1, tunnel_connections still 4"
"$PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1])); c["tunnel_secret"] = "0" * len(c["tunnel_secret"])
json.dump(c, open(sys.argv[2], "w"))' "$T/host1.json" "$T/wrong.json"
chmod 600 "$T/wrong.json"
rc=0
timeout 20 "$BURROW" tunnel run --credentials-file "$T/wrong.json" --hostname ssh.site.test \
  --url "ssh://localhost:$SSHD_PORT" --edge "127.0.0.1:$EDGE_TUNNEL_PORT" --ha-connections 1 \
  --logfile "$LOGS/connector-wrong.log" >/dev/null 2>"$LOGS/connector-wrong.err" || rc=$?
step "the connector with the wrong secret exited $rc: $(tail -n 1 "$LOGS/connector-wrong.err")"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
  fail_continue "the connector with a wrong secret exited $rc (expected it to end with the refusal)"
else
  bad=$(expect registrations_refused_total=1 tunnel_connections=4)
  if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi
fi

test_case "the connector stops: tunnel_connections 0"
stop_pid "$CONNECTOR_PID"
gone() { [ "$(m tunnel_connections)" = 0 ]; }
if wait_for 10 gone; then pass; else fail_continue "tunnel_connections is $(m tunnel_connections) 10 s after the connector stopped"; fi
