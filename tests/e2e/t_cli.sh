#!/usr/bin/env bash
# The command line: every --help and version exits 0 and prints usage; an unknown subcommand exits 2
# with a one-line error.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow

# cli_ok NAME WORDS_IN_OUTPUT -- ARGS...: burrow ARGS exits 0 and its stdout has each word.
cli_ok() {
  local words=() rc=0 w
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  shift
  test_case "burrow $* exits 0 and prints usage"
  "$BURROW" "$@" >"$T/out" 2>>"$LOGS/cli.err" || rc=$?
  [ "$rc" -eq 0 ] || { fail_continue "exit status $rc: $(tail -n 2 "$LOGS/cli.err")"; return; }
  [ -s "$T/out" ] || { fail_continue "nothing on stdout"; return; }
  for w in "${words[@]}"; do
    grep -qiF -- "$w" "$T/out" || { fail_continue "stdout does not mention '$w': $(head -c 200 "$T/out" | tr '\n' '|')"; return; }
  done
  pass
}

cli_ok usage edge tunnel access admin version -- --help
cli_ok usage --data-dir --listen --tunnel-listen -- edge --help
cli_ok usage run -- tunnel --help
cli_ok usage ssh tcp ssh-config -- access --help
cli_ok usage app service-token policy tunnel -- admin --help

test_case "burrow version exits 0 and prints a version"
rc=0
out=$("$BURROW" version 2>>"$LOGS/cli.err") || rc=$?
assert_eq 0 "$rc" "exit status"
assert_match "$out" '[0-9]+\.[0-9]+' "burrow version"
pass

test_case "an unknown subcommand exits 2 with a one-line error"
rc=0
"$BURROW" frobnicate >"$T/out" 2>"$T/err" || rc=$?
cat "$T/err" >>"$LOGS/cli.err"
assert_eq 2 "$rc" "exit status"
assert_eq 1 "$(grep -c '' "$T/err")" "lines on stderr ($(tr '\n' '|' <"$T/err" | cut -c1-200))"
assert_contains "$(cat "$T/err")" frobnicate "the error"
pass
