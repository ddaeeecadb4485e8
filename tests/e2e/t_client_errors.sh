#!/usr/bin/env bash
# The client's own error lines when BURROW_EDGE does not lead to an edge (README "When the edge says
# no"): a closed port gives "cannot reach edge 127.0.0.1:PORT: connection refused (set BURROW_EDGE=...)",
# a plain TCP server (sshd) gives "TLS handshake with edge ...: wrong version number: check that
# BURROW_EDGE names the edge's listener". Either way `burrow access ssh` prints exactly that one line
# on stderr and exits non-zero within seconds, and ssh using it as its ProxyCommand fails just as fast
# with that line among its own. A listener that resets the connection before TLS (an edge over its
# --max-unauth-per-addr cap) gives "edge ... closed the connection before the TLS handshake finished
# (...): retry shortly, ...". (The certificate and CA lines are t_refusals'.)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow
start_sshd # the plain TCP server, and the key ssh_cfg needs
ID=0123456789abcdef0123456789abcdef.access SECRET=$(printf 'a%.0s' $(seq 1 64))
ssh_cfg
CLOSED_PORT=$(free_port) # nothing listens on it (free_port checked, and it is this run's alone)
mkfifo "$T/stdin"
exec 8<>"$T/stdin" # stdin for the direct client: open, never written, so it waits on the edge alone

# direct_says WHAT EXPECTED-LINE VAR=VALUE...: `burrow access ssh` with VAR=VALUE in its environment
# exits non-zero within 10 s and its stderr is exactly EXPECTED-LINE.
direct_says() {
  local what=$1 want=$2 rc=0 t0 ms
  shift 2
  test_case "$what"
  t0=$(now_ms)
  env "$@" timeout 15 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" --secret "$SECRET" \
    <"$T/stdin" >"$T/direct.out" 2>"$T/direct.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/direct.err" >>"$LOGS/direct.err"
  step "exit $rc after $ms ms; stderr: $(tr '\n' '|' <"$T/direct.err" | cut -c1-300)"
  [ "$rc" -ne 124 ] || fail "still running after 15 s"
  [ "$rc" -ne 0 ] || fail "exit status 0"
  [ "$ms" -lt 10000 ] || fail "took $ms ms to fail (limit 10 s)"
  assert_eq 1 "$(grep -c '' "$T/direct.err")" "lines on stderr"
  assert_eq "$want" "$(cat "$T/direct.err")" "stderr"
  [ ! -s "$T/direct.out" ] || fail "wrote to stdout (ssh's channel): $(head -c 100 "$T/direct.out" | od -c | head -2)"
  pass
}

# ssh_says WHAT EXPECTED-LINE VAR=VALUE...: ssh through burrow (ProxyCommand) fails within 10 s and
# its stderr has exactly one "burrow: " line, EXPECTED-LINE.
ssh_says() {
  local what=$1 want=$2 rc=0 t0 ms
  shift 2
  test_case "$what"
  t0=$(now_ms)
  env "$@" timeout 15 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'echo reached' >"$T/ssh.out" 2>"$T/ssh1.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/ssh1.err" >>"$LOGS/ssh.err"
  step "ssh exit $rc after $ms ms; stderr: $(tr '\n' '|' <"$T/ssh1.err" | cut -c1-300)"
  [ "$rc" -ne 124 ] || fail "ssh still running after 15 s"
  [ "$rc" -ne 0 ] || fail "ssh succeeded: $(cat "$T/ssh.out")"
  [ "$ms" -lt 10000 ] || fail "ssh took $ms ms to fail (limit 10 s)"
  assert_eq 1 "$(grep -c '^burrow: ' "$T/ssh1.err")" "'burrow: ' lines on ssh's stderr"
  assert_eq "$want" "$(grep '^burrow: ' "$T/ssh1.err")" "burrow's line"
  pass
}

REFUSED="burrow: ssh.site.test: cannot reach edge 127.0.0.1:$CLOSED_PORT: connection refused (set BURROW_EDGE=HOST:PORT if the edge is elsewhere)"
direct_says "BURROW_EDGE at a closed port: 'cannot reach edge ...: connection refused', exit non-zero" \
  "$REFUSED" BURROW_EDGE="127.0.0.1:$CLOSED_PORT"
ssh_says "ssh with BURROW_EDGE at a closed port: fails at once with burrow's 'connection refused' line" \
  "$REFUSED" BURROW_EDGE="127.0.0.1:$CLOSED_PORT"

NOT_TLS="burrow: ssh.site.test: TLS handshake with edge 127.0.0.1:$SSHD_PORT failed: wrong version number: check that BURROW_EDGE names the edge's listener"
direct_says "BURROW_EDGE at sshd (plain TCP): 'TLS handshake ... wrong version number', exit non-zero" \
  "$NOT_TLS" BURROW_EDGE="127.0.0.1:$SSHD_PORT"
ssh_says "ssh with BURROW_EDGE at sshd: fails at once with burrow's 'wrong version number' line" \
  "$NOT_TLS" BURROW_EDGE="127.0.0.1:$SSHD_PORT"

# A listener that resets every connection before TLS starts (what an edge does to an address over
# its --max-unauth-per-addr cap): the client says the edge closed it, why an edge would, and to retry.
cat >"$T/reset.py" <<'PY'
import socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
RESET_PORT=$(free_port)
spawn resetter "$PYTHON" "$T/reset.py" "$RESET_PORT"
wait_for 10 port_open "$RESET_PORT" || fail "the resetting listener is not listening on $RESET_PORT"
direct_says "BURROW_EDGE at a listener that resets before TLS: 'closed the connection before the TLS handshake finished ...'" \
  "burrow: ssh.site.test: edge 127.0.0.1:$RESET_PORT closed the connection before the TLS handshake finished (an edge refuses addresses holding more than --max-unauth-per-addr unfinished connections): retry shortly, and check BURROW_EDGE=HOST:PORT" \
  BURROW_EDGE="127.0.0.1:$RESET_PORT"
