#!/usr/bin/env bash
# File-descriptor exhaustion (hardening issue).
#
# Edge: its descriptor limit is lowered to 128 (prlimit on the running edge) and 300 idle
# connections are opened to its front listener, more than it can hold. While it is saturated it
# stays up, sheds the connections it cannot accept, and does not spin (its CPU time over 3 s is
# under 0.3 s, from /proc/PID/stat, while a client keeps knocking), and says so in its log; once
# the connections go, ssh through it works again within a few seconds.
# Connector: its limit is lowered to 64 and 100 sessions are opened through it (burrow access tcp
# to an echo origin): the ones it has descriptors for work, the others are refused with a clear
# reason (the client's "edge refused the session (502 ...)" naming the origin and the error, and
# the connector's log), it does not crash or spin, and after the sessions close new ones work again.
# Each side must really be exhausted, not merely survive: the edge holds as many of the 300 as it
# has room for (within 5; measured exactly that: 107 of 107) with its descriptors below 128 within 5
# of the limit, and still is while its CPU is measured; the connector holds within 6 of its 64
# (measured 65 with one above 63) during its sessions and its CPU measurement. A run where
# nothing is held (hold.py failed, the limit not applied) fails.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

command -v prlimit >/dev/null || skip "needs prlimit (util-linux)"
start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# cpu_ticks PID: utime + stime of PID, in clock ticks
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
hold() { # MODE PORT N NAME: hold.py in the background; sets HOLD_PID
  rm -f "$T/$4.ready" "$T/$4.stop"
  "$PYTHON" "$E2E_DIR/attack/hold.py" "$1" "$2" "$3" "$T/$4.ready" "$T/$4.stop" 2>>"$LOGS/hold.err" &
  HOLD_PID=$!
}

# ---------------------------------------------------------------- edge

# (descriptors numbered 128 or above, e.g. one a shell leaked to the edge, stay open but leave no room)
low() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | awk '$1 < 128' | wc -l; }
room=$((128 - $(low "$EDGE_PID")))
prlimit --pid "$EDGE_PID" --nofile=128:128 || fail "prlimit could not lower the edge's descriptor limit"
step "edge: limit 128, $(fds "$EDGE_PID") descriptors open: room for $room connections"

