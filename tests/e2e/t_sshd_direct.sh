#!/usr/bin/env bash
# The harness itself: the throwaway sshd and the test ssh_config work without burrow in between.
# If this fails, every other e2e failure is suspect.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_sshd
ssh_cfg

test_case "ssh straight to the test sshd runs a command"
out=$(bssh -p "$SSHD_PORT" "$SSH_USER@127.0.0.1" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "remote exit status comes back"
rc=0
bssh -p "$SSHD_PORT" "$SSH_USER@127.0.0.1" 'exit 7' || rc=$?
assert_eq 7 "$rc" "exit status"
pass

test_case "scp (sftp subsystem) works"
head -c 100000 /dev/urandom >"$T/small.bin"
timeout --foreground 60 scp -q -F "$SSH_CFG" -P "$SSHD_PORT" "$T/small.bin" "$SSH_USER@127.0.0.1:$T/remote/small.bin" 2>>"$LOGS/ssh.err" ||
  fail "scp exited $?"
assert_eq "$(sha "$T/small.bin")" "$(sha "$T/remote/small.bin")" "sha256 after scp"
pass
