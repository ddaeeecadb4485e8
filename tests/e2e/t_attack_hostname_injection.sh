#!/usr/bin/env bash
# Attack suite, ProxyCommand hostname injection (issue 4, part 2): ssh substitutes %h into
# "burrow access ssh --hostname %h" unquoted, so the client must refuse anything that is not a plain
# DNS name before it is used anywhere: shell metacharacters, a leading '-', a newline, names over
# 253 characters or with a label over 63, non-ASCII. Each exits 2 at once with one line
# "burrow: access ssh: invalid --hostname: ...", prints nothing on stdout, contacts nobody and runs
# nothing; access tcp and ssh-config (whose output goes into ~/.ssh/config) refuse the same way.
# The edge keeps serving a normal ssh session afterwards.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
PWNED=$T/pwned # what an injected command would create

# A listener that records whether anything connects: the client must not get that far.
"$PYTHON" - "$T/trap.port" "$T/trap.hits" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(120)
try:
    while True:
        c, _ = s.accept()
        open(sys.argv[2], "a").write("hit\n")
        c.close()
except OSError:
    pass
PY
TRAP=$!
wait_for 10 test -s "$T/trap.port" || fail "the trap listener did not start"
TRAP_PORT=$(cat "$T/trap.port")

# refused_name SUB TITLE NAME [EXTRA ARGS]: burrow access SUB --hostname NAME, aimed at the trap
# listener, exits 2 within 2 s with one stderr line "burrow: access SUB: invalid --hostname",
# nothing on stdout, no connection to the trap, no $PWNED; then the edge still serves ssh.
refused_name() {
  local sub=$1 title=$2 name=$3 rc=0 t0 ms
  shift 3
  test_case "$title"
  rm -f "$PWNED"
  t0=$(now_ms)
  BURROW_EDGE=127.0.0.1:$TRAP_PORT timeout 10 "$BURROW" access "$sub" --hostname "$name" "$@" \
    >"$T/inj.out" 2>"$T/inj.err" </dev/null || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/inj.err" >>"$LOGS/access.err"
  step "exit $rc after $ms ms: $(tr '\n' '|' <"$T/inj.err" | cut -c1-200)"
  if [ "$rc" -ne 2 ]; then
    fail_continue "exit status $rc, expected 2: $(tr '\n' '|' <"$T/inj.err" | cut -c1-200)"
  elif [ "$ms" -ge 2000 ]; then
    fail_continue "took $ms ms to refuse"
  elif [ "$(grep -c '' "$T/inj.err")" -ne 1 ] ||
    ! grep -q "^burrow: access $sub: invalid --hostname" "$T/inj.err"; then
    fail_continue "stderr is not one 'burrow: access $sub: invalid --hostname' line: $(tr '\n' '|' <"$T/inj.err" | cut -c1-200)"
  elif [ -s "$T/inj.out" ]; then
    fail_continue "printed on stdout: $(head -c 200 "$T/inj.out" | tr '\n' '|')"
  elif [ -e "$PWNED" ]; then
    fail_continue "the injected command ran ($PWNED exists)"
  elif [ -s "$T/trap.hits" ]; then
    fail_continue "the client connected to the edge address before refusing the name"
  elif serving; then pass; else fail_continue "$REASON"; fi
}

test_case "control: with a valid name the client does dial the edge address (the trap sees it)"
rc=0
BURROW_EDGE=127.0.0.1:$TRAP_PORT timeout 10 "$BURROW" access ssh --hostname ssh.site.test --id "$ID" \
  --secret "$SECRET" </dev/null >/dev/null 2>>"$LOGS/access.err" || rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ]; then
  fail_continue "against a listener that hangs up, the client exited $rc"
elif ! wait_for 5 test -s "$T/trap.hits"; then
  fail_continue "the trap listener saw no connection: it would not catch one either"
else
  rm -f "$T/trap.hits"
  pass
fi

