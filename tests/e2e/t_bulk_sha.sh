#!/usr/bin/env bash
# 64 MiB each way through burrow, piped through ssh and copied with scp, arrives bit for bit.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
head -c 64M /dev/urandom >"$T/up.bin"
head -c 64M /dev/urandom >"$T/remote/down.bin"
host=$SSH_USER@ssh.site.test

# rate BYTES MS: "N MB/s"
rate() { echo "$(($1 * 1000 / ($2 + 1) / 1000000)) MB/s"; }

test_case "64 MiB piped up (ssh 'cat > f') arrives intact"
t0=$(now_ms)
bssh "$host" "cat > '$T/remote/up.bin'" <"$T/up.bin" || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
step "up: $(rate $((64 << 20)) $(($(now_ms) - t0)))"
assert_eq "$(sha "$T/up.bin")" "$(sha "$T/remote/up.bin")" "sha256 of the uploaded file"
rm -f "$T/remote/up.bin"
pass

test_case "64 MiB piped down (ssh 'cat f') arrives intact"
t0=$(now_ms)
bssh "$host" "cat '$T/remote/down.bin'" >"$T/down.bin" || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
step "down: $(rate $((64 << 20)) $(($(now_ms) - t0)))"
assert_eq "$(sha "$T/remote/down.bin")" "$(sha "$T/down.bin")" "sha256 of the downloaded file"
rm -f "$T/down.bin"
pass

test_case "scp up of 64 MiB arrives intact"
timeout --foreground "$SSH_TIMEOUT" scp -q -F "$SSH_CFG" "$T/up.bin" "$host:$T/remote/scp-up.bin" 2>>"$LOGS/ssh.err" ||
  fail "scp exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq "$(sha "$T/up.bin")" "$(sha "$T/remote/scp-up.bin")" "sha256 after scp up"
rm -f "$T/remote/scp-up.bin"
pass

test_case "scp down of 64 MiB arrives intact"
timeout --foreground "$SSH_TIMEOUT" scp -q -F "$SSH_CFG" "$host:$T/remote/down.bin" "$T/scp-down.bin" 2>>"$LOGS/ssh.err" ||
  fail "scp exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq "$(sha "$T/remote/down.bin")" "$(sha "$T/scp-down.bin")" "sha256 after scp down"
pass
