#!/usr/bin/env bash
# Half-open connections (hardening issue) and the cap on them per source address.
#
# Many addresses (release build: memory is its property): 10,000 TCP connections to the edge's
# front listener and 1,000 to its tunnel listener that never complete anything, all open at once,
# spread over 100 source addresses (127.77.x.y) so that none reaches the cap: first half of them
# send nothing, then the other half send the first half of a TLS ClientHello. The edge's memory
# per half-open connection of each kind is reported and bounded; ssh through burrow works while
# they are open; the edge closes every one at its 10 s head/registration timeout (README "When
# the edge says no": between 8 and 20 s after connect); afterwards it holds as many descriptors as before, counts no
# unauthenticated connection, and still serves ssh.
# One address (the ASan build from here on, so the new paths run under the sanitizers):
# (a) 5,000 silent connections to the front listener and 1,000 to the tunnel listener from
# 127.0.0.2: exactly 256 of each (the default --max-unauth-per-addr) are held, the others are
# reset at once; the metrics count both and the log says so in one line. (b) Meanwhile ssh from
# 127.0.0.2 is refused at once and ssh from 127.0.0.1 works; once the flood ends the counts are
# released and ssh from 127.0.0.2 works again. (c) With --max-unauth-per-addr 8, 20 authenticated
# ssh sessions from one address are open at once (the cap holds meanwhile for new connections).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# Fixed: no environment variable shrinks these (in CI nothing may shrink a test silently); a machine
# whose descriptor limit cannot hold them skips the whole test, reported as skipped.
N_FRONT=10000
N_TUNNEL=1000
SPREAD=100                           # source addresses for the many-address part
CAP=256                              # the edge's default --max-unauth-per-addr (src/edge/edge.h)
FLOOD_ADDR=127.0.0.2                 # the one address of (a) and (b)
FLOOD_FRONT=5000 FLOOD_TUNNEL=1000   # its connections
NEED=$((N_FRONT + N_TUNNEL + 1000))
ulimit -n "$NEED" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge "$NEED" ] ||
  skip "needs ulimit -n $NEED for $N_FRONT + $N_TUNNEL connections; the hard limit here is $(ulimit -Hn)"
step "ulimit -n $(ulimit -n)"
[ $(((N_FRONT + SPREAD - 1) / SPREAD)) -lt "$CAP" ] || fail "$N_FRONT connections over $SPREAD addresses reach the cap ($CAP)"
# Memory is a property of the release build (the sanitizers' allocator inflates every block).
REL=$REPO/build
[ -x "$REL/burrow" ] && [ -x "$REL/burrow-edge" ] || fail "missing release build in $REL (make all)"
SAN_BURROW=$BURROW
BURROW=$REL/burrow

EDGE_METRICS_PORT=$(free_port)
start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT

