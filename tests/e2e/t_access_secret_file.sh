#!/usr/bin/env bash
# burrow access --secret-file FILE (and BURROW_SERVICE_TOKEN_SECRET_FILE) keeps a service token's
# secret out of argv, where every user of the machine sees it in ps: ssh through burrow works with
# it, and while a session is open no process's command line holds the secret. The file must be
# mode 0600 and hold the secret and at most one newline; otherwise one line says what to do (exit
# 1). --secret with --secret-file is an error (exit 2). `burrow access ssh-config --id ID
# --secret-file FILE` prints a ProxyCommand naming FILE by its absolute path, never the secret, and
# that block works as is; with --secret it prints the secret and warns on stderr.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
printf '%s\n' "$SECRET" >"$T/secret"
chmod 600 "$T/secret"
cp "$T/secret" "$T/secret-644"
chmod 644 "$T/secret-644"
: >"$T/secret-empty"
chmod 600 "$T/secret-empty"
printf '%s\n' "$(printf 's%.0s' $(seq 1 1025))" >"$T/secret-long"
chmod 600 "$T/secret-long"
# configs that reach ssh.site.test with the secret in a file, by flag and by variable
ssh_config_write "$T/ssh_config.file" "$SSH_KEY" \
  "$(printf '%q' "$BURROW") access ssh --hostname %h --id $ID --secret-file $T/secret"
ssh_config_write "$T/ssh_config.env" "$SSH_KEY" "$(printf '%q' "$BURROW") access ssh --hostname %h --id $ID"

test_case "ssh through burrow with --secret-file FILE (0600): works, and ps shows no secret while the session is open"
rm -f "$T/go"
(
  SSH_CFG=$T/ssh_config.file
  bssh "$SSH_USER@ssh.site.test" "echo up; until [ -e '$T/go' ]; do sleep 0.1; done; echo done" >"$T/held.out" || true
) &
HELD=$!
up() { grep -qx up "$T/held.out" 2>/dev/null; }
if ! wait_for 30 up; then
  touch "$T/go"
  fail "the session did not come up: $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
fi
cmdlines=$(ps -eo args)
client=$(printf '%s\n' "$cmdlines" | grep -F -- "access ssh --hostname ssh.site.test --id $ID --secret-file $T/secret" || true)
step "the client in ps: ${client:-none}"
touch "$T/go"
wait "$HELD" || true
[ -n "$client" ] || fail "no burrow access process with --secret-file in ps while the session was open"
[[ $cmdlines != *"$SECRET"* ]] || fail "the secret is on a command line in ps"
assert_eq "up done" "$(tr '\n' ' ' <"$T/held.out" | sed 's/ $//')" "session output"
pass

test_case "BURROW_SERVICE_TOKEN_SECRET_FILE=FILE in place of the flag: ssh works"
out=$(SSH_CFG=$T/ssh_config.env BURROW_SERVICE_TOKEN_SECRET_FILE=$T/secret bssh "$SSH_USER@ssh.site.test" 'echo ok') ||
  fail "ssh exited $?: $(tail -n 2 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

ACC=(access ssh --hostname ssh.site.test --id "$ID")
says "--secret-file of mode 0644: refused, says chmod 600, exit 1" 1 \
  "burrow: access ssh: $T/secret-644 can be read or written by group or others (mode 0644): run chmod 600 $T/secret-644" \
  -- "${ACC[@]}" --secret-file "$T/secret-644"
says "BURROW_SERVICE_TOKEN_SECRET_FILE of mode 0644: the same" 1 \
  "burrow: access ssh: $T/secret-644 can be read or written by group or others (mode 0644): run chmod 600 $T/secret-644" \
  -- BURROW_SERVICE_TOKEN_SECRET_FILE="$T/secret-644" "${ACC[@]}"
says "--secret-file that does not exist: exit 1, names it" 1 \
  "burrow: access ssh: cannot read the service token secret from $T/nope: No such file or directory" \
  -- "${ACC[@]}" --secret-file "$T/nope"
says "--secret-file that is empty: exit 1" 1 \
  "burrow: access ssh: $T/secret-empty is empty: it must hold the service token secret" \
  -- "${ACC[@]}" --secret-file "$T/secret-empty"
says "--secret-file longer than 1024 bytes: exit 1" 1 \
  "burrow: access ssh: $T/secret-long is longer than 1024 bytes: it must hold only the service token secret and at most one newline" \
  -- "${ACC[@]}" --secret-file "$T/secret-long"
says "--secret and --secret-file together: exit 2" 2 \
  "burrow: access ssh: pass --secret-file or --secret, not both" \
  -- "${ACC[@]}" --secret-file "$T/secret" --secret "$SECRET"
says "--secret-file without --id: needs both, exit 2" 2 \
  "burrow: access ssh: a service token needs both --id and --secret" \
  -- access ssh --hostname ssh.site.test --secret-file "$T/secret"

test_case "ssh-config --id ID --secret-file FILE (relative): the ProxyCommand names FILE by its absolute path, not the secret"
out=$(cd "$T" && "$BURROW" access ssh-config --hostname ssh.site.test --id "$ID" --secret-file secret 2>"$T/cfg.err") ||
  fail "exit $?: $(cat "$T/cfg.err")"
printf '%s\n' "$out" >"$T/block"
step "printed: $(tr '\n' '|' <"$T/block")"
[[ $out != *"$SECRET"* ]] || fail "the block holds the secret"
[[ $(cat "$T/cfg.err") != *"$SECRET"* ]] || fail "stderr holds the secret"
assert_match "$out" "^  ProxyCommand /[^ ]*/burrow access ssh --hostname %h --id $ID --secret-file $T/secret\$" "ProxyCommand"
assert_not_contains "$(cat "$T/cfg.err")" warning "stderr"
pass

test_case "that block, pasted into an ssh_config with no token in the environment, gets ssh through burrow"
ssh_config_write "$T/base_config" "$SSH_KEY"
cat "$T/block" "$T/base_config" >"$T/ssh_config.pasted"
out=$(SSH_CFG=$T/ssh_config.pasted bssh "$SSH_USER@ssh.site.test" 'echo ok') || fail "ssh exited $?: $(tail -n 3 "$LOGS/ssh.err")"
assert_eq ok "$out" "remote output"
pass

says "ssh-config --secret-file of mode 0644: refused like the client, exit 1" 1 \
  "burrow: access ssh-config: $T/secret-644 can be read or written by group or others (mode 0644): run chmod 600 $T/secret-644" \
  -- access ssh-config --hostname ssh.site.test --id "$ID" --secret-file "$T/secret-644"

test_case "ssh-config --id ID --secret SECRET: still prints the block, with the secret, and warns to use --secret-file"
out=$("$BURROW" access ssh-config --hostname ssh.site.test --id "$ID" --secret "$SECRET" 2>"$T/cfg.err") ||
  fail "exit $?: $(cat "$T/cfg.err")"
assert_match "$out" "^  ProxyCommand /[^ ]*/burrow access ssh --hostname %h --id $ID --secret $SECRET\$" "ProxyCommand"
assert_contains "$(cat "$T/cfg.err")" \
  "burrow: access ssh-config: warning: this block holds the secret itself, for anyone who reads the file or runs ps while ssh does; use --secret-file FILE (mode 0600) instead" \
  "stderr"
pass
