#!/usr/bin/env bash
# The origin dies (SIGKILL) in the middle of a session: that session ends at once (no hang) with an
# exact prefix of the bytes it sent; a session to another origin through the same edge goes on
# intact; a new session while the origin is down is refused with a clear reason; once the origin is
# back, sessions work again.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
start_echo_path
ECHO_PID=$(pgrep -f "echo_server.py $ECHO_PORT" | head -n 1)
[ -n "$ECHO_PID" ] || fail "no echo origin process"
host=$SSH_USER@ssh.site.test
head -c 8M /dev/urandom >"$T/blob"
bssh "$host" "cat > $T/remote-blob" <"$T/blob" || fail "upload exited $?"

test_case "an echo session whose origin is killed ends within 2 s"
# A download through the ssh app runs meanwhile (the next case checks it).
bssh "$host" "for i in 1 2 3 4 5 6 7 8; do cat $T/remote-blob; sleep 0.2; done" >"$T/dl" &
DL=$!
"$PYTHON" "$E2E_DIR/load/echo_stream.py" "$LPORT" "$T/echoed" >"$T/stream.out" 2>>"$LOGS/stream.err" &
STREAM=$!
got_some() { [ "$(stat -c %s "$T/echoed" 2>/dev/null || echo 0)" -ge 1048576 ]; }
wait_for 15 got_some || fail "the echo session moved less than 1 MiB in 15 s"
stop_pid "$ECHO_PID" KILL
t0=$(now_ms)
wait_for 10 bash -c "! kill -0 $STREAM 2>/dev/null" || fail "the echo session still open 10 s after its origin died"
ms=$(($(now_ms) - t0))
wait "$STREAM" || true
step "$(cat "$T/stream.out"), $ms ms after the kill"
assert_match "$(cat "$T/stream.out")" '^ended (eof|reset) ' "how the session ended"
[ "$ms" -lt 2000 ] || fail "took $ms ms (limit 2000)"
pass

test_case "what came back before the kill is an exact prefix of what was sent"
"$PYTHON" - "$T/echoed" <<'PY' || fail "the echoed bytes differ from what was sent"
import sys
data = open(sys.argv[1], "rb").read()
want = bytes(((i * 7 + i // 251) % 256) for i in range(1 << 20))
for off in range(0, len(data), len(want)):
    part = data[off:off + len(want)]
    if part != want[:len(part)]:
        sys.exit(f"byte run at {off} differs")
print(f"   .. {len(data)} bytes echoed, all as sent")
PY
pass

test_case "an ssh download through the same edge during the kill arrives intact"
wait_for 60 bash -c "! kill -0 $DL 2>/dev/null" || fail "the download did not finish in 60 s"
wait "$DL" || fail "the download exited $?"
for _ in 1 2 3 4 5 6 7 8; do cat "$T/blob"; done >"$T/expected"
assert_eq "$(sha "$T/expected")" "$(sha "$T/dl")" "sha256 of the 64 MiB download"
pass

test_case "a new session while the origin is down is refused at once with a clear reason"
t0=$(now_ms)
rc=0
out=$("$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    s.sendall(b"hello")
    print(repr(s.recv(100)))
except ConnectionResetError:
    print("reset")' "$LPORT" 2>&1) || rc=$?
ms=$(($(now_ms) - t0))
step "client got $out (exit $rc) after $ms ms; burrow access said: $(tail -n 1 "$LOGS/access.err")"
assert_match "$out" "^b''$|reset" "what the client read"
[ "$ms" -lt 3000 ] || fail "took $ms ms (limit 3000)"
assert_match "$(tail -n 1 "$LOGS/access.err")" "^burrow: echo\.site\.test: .*\(502 Bad Gateway\).*(refused|origin)" "burrow access's error line"
pass

test_case "once the origin is back, a new session works"
spawn echo "$PYTHON" "$E2E_DIR/load/echo_server.py" "$ECHO_PORT"
wait_for 10 port_open "$ECHO_PORT" || fail "echo origin not listening again"
out=$("$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"hello")
print(s.recv(100).decode())' "$LPORT" 2>&1) || fail "client: $out"
assert_eq hello "$out" "echoed"
pass
