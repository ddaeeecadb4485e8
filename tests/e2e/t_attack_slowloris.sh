#!/usr/bin/env bash
# Attack suite, slowloris on both listeners (issue 4, part 2): 200+ connections that stall at once
# — half a TLS ClientHello or half a request head on the main listener, one that drips a byte of
# its head every 0.5 s, half a ClientHello, a silent TLS session and an HTTP/2 peer that never
# registers on the tunnel listener. While they are open a normal ssh session works; the edge closes
# each of them 10 s after accept (no sooner than 9 s, no later than 20 s after connect) (its head and registration timeouts, README "When the edge
# says no"), drip or not; afterwards it holds no more descriptors than before, counts none of them as
# unauthenticated (src/edge/auth/unauth.c), and still serves ssh.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT SSHD_PORT ID SECRET

# Seconds from connect to the edge's close, for every connection of a category: at least MIN (the
# edge's 10 s head/registration timeouts, src/edge/http/front.c FRONT_HEAD_TIMEOUT_MS, tunnels.c
# REG_TIMEOUT_MS, count from accept, after the client's clock starts; 1 s below them for libuv's
# cached loop time and edge_attack.py's 0.1 s rounding) and at most MAX (the 10 s timeout plus 10 s
# for a loaded 2-core machine; the old bound, 11.5 s, left 1.5 s). Measured (ASan build): every
# category closed at 10.0 s, min and max, also beside t_attack_h2 and t_load_halfopen on the same
# 2 cores. A connection the edge never closes (timeout gone, or restarted by each dripped byte)
# stays open past edge_attack.py's 25 s and fails "closed" (mutant slowloris_no_head_timeout:
# 0 of 100 closed); one closed early, say at 5 s, fails MIN.
MIN=9.0
MAX=20

fds() { find "/proc/$EDGE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

fd0=$(fds)
attack slowloris "$T/slow.ready" --hello 100 --head 50 --tunnel 50 >"$T/slow.out" &
SLOW=$!

test_case "while 200+ stalled connections are open on both listeners, ssh through the edge works"
if ! wait_for 30 test -e "$T/slow.ready"; then
  fail_continue "the stalled connections were not all open after 30 s: $(tail -n 2 "$LOGS/attack.err" | tr '\n' '|')"
else
  step "$(cat "$T/slow.ready") stalled connections open; edge holds $(fds) descriptors (was $fd0)"
  if serving; then pass; else fail_continue "$REASON"; fi
fi
wait "$SLOW" || true
sed 's/^/   .. /' "$T/slow.out"

# closed_in_time CATEGORY TITLE: every connection of CATEGORY was closed by the edge, the first no
# sooner than $MIN s and the last within $MAX s of its connect.
closed_in_time() {
  local line n closed min max
  test_case "$2"
  line=$(grep "^$1 " "$T/slow.out" || true)
  if [ -z "$line" ]; then
    fail_continue "no result for $1: $(tail -n 1 "$LOGS/attack.err")"
    return 0
  fi
  n=$(printf '%s\n' "$line" | sed -n 's/.* n=\([0-9]*\) .*/\1/p')
  closed=$(printf '%s\n' "$line" | sed -n 's/.* closed=\([0-9]*\) .*/\1/p')
  min=$(printf '%s\n' "$line" | sed -n 's/.* min=\([-0-9.]*\)s.*/\1/p')
  max=$(printf '%s\n' "$line" | sed -n 's/.* max=\([-0-9.]*\)s.*/\1/p')
  if [ "$closed" != "$n" ]; then
    fail_continue "$closed of $n connections closed by the edge within 25 s ($line)"
  elif ! awk -v m="$min" -v l="$MIN" 'BEGIN { exit !(m >= l) }'; then
    fail_continue "the first one was closed after ${min}s, before the 10 s timeout (at least ${MIN}s): $line"
  elif ! awk -v m="$max" -v l="$MAX" 'BEGIN { exit !(m <= l) }'; then
    fail_continue "the last one was closed after ${max}s (limit ${MAX}s): $line"
  elif serving; then pass; else fail_continue "$REASON"; fi
}

closed_in_time main-half-clienthello "main listener: 100 half ClientHellos are closed within ~10 s"
closed_in_time main-half-head "main listener: 50 TLS sessions with half a request head are closed within ~10 s"
closed_in_time main-drip "main listener: a head dripped a byte every 0.5 s is still closed ~10 s after accept"
closed_in_time tunnel-half-clienthello "tunnel listener: 50 half ClientHellos are closed within ~10 s"
closed_in_time tunnel-tls-silent "tunnel listener: a TLS session that never speaks HTTP/2 is closed within ~10 s"
closed_in_time tunnel-h2-no-register "tunnel listener: an HTTP/2 peer that never registers is closed within ~10 s"

test_case "after the stalled connections are gone the edge holds no more descriptors than before and counts none as unauthenticated"
settle() { [ "$(fds)" -le $((fd0 + 2)) ]; }
if ! wait_for 5 settle; then
  fail_continue "the edge holds $(fds) descriptors, $fd0 before the attack"
elif ! wait_for 5 unauth_released; then
  fail_continue "the edge still counts $(edge_metric 'burrow_edge_unauth_connections{listener="client"}') client and $(edge_metric 'burrow_edge_unauth_connections{listener="tunnel"}') tunnel connections as unauthenticated"
elif ! grep -q 'did not register within' "$LOGS/edge.log"; then
  fail_continue "edge.log does not say why it closed the unregistered tunnel connections"
elif serving; then pass; else fail_continue "$REASON"; fi