test_case "edge at its descriptor limit (128) with 300 connections: it stays up and closes the ones it cannot hold at once"
hold tcp "$EDGE_PORT" 300 edge
wait_for 30 test -e "$T/edge.ready" || fail "hold.py did not finish connecting: $(tail -n 2 "$LOGS/hold.err")"
res=$(cat "$T/edge.ready")
held=${res#open=} held=${held%% *}
step "clients, once settled: $res; the edge holds $(fds "$EDGE_PID") descriptors"
t0=$(now_ms)
out=$(bssh "$SSH_USER@ssh.site.test" 'echo ok') || true
step "an ssh attempt meanwhile: '${out}' after $(($(now_ms) - t0)) ms: $(grep '^burrow: ' "$LOGS/ssh.err" | tail -n 1)"
if ! _alive "$EDGE_PID"; then
  fail_continue "the edge died: $(tail -n 3 "$LOGS/edge.err" | tr '\n' '|')"
elif [ "$held" -lt $((room - 5)) ] || [ "$(low "$EDGE_PID")" -lt 123 ]; then
  fail_continue "not exhausted: $held of 300 connections held (room for $room), $(low "$EDGE_PID") of its 128 descriptors open"
elif [ "$held" -gt $((room + 2)) ]; then
  # more than it has descriptors for: the rest wait in the listen backlog, their clients hang
  fail_continue "$held of 300 connections are still open; the edge has room for $room"
else pass; fi

test_case "the edge's log says it is out of descriptors (an operator must learn why clients are cut off)"
if grep -qiE 'too many open files|descriptor' "$LOGS/edge.log"; then
  pass
else
  fail_continue "edge.log says nothing about the connections it could not accept (front.c on_front_connection drops status < 0 silently)"
fi

test_case "saturated edge does not spin: under 0.3 s of CPU in 3 s while clients keep knocking"
# a client that keeps connecting (10 per second) while the edge cannot accept
"$PYTHON" - "$EDGE_PORT" <<'PY' 2>>"$LOGS/hold.err" &
import socket, sys, time
end = time.monotonic() + 3.5
while time.monotonic() < end:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        s.close()
    except OSError:
        pass
    time.sleep(0.1)
PY
KNOCK=$!
c0=$(cpu_ticks "$EDGE_PID")
sleep 3
c1=$(cpu_ticks "$EDGE_PID") lo=$(low "$EDGE_PID")
wait "$KNOCK" || true
ms=$(((c1 - c0) * 1000 / HZ))
step "edge CPU while saturated: $ms ms in 3 s; $lo of its 128 descriptors open at the end"
if ! _alive "$EDGE_PID"; then
  fail_continue "the edge died: $(tail -n 3 "$LOGS/edge.err" | tr '\n' '|')"
elif [ "$lo" -lt 123 ]; then
  fail_continue "the edge was no longer saturated: $lo of its 128 descriptors open"
elif [ "$ms" -ge 300 ]; then
  fail_continue "the edge used $ms ms of CPU in 3 s while saturated (busy loop?)"
else pass; fi

test_case "once the connections go, ssh through the edge works again within a few seconds"
touch "$T/edge.stop"
wait "$HOLD_PID" || true
t0=$(now_ms)
ssh_ok() { [ "$(bssh "$SSH_USER@ssh.site.test" 'echo ok' 2>/dev/null)" = ok ]; }
if wait_for 10 ssh_ok; then
  step "ssh worked again $(($(now_ms) - t0)) ms after the clients closed; edge holds $(fds "$EDGE_PID") descriptors"
  pass
else
  fail_continue "ssh still fails 10 s after the clients closed: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
fi

# ---------------------------------------------------------------- connector

start_echo_path
C2=$CONNECTOR_PID
prlimit --pid "$C2" --nofile=64:64 || fail "prlimit could not lower the connector's descriptor limit"
base=$(fds "$C2")
step "connector: limit 64, $base descriptors open"

test_case "connector at its descriptor limit (64) with 100 sessions: some work, the rest are refused with a clear 502"
hold echo "$LPORT" 100 conn
wait_for 40 test -e "$T/conn.ready" || fail "hold.py did not finish its sessions: $(tail -n 2 "$LOGS/hold.err")"
res=$(cat "$T/conn.ready")
okn=${res#ok=} okn=${okn%% *}
refusal=$(grep -m1 'refused the session (502' "$LOGS/access.err" || true)
step "sessions: $res; connector holds $(fds "$C2") descriptors"
step "client says: ${refusal:-nothing}"
if ! _alive "$C2"; then
  fail_continue "the connector died: $(tail -n 3 "$LOGS/connector-host2.err" | tr '\n' '|')"
elif [ "$(fds "$C2")" -lt 58 ]; then
  fail_continue "not exhausted: the connector holds $(fds "$C2") descriptors of its 64 ($res)"
elif [ "$okn" -lt 20 ] || [ "$okn" -ge 100 ]; then
  fail_continue "expected some but not all of 100 sessions to work at 64 descriptors: $res"
elif [[ $refusal != *"too many open files"* ]]; then
  fail_continue "no clear refusal at the client (wanted a 502 naming 'too many open files'): '${refusal:-none}'"
elif ! grep -q 'too many open files' "$LOGS/connector-host2.log"; then
  fail_continue "the connector's log does not say why it refused the sessions"
else pass; fi

test_case "saturated connector does not spin: under 0.3 s of CPU in 3 s"
c0=$(cpu_ticks "$C2")
sleep 3
c1=$(cpu_ticks "$C2") n=$(fds "$C2")
ms=$(((c1 - c0) * 1000 / HZ))
step "connector CPU while saturated: $ms ms in 3 s; it holds $n descriptors at the end"
if [ "$n" -lt 58 ]; then
  fail_continue "the connector was no longer saturated: $n descriptors of its 64"
elif [ "$ms" -ge 300 ]; then fail_continue "the connector used $ms ms of CPU in 3 s while saturated"; else pass; fi

test_case "once the sessions close, new sessions through the connector work again"
touch "$T/conn.stop"
wait "$HOLD_PID" || true
t0=$(now_ms)
back() { [ "$(fds "$C2")" -le $((base + 2)) ]; }
wait_for 10 back || true
hold echo "$LPORT" 20 again
wait_for 20 test -e "$T/again.ready" || fail "hold.py did not finish its sessions: $(tail -n 2 "$LOGS/hold.err")"
touch "$T/again.stop"
wait "$HOLD_PID" || true
res=$(cat "$T/again.ready")
step "after the close: $res, $(($(now_ms) - t0)) ms; connector holds $(fds "$C2") descriptors ($base before)"
if ! _alive "$C2"; then
  fail_continue "the connector died: $(tail -n 3 "$LOGS/connector-host2.err" | tr '\n' '|')"
elif [ "$res" != "ok=20 failed=0" ]; then
  fail_continue "after the sessions closed: $res"
else pass; fi