fds() { find "/proc/$EDGE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# field NAME LINE: the value of NAME=value in LINE
field() { printf '%s\n' "$2" | sed -n "s/.* $1=\([-0-9.]*\).*/\1/p"; }
fd0=$(fds) rss0=$(rss_kb "$EDGE_PID")
HALF_FRONT=$((N_FRONT / 2)) HALF_TUNNEL=$((N_TUNNEL / 2)) HALF_N=$(((N_FRONT + N_TUNNEL) / 2))

# ---------------------------------------------------------------- many addresses

# open_kind KIND: opens HALF_FRONT + HALF_TUNNEL connections of KIND over SPREAD addresses
# (halfopen.py, in the background, watching them until the edge closes them); checks that the edge
# accepted them all and that its memory per connection is at most 64 KiB.
open_kind() {
  local kind=$1 t0 fdb rssb fda rssa per
  fdb=$(fds) rssb=$(rss_kb "$EDGE_PID")
  t0=$(now_ms)
  "$PYTHON" "$E2E_DIR/attack/halfopen.py" "$T/ready-$kind" --kind "$kind" --front "$HALF_FRONT" \
    --tunnel "$HALF_TUNNEL" --spread "$SPREAD" --wait 25 >"$T/halfopen-$kind.out" 2>>"$LOGS/halfopen.err" &
  HALF_PIDS+=("$!")
  test_case "$HALF_FRONT $kind connections on the front listener and $HALF_TUNNEL on the tunnel listener, from $SPREAD addresses, all open"
  if ! wait_for 20 test -e "$T/ready-$kind"; then
    fail_continue "not all open after 20 s: $(tail -n 2 "$LOGS/halfopen.err" | tr '\n' '|')"
    return 0
  fi
  step "$(head -n 1 "$T/ready-$kind") $kind connections open in $(($(now_ms) - t0)) ms"
  pass
  test_case "edge memory per $kind half-open connection is bounded (64 KiB)"
  accepted() { [ "$(fds)" -ge $((fdb + HALF_N)) ]; }
  wait_for 5 accepted || true
  sleep 1 # (the last ones' first bytes)
  fda=$(fds) rssa=$(rss_kb "$EDGE_PID")
  per=$(((rssa - rssb) / HALF_N))
  step "edge: $fdb -> $fda descriptors, RSS $rssb -> $rssa KiB: $per KiB per $kind connection (release build)"
  if [ $((fda - fdb)) -lt "$HALF_N" ]; then
    fail_continue "the edge holds only $((fda - fdb)) more descriptors for $HALF_N connections"
  elif [ "$per" -gt 64 ]; then
    fail_continue "$per KiB per $kind connection"
  else pass; fi
}

HALF_PIDS=()
open_kind silent
open_kind half-hello
step "edge RSS with all $((N_FRONT + N_TUNNEL)) open: $(rss_kb "$EDGE_PID") KiB (was $rss0 KiB); unauthenticated: $(edge_metric 'burrow_edge_unauth_connections{listener="client"}') client, $(edge_metric 'burrow_edge_unauth_connections{listener="tunnel"}') tunnel"

test_case "ssh through burrow works while they are open"
if serving; then pass; else fail_continue "$REASON"; fi

for p in "${HALF_PIDS[@]}"; do wait "$p" || true; done
cat "$T"/halfopen-*.out | sed 's/^/   .. /'

# closed_in_time KIND TITLE: the edge closed every connection of KIND 8-20 s after its connect: the
# 10 s timeout, 2 s below it (libuv's cached loop time under 11,000 connections) and 10 s above it
# for a loaded 2-core machine (halfopen.py watches 11,000 sockets in Python; the old +2 s was
# tight there). Measured: 9.8-10.2 s. A timeout gone leaves them open past halfopen.py's 25 s
# ("closed" fails); one that fires early, e.g. at 5 s, fails the lower bound.
closed_in_time() {
  local line n closed min max
  test_case "$2"
  line=$(cat "$T"/halfopen-*.out | grep "^$1 " || true)
  n=$(field n "$line") closed=$(field closed "$line") min=$(field min "$line") max=$(field max "$line")
  if [ -z "$line" ]; then
    fail_continue "no result for $1: $(tail -n 1 "$LOGS/halfopen.err")"
  elif [ "$closed" != "$n" ]; then
    fail_continue "$closed of $n closed by the edge within 25 s ($line)"
  elif ! awk -v a="$min" -v b="$max" 'BEGIN { exit !(a >= 8 && b <= 20) }'; then
    fail_continue "closed between ${min}s and ${max}s after connect, not within 8-20 s ($line)"
  else pass; fi
}

closed_in_time front-silent "front listener: the silent ones are closed at the 10 s head timeout (8-20 s)"
closed_in_time front-half-hello "front listener: the half ClientHellos are closed at the 10 s head timeout (8-20 s)"
closed_in_time tunnel-silent "tunnel listener: the silent ones are closed at the 10 s registration timeout (8-20 s)"
closed_in_time tunnel-half-hello "tunnel listener: the half ClientHellos are closed at the 10 s registration timeout (8-20 s)"

test_case "afterwards the edge holds as many descriptors as before, counts no unauthenticated connection and still serves ssh"
settle() { [ "$(fds)" -le $((fd0 + 2)) ]; }
if ! wait_for 5 settle; then
  fail_continue "the edge holds $(fds) descriptors, $fd0 before"
elif ! unauth_released; then
  fail_continue "the edge still counts $(edge_metric 'burrow_edge_unauth_connections{listener="client"}') client and $(edge_metric 'burrow_edge_unauth_connections{listener="tunnel"}') tunnel connections as unauthenticated"
elif serving; then
  # (not asserted: glibc keeps the freed heap resident; see the hardening issue)
  step "edge: $(fds) descriptors, RSS $(rss_kb "$EDGE_PID") KiB after all closed ($rss0 KiB before)"
  pass
else fail_continue "$REASON"; fi

# ---------------------------------------------------------------- one address

# restart_edge ARGS...: the edge again, from $BUILD (the sanitizer build under make test), with
# ARGS; waits until the connector has registered its 4 connections with it.
restart_edge() {
  local before
  before=$(registered_count host1)
  stop_pid "$EDGE_PID"
  BURROW=$SAN_BURROW
  start_edge "$@"
  wait_for 15 _registered_at_least host1 $((before + 4)) ||
    fail "the connector did not register again with the restarted edge: $(tail -n 2 "$LOGS/connector-host1.log" | tr '\n' '|')"
}

# ssh_from ADDR ARGS...: bssh ARGS through load/ws_proxy.py, whose connection to the edge comes
# from ADDR (burrow access always connects from 127.0.0.1).
ssh_from() {
  local addr=$1
  shift
  bssh -o "ProxyCommand=$PYTHON $E2E_DIR/load/ws_proxy.py --source $addr %h" "$@"
}

restart_edge
series() { printf 'burrow_edge_%s{listener="%s"}' "$1" "$2"; }

test_case "(a) $FLOOD_FRONT connections from $FLOOD_ADDR to the front listener and $FLOOD_TUNNEL to the tunnel listener: exactly $CAP of each are held, the others are reset at once"
"$PYTHON" "$E2E_DIR/attack/halfopen.py" "$T/flood.ready" --kind silent --front "$FLOOD_FRONT" \
  --tunnel "$FLOOD_TUNNEL" --source "$FLOOD_ADDR" --settle 1 --stop "$T/flood.stop" --wait 30 \
  >"$T/flood.out" 2>>"$LOGS/halfopen.err" &
FLOOD=$!
flood_open() {
  [ ! -e "$T/flood.ready" ] || return 0
  _alive "$FLOOD" || fail "halfopen.py: $(tail -n 1 "$LOGS/halfopen.err")"
  return 1
}
wait_for 30 flood_open || fail "the flood did not open within 30 s: $(tail -n 2 "$LOGS/halfopen.err" | tr '\n' '|')"
bad=""
for kind in front-silent tunnel-silent; do
  line=$(grep "^$kind " "$T/flood.ready" || true)
  n=$(field n "$line") held=$(field held "$line") refused=$(field refused "$line")
  step "${kind%-*} listener: held $held of $n from $FLOOD_ADDR, the other $refused reset after $(field p50_ms "$line") ms (median), $(field p99_ms "$line") ms (p99), $(field max_ms "$line") ms at most"
  # (timed from connect() returning, so a SYN dropped on a full listen backlog, retransmitted after
  # 1 s, does not count; p99, not the maximum: on a busy machine one connection in thousands can
  # still take long when a process is descheduled). Limit 2 s: measured p99 71 ms (front) and
  # 290 ms (tunnel, ASan build), the old 500 ms limit was within 2x of that; a connection over the
  # cap that is held instead of reset waits for the 10 s timeout, far past 2 s.
  if [ "$held" != "$CAP" ] || [ "$refused" != $((n - CAP)) ]; then
    bad+="${kind%-*}: held $held and reset $refused of $n (expected $CAP and $((n - CAP))); "
  elif ! awk -v m="$(field p99_ms "$line")" 'BEGIN { exit !(m < 2000) }'; then
    bad+="${kind%-*}: 1% of the refused ones were reset $(field p99_ms "$line") ms or more after their connect (limit 2000); "
  fi
done
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi

test_case "(a) the metrics count the held and the reset connections; the log says so in one line"
bad=""
for l in client tunnel; do
  held=$(edge_metric "$(series unauth_connections "$l")") refused=$(edge_metric "$(series unauth_refused_total "$l")")
  want=$((FLOOD_TUNNEL - CAP))
  [ "$l" = tunnel ] || want=$((FLOOD_FRONT - CAP))
  step "metrics, $l listener: $held unauthenticated, $refused refused"
  [ "$held" = "$CAP" ] && [ "$refused" = "$want" ] || bad+="$l: $held unauthenticated and $refused refused (expected $CAP and $want); "
done
warned=$(grep -c "too many unauthenticated [a-z]* connections from $FLOOD_ADDR (limit $CAP, --max-unauth-per-addr)" "$LOGS/edge.log" || true)
step "edge.log: $(grep -m 1 'too many unauthenticated' "$LOGS/edge.log" | cut -d' ' -f3- || true)"
[ "$warned" = 1 ] || bad+="$warned warnings in edge.log for the flood (expected 1: at most one per 10 s)"
if [ -n "$bad" ]; then fail_continue "$bad"; else pass; fi

test_case "(b) meanwhile ssh from $FLOOD_ADDR is refused at once"
t0=$(now_ms) rc=0
ssh_from "$FLOOD_ADDR" "$SSH_USER@ssh.site.test" 'echo reached' >"$T/b.out" || rc=$?
ms=$(($(now_ms) - t0))
step "ssh exit $rc after $ms ms: $(grep '^ws_proxy: ' "$LOGS/ssh.err" | tail -n 1)"
if [ "$rc" -eq 0 ]; then
  fail_continue "ssh from the flooded address got through: $(cat "$T/b.out")"
elif ! grep '^ws_proxy: ' "$LOGS/ssh.err" | tail -n 1 | grep -qi 'reset'; then
  fail_continue "not reset by the edge: $(tail -n 1 "$LOGS/ssh.err")"
elif [ "$ms" -ge 3000 ]; then
  fail_continue "took $ms ms to fail (limit 3000)"
else pass; fi

test_case "(b) meanwhile ssh from 127.0.0.1 works"
if serving; then pass; else fail_continue "$REASON"; fi

test_case "(b) once the flood ends its counts are released and ssh from $FLOOD_ADDR works again"
touch "$T/flood.stop"
wait "$FLOOD" || true
sed 's/^/   .. /' "$T/flood.out"
t0=$(now_ms)
if ! wait_for 5 unauth_released; then
  fail_continue "5 s after the flood the edge still counts $(edge_metric "$(series unauth_connections client)") client and $(edge_metric "$(series unauth_connections tunnel)") tunnel connections as unauthenticated"
elif ! out=$(ssh_from "$FLOOD_ADDR" "$SSH_USER@ssh.site.test" 'echo ok'); then
  fail_continue "ssh from $FLOOD_ADDR failed: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
elif [ "$out" != ok ]; then
  fail_continue "ssh from $FLOOD_ADDR printed '$out'"
else
  step "counts released within $(($(now_ms) - t0)) ms of the flood's end; ssh from $FLOOD_ADDR works"
  pass
fi

# ---------------------------------------------------------------- authenticated sessions

restart_edge --max-unauth-per-addr 8
N_AUTH=20
test_case "(c) with --max-unauth-per-addr 8, $N_AUTH authenticated ssh sessions from 127.0.0.1 are open at once"
# Opened 4 at a time (fewer handshakes at once than the cap), held open until $T/go exists.
t0=$(now_ms)
up() { local i; for i in $(seq "$1" "$2"); do grep -qx up "$T/c$i.out" 2>/dev/null || return 1; done; }
for i in $(seq 1 "$N_AUTH"); do
  (
    rc=0
    bssh "$SSH_USER@ssh.site.test" "echo up; until [ -e '$T/go' ]; do sleep 0.1; done; echo done" \
      >"$T/c$i.out" || rc=$?
    echo "$rc" >"$T/c$i.rc"
  ) &
  [ $((i % 4)) -ne 0 ] || wait_for 30 up $((i - 3)) "$i" || true
done
if ! wait_for 30 up 1 "$N_AUTH"; then
  fail_continue "only $(grep -lx up "$T"/c*.out 2>/dev/null | wc -l) of $N_AUTH sessions up: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
else
  active=$(edge_metric burrow_edge_sessions_active) held=$(edge_metric "$(series unauth_connections client)")
  step "$N_AUTH sessions up in $(($(now_ms) - t0)) ms; the edge: $active sessions, $held unauthenticated"
  if [ "$active" != "$N_AUTH" ] || [ "$held" != 0 ]; then
    fail_continue "the edge has $active sessions and $held unauthenticated connections (expected $N_AUTH and 0)"
  else pass; fi
fi

test_case "(c) meanwhile the cap holds for new connections from 127.0.0.1: 8 of 20 silent ones are held"
"$PYTHON" "$E2E_DIR/attack/halfopen.py" "$T/c.ready" --kind silent --front 20 --tunnel 0 --settle 0.5 --wait 0 \
  >/dev/null 2>>"$LOGS/halfopen.err" || true
line=$(grep '^front-silent ' "$T/c.ready" || true)
step "held $(field held "$line") of 20, the other $(field refused "$line") reset after $(field max_ms "$line") ms at most"
if [ "$(field held "$line")" != 8 ]; then
  fail_continue "held $(field held "$line") of 20, expected 8 ($line)"
else pass; fi

test_case "(c) a client refused by the cap says why in one line"
# 8 silent connections from 127.0.0.1 fill its cap; burrow access (also from 127.0.0.1) is then reset.
"$PYTHON" "$E2E_DIR/attack/halfopen.py" "$T/d.ready" --kind silent --front 8 --tunnel 0 --settle 0.5 \
  --stop "$T/d.stop" --wait 20 >/dev/null 2>>"$LOGS/halfopen.err" &
HOLD=$!
d_open() { [ -e "$T/d.ready" ] || { _alive "$HOLD" || fail "halfopen.py: $(tail -n 1 "$LOGS/halfopen.err")"; return 1; }; }
wait_for 20 d_open || fail "the 8 silent connections did not open"
rc=0
# (its output in $LOGS, not only in $out: the sanitizer scan must see it, and a refusal is expected,
# so its exit status cannot tell an ASan abort from the refusal)
timeout 10 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" --secret "$SECRET" </dev/null \
  >"$LOGS/access-capped.err" 2>&1 || rc=$?
out=$(cat "$LOGS/access-capped.err")
touch "$T/d.stop"
wait "$HOLD" 2>/dev/null || true
step "burrow access (exit $rc): $out"
case $out in
  "burrow: ssh.site.test: edge "*" closed the connection before the TLS handshake finished"*"--max-unauth-per-addr"*) pass ;;
  *) fail_continue "exit $rc, expected the one-line cap message, got: $out" ;;
esac

test_case "(c) all $N_AUTH sessions still work and end cleanly; nothing is left counted"
touch "$T/go"
all_ended() { [ "$(cat "$T"/c*.rc 2>/dev/null | wc -l)" -ge "$N_AUTH" ]; }
wait_for 30 all_ended || true
bad=()
for i in $(seq 1 "$N_AUTH"); do
  rc=$(cat "$T/c$i.rc" 2>/dev/null || echo none)
  [ "$rc" = 0 ] && [ "$(tr '\n' ' ' <"$T/c$i.out")" = "up done " ] ||
    bad+=("session $i: exit $rc, printed '$(tr '\n' ' ' <"$T/c$i.out" 2>/dev/null)'")
done
if [ ${#bad[@]} -gt 0 ]; then
  fail_continue "${#bad[@]} of $N_AUTH sessions wrong: ${bad[*]}"
elif ! wait_for 5 unauth_released; then
  fail_continue "the edge still counts $(edge_metric "$(series unauth_connections client)") client connections as unauthenticated"
else
  step "refused over the cap meanwhile: $(edge_metric "$(series unauth_refused_total client)") (the 12 silent ones)"
  pass
fi
