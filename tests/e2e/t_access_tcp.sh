#!/usr/bin/env bash
# burrow access tcp: a local listener that carries each connection to the app through the edge.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
LPORT=$(free_port)

test_case "burrow access tcp listens on 127.0.0.1:LPORT"
spawn access-tcp "$BURROW" access tcp --hostname ssh.site.test --url "127.0.0.1:$LPORT" --id "$ID" --secret "$SECRET"
wait_port "$LPORT" 10 "$BG_PID" || fail "nothing listens on $LPORT after 10 s: $(tail -n 3 "$LOGS/access-tcp.err")"
pass

test_case "ssh -p LPORT 127.0.0.1 reaches sshd through burrow"
out=$(bssh -p "$LPORT" "$SSH_USER@127.0.0.1" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

test_case "the listener carries several connections at once (all 3 open together)"
# Each remote command waits until all three have started (a file each in $T/bar), so the three
# sessions provably overlap; one that waits 30 s in vain prints "alone" instead.
mkdir -p "$T/bar"
pids=()
for i in 1 2 3; do
  (bssh -p "$LPORT" "$SSH_USER@127.0.0.1" "touch $T/bar/$i; n=0; while [ \$(ls $T/bar | wc -l) -lt 3 ]; do
    n=\$((n + 1)); [ \$n -lt 300 ] || { echo alone$i; exit 0; }; sleep 0.1; done; echo ok$i" \
    >"$T/tcp$i.out" || echo "exit $?" >>"$T/tcp$i.out") &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
for i in 1 2 3; do assert_eq "ok$i" "$(cat "$T/tcp$i.out")" "session $i"; done
pass