LABEL60=$(printf 'a%.0s' $(seq 1 60))
LONG300="$LABEL60.$LABEL60.$LABEL60.$LABEL60.$LABEL60"  # 304 characters, every label valid
LONG254="$LABEL60.$LABEL60.$LABEL60.$LABEL60.${LABEL60:0:10}" # 254 characters
LABEL64="$(printf 'a%.0s' $(seq 1 64)).site.test"
TOKEN=(--id "$ID" --secret "$SECRET")

refused_name ssh "ssh: ';' and a command" "a.test;touch $PWNED" "${TOKEN[@]}"
refused_name ssh "ssh: a leading '-' (an ssh option as hostname)" "-oProxyCommand=touch $PWNED" "${TOKEN[@]}"
refused_name ssh "ssh: a leading '-' in the first label" "-ssh.site.test" "${TOKEN[@]}"
refused_name ssh "ssh: a newline and a command" "ssh.site.test
touch $PWNED" "${TOKEN[@]}"
refused_name ssh "ssh: \$(command substitution)" "\$(touch $PWNED).site.test" "${TOKEN[@]}"
refused_name ssh "ssh: \`backticks\`" "\`touch $PWNED\`.site.test" "${TOKEN[@]}"
refused_name ssh "ssh: a pipe" "ssh.site.test|touch $PWNED" "${TOKEN[@]}"
refused_name ssh "ssh: a space" "ssh.site.test touch" "${TOKEN[@]}"
refused_name ssh "ssh: a carriage return" "ssh.site.test"$'\r' "${TOKEN[@]}"
refused_name ssh "ssh: a 304-character name of valid labels" "$LONG300" "${TOKEN[@]}"
refused_name ssh "ssh: a 254-character name" "$LONG254" "${TOKEN[@]}"
refused_name ssh "ssh: a 64-character label" "$LABEL64" "${TOKEN[@]}"
refused_name ssh "ssh: non-ASCII (ssh.sïte.test, UTF-8)" "ssh.s"$'\xc3\xaf'"te.test" "${TOKEN[@]}"
refused_name ssh "ssh: a Latin-1 byte" "ssh.s"$'\xef'"te.test" "${TOKEN[@]}"
refused_name ssh "ssh: an empty label (a..site.test)" "a..site.test" "${TOKEN[@]}"
refused_name ssh "ssh: two trailing dots" "ssh.site.test.." "${TOKEN[@]}"
refused_name ssh "ssh: an empty name" "" "${TOKEN[@]}"
refused_name ssh "ssh: a URL instead of a name" "https://ssh.site.test/" "${TOKEN[@]}"
refused_name tcp "tcp: ';' and a command" "a.test;touch $PWNED" --url "127.0.0.1:$(free_port)" "${TOKEN[@]}"
refused_name ssh-config "ssh-config: a newline and a ProxyCommand line (config injection)" "x.site.test
  ProxyCommand touch $PWNED"
refused_name ssh-config "ssh-config: a 304-character name" "$LONG300"

test_case "through ssh: %h of 304 characters is refused by burrow, ssh fails, nothing runs"
rm -f "$PWNED"
rc=0
timeout 30 ssh -F "$SSH_CFG" "$SSH_USER@$LONG300.site.test" "touch $PWNED" >"$T/ssh.out" 2>"$T/ssh.err" || rc=$?
cat "$T/ssh.err" >>"$LOGS/ssh.err"
step "ssh exit $rc: $(tr '\n' '|' <"$T/ssh.err" | cut -c1-200)"
if [ "$rc" -eq 0 ]; then
  fail_continue "ssh succeeded"
elif ! grep -q '^burrow: access ssh: invalid --hostname' "$T/ssh.err"; then
  fail_continue "ssh's stderr does not carry burrow's refusal: $(tr '\n' '|' <"$T/ssh.err" | cut -c1-200)"
elif [ -e "$PWNED" ]; then
  fail_continue "the remote command ran"
elif serving; then pass; else fail_continue "$REASON"; fi

kill "$TRAP" 2>/dev/null || true
wait "$TRAP" 2>/dev/null || true
