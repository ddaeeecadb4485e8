#!/usr/bin/env bash
# Attack suite, WebSocket frames after a valid upgrade (issue 4, part 2): the raw client
# (tests/e2e/attack/edge_attack.py) gets its 101 and the origin's SSH banner, then sends frames a
# client must never send: unmasked, oversized or fragmented control frames, reserved opcodes and
# bits, broken close frames. The edge fails the connection (a Close frame 1002 or a TCP close) and
# the session's origin connection goes too, while the attacker still holds its socket. A masked
# Close is answered with a Close. A ping flood is answered (or the connection closed) while other
# sessions keep working; a flood whose pongs are never read does not make the edge queue pongs
# without bound. After every case the edge still serves a normal ssh session.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT SSHD_PORT ID SECRET

# bad_frame CASE TITLE: the edge closes the connection (Close 1002, or a plain TCP close) within
# 5 s and the origin connection of that session is dropped.
bad_frame() {
  local got
  test_case "frame: $2: connection failed, origin connection dropped"
  got=$(attack ws "$1") || true
  [ -n "$got" ] || got="(attacker client error: $(tail -n 1 "$LOGS/attack.err"))"
  step "ws $1: $got"
  case $got in
    "outcome=close_1002 origin=dropped" | "outcome=eof origin=dropped" | "outcome=reset origin=dropped")
      if serving; then pass; else fail_continue "$REASON"; fi
      ;;
    *) fail_continue "expected a Close 1002 or a TCP close and the origin connection dropped, got '$got'" ;;
  esac
}

bad_frame unmasked "an unmasked binary frame"
bad_frame unmasked-ping "an unmasked ping"
bad_frame ping-126 "a ping with 126 bytes of payload"
bad_frame close-200 "a close frame with 200 bytes of payload"
bad_frame fragmented-ping "a ping with FIN=0 (fragmented control frame)"
bad_frame opcode-3 "reserved data opcode 0x3"
bad_frame opcode-11 "reserved control opcode 0xB"
bad_frame rsv1 "RSV1 set without a negotiated extension"
bad_frame orphan-continuation "a continuation frame with no message to continue"
bad_frame text-inside-fragmented "a new text frame inside a fragmented binary message"
bad_frame close-1-byte "a close frame with a 1-byte payload"
bad_frame close-code-999 "a close frame with code 999"
bad_frame close-bad-utf8 "a close frame whose reason is not UTF-8"
bad_frame length-msb "a 64-bit payload length with the top bit set"

test_case "frame: a masked Close is answered with a Close, and the session ends"
got=$(attack ws masked-close) || true
step "ws masked-close: ${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}"
if ! printf '%s\n' "$got" | grep -Eq '^outcome=close_[0-9]+ origin=dropped$'; then
  fail_continue "expected a Close frame back and the origin connection closed, got '$got'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "ping flood (10,000 pings of 125 bytes): pongs or a close; an open session keeps working"
# a session that is open before the flood and must finish during it
n0=$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log" || true)
bssh "$SSH_USER@ssh.site.test" 'sleep 2; echo ok' >"$T/during.out" &
DURING=$!
during_started() { [ "$(grep -c 'session service token ci -> ssh.site.test .* started' "$LOGS/edge.log")" -gt "$n0" ]; }
wait_for 10 during_started || fail "the session to hold open during the flood did not start"
got=$(attack ws ping-flood --count 10000) || true
step "ws ping-flood: ${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}"
rc=0
wait "$DURING" || rc=$?
if ! printf '%s\n' "$got" | grep -Eq '^outcome=(answered pongs=10000 .*session_alive=yes|close_[0-9]+ .*|eof .*|reset .*)$'; then
  fail_continue "expected all 10000 pongs (and the session still answering) or a close, got '$got'"
elif [ "$rc" -ne 0 ] || [ "$(cat "$T/during.out")" != ok ]; then
  fail_continue "the session open during the flood failed: exit $rc, output '$(cat "$T/during.out")'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "ping flood whose pongs are never read: the edge does not queue pongs without bound"
# 8 sessions each send 100,000 pings (12.7 MB) and never read. The edge's own rule for a
# connection's output (src/core/conn.h) is to stop feeding it at the high-water mark (512 KiB)
# until it drains; pongs owed to a client that does not read must follow it (stop reading that
# client, or close it) rather than fill the 8 MiB write buffer of every such connection. Allowed:
# 8 MiB of edge RSS per session, 64 MiB in all, which leaves room for the sanitizer build.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss0=$(rss_kb "$EDGE_PID")
attack ws ping-noread --sessions 8 --count 100000 --ready "$T/noread.ready" --stop "$T/noread.stop" \
  >"$T/noread.out" &
NOREAD=$!
if ! wait_for 60 test -e "$T/noread.ready"; then
  touch "$T/noread.stop"
  wait "$NOREAD" || true
  fail_continue "the 8 flooding sessions did not get going: $(cat "$T/noread.out") $(tail -n 1 "$LOGS/attack.err")"
else
  sleep 1
  rss1=$(rss_kb "$EDGE_PID")
  during_ok=0
  out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') && [ "$out" = ok ] && during_ok=1
  touch "$T/noread.stop"
  wait "$NOREAD" || true
  grow=$(((rss1 - rss0) / 1024))
  step "edge RSS +$grow MiB while 8 sessions hold unread pongs; $(cat "$T/noread.out")"
  if [ "$during_ok" -ne 1 ]; then
    fail_continue "ssh failed while the flooding sessions were open: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
  elif [ "$grow" -ge 64 ]; then
    fail_continue "edge RSS grew by $grow MiB for 8 sessions that never read their pongs (limit 64 MiB): pongs are queued past the high-water mark"
  elif serving; then pass; else fail_continue "$REASON"; fi
fi
