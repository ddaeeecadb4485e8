#!/usr/bin/env bash
# What `burrow admin` says when it cannot do what it was asked: one line on stderr, nothing on stdout,
# exit 2 when the command line lacks the edge's URL or a usable token (a --token-file or
# BURROW_ADMIN_TOKEN_FILE that group or others can read, or that is missing, empty or too long; both
# --token and --token-file), 1 for everything the edge or the network
# refused (edge not listening, a CA that is not the edge's, a hostname another app has, an app or
# token that does not exist, a wrong admin token), and nothing changes on the edge. After 10 wrong
# admin tokens from one address within 60 s, that address's wrong tokens get 429 "too many failed
# attempts", while the right token still works (README: 429). The token works from a 0600
# --token-file and from BURROW_ADMIN_TOKEN_FILE; the edge reads an admin-token it did not make whole
# (100 bytes and a newline; it used to read 64).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# The edge reads an admin-token it did not make whole: 100 bytes and a newline (it read 64 before).
OWN_TOKEN=$(printf 'k%.0s' $(seq 1 96))-end
EDGE_DIR=$T/edge
mkdir -m 700 "$EDGE_DIR"
printf '%s\n' "$OWN_TOKEN" >"$EDGE_DIR/admin-token"
chmod 600 "$EDGE_DIR/admin-token"
start_edge
assert_eq "$OWN_TOKEN" "$BURROW_ADMIN_TOKEN" "the admin token start_edge read"
admin app create --name ssh --hostname ssh.site.test >/dev/null
CLOSED_PORT=$(free_port)
WRONG_TOKEN=$(printf '0%.0s' $(seq 1 64))
FAILED_TOKENS=0 # wrong admin tokens sent so far (the edge counts them per address)

# admin_says WHAT STATUS LINE -- [VAR=VALUE...] ARGS...: says (lib.sh) for burrow admin ARGS.
admin_says() {
  local what=$1 want_rc=$2 want=$3 pre=()
  shift 4
  while [ $# -gt 0 ] && [[ $1 == [A-Z_]*=* ]]; do
    pre+=("$1")
    shift
  done
  says "$what" "$want_rc" "$want" -- "${pre[@]}" admin "$@"
}
apps() { admin app list | awk 'NR > 1 { print $1 }' | tr '\n' ' ' | sed 's/ $//'; }

admin_says "no BURROW_ADMIN_URL and no --url: exit 2, says how to name the edge" 2 \
  "burrow: admin: no admin URL: pass --url or set BURROW_ADMIN_URL (e.g. https://127.0.0.1:8443)" \
  -- BURROW_ADMIN_URL= app list
admin_says "no BURROW_ADMIN_TOKEN and no --token: exit 2, says where the token is" 2 \
  "burrow: admin: no admin token: pass --token-file FILE or set BURROW_ADMIN_TOKEN_FILE (the edge keeps it in <data-dir>/admin-token), or set BURROW_ADMIN_TOKEN" \
  -- BURROW_ADMIN_TOKEN= app list
admin_says "edge not listening: exit 1, one line naming the address" 1 \
  "burrow: admin: cannot connect to 127.0.0.1:$CLOSED_PORT: Connection refused (is the edge running, and is --url right?)" \
  -- BURROW_ADMIN_URL="https://127.0.0.1:$CLOSED_PORT" app list
admin_says "app create with a hostname app ssh has: exit 1, names the conflict" 1 \
  'burrow: admin: app create failed (409): hostname "ssh.site.test" already belongs to app "ssh"' \
  -- app create --name ssh2 --hostname ssh.site.test
admin_says "policy add to an app that does not exist: exit 1" 1 \
  'burrow: admin: policy add failed (404): no app named "nope"' \
  -- policy add --app nope --action service_auth --include service-token=ci
admin_says "service-token revoke of a token that does not exist: exit 1" 1 \
  'burrow: admin: service-token revoke failed (404): no service token named "nope"' \
  -- service-token revoke nope

# --token-file / BURROW_ADMIN_TOKEN_FILE: the token stays out of argv; the file must be the user's alone.
cp "$EDGE_DIR/admin-token" "$T/token"
chmod 600 "$T/token"
cp "$T/token" "$T/token-644"
chmod 644 "$T/token-644"
: >"$T/token-empty"
chmod 600 "$T/token-empty"
printf '%s\n' "$(printf 'k%.0s' $(seq 1 4097))" >"$T/token-long"
chmod 600 "$T/token-long"
test_case "--token-file FILE (mode 0600, the whole 100-byte token and a newline): app list works"
out=$(env -u BURROW_ADMIN_TOKEN "$BURROW" admin --token-file "$T/token" app list 2>>"$LOGS/admin.err") ||
  fail "exit $?: $(tail -n 1 "$LOGS/admin.err")"
assert_contains "$out" ssh.site.test "app list"
pass
test_case "BURROW_ADMIN_TOKEN_FILE=FILE: app list works"
out=$(env -u BURROW_ADMIN_TOKEN BURROW_ADMIN_TOKEN_FILE="$T/token" "$BURROW" admin app list 2>>"$LOGS/admin.err") ||
  fail "exit $?: $(tail -n 1 "$LOGS/admin.err")"
assert_contains "$out" ssh.site.test "app list"
pass
admin_says "--token-file of mode 0644: exit 2, says chmod 600, before any request" 2 \
  "burrow: admin: $T/token-644 can be read or written by group or others (mode 0644): run chmod 600 $T/token-644" \
  -- BURROW_ADMIN_TOKEN= app list --token-file "$T/token-644"
admin_says "BURROW_ADMIN_TOKEN_FILE of mode 0644: the same" 2 \
  "burrow: admin: $T/token-644 can be read or written by group or others (mode 0644): run chmod 600 $T/token-644" \
  -- BURROW_ADMIN_TOKEN= BURROW_ADMIN_TOKEN_FILE="$T/token-644" app list
admin_says "--token-file that does not exist: exit 2, names it" 2 \
  "burrow: admin: cannot read the admin token from $T/nope: No such file or directory" \
  -- BURROW_ADMIN_TOKEN= app list --token-file "$T/nope"
admin_says "--token-file that is empty: exit 2" 2 \
  "burrow: admin: $T/token-empty is empty: it must hold the admin token" \
  -- BURROW_ADMIN_TOKEN= app list --token-file "$T/token-empty"
admin_says "--token-file longer than 4096 bytes: exit 2" 2 \
  "burrow: admin: $T/token-long is longer than 4096 bytes: it must hold only the admin token and at most one newline" \
  -- BURROW_ADMIN_TOKEN= app list --token-file "$T/token-long"
admin_says "--token and --token-file together: exit 2" 2 \
  "burrow: admin: pass --token-file or --token, not both" \
  -- app list --token-file "$T/token" --token "$OWN_TOKEN"

admin_says "a wrong admin token: exit 1, 401 and what to pass" 1 \
  "burrow: admin: edge refused the admin token (401): admin token missing or wrong: pass --token-file FILE (data-dir/admin-token on the edge) or set BURROW_ADMIN_TOKEN_FILE" \
  -- BURROW_ADMIN_TOKEN="$WRONG_TOKEN" app create --name sneaky --hostname sneaky.site.test
FAILED_TOKENS=$((FAILED_TOKENS + 1))

test_case "nothing the refused commands asked for happened: app list shows ssh alone"
assert_eq ssh "$(apps)" "apps listed"
pass

test_case "10 wrong admin tokens within 60 s: each 401; the 11th gets 429, the right token still works"
while [ "$FAILED_TOKENS" -lt 10 ]; do
  rc=0
  BURROW_ADMIN_TOKEN=$WRONG_TOKEN "$BURROW" admin app list >/dev/null 2>"$T/err" || rc=$?
  FAILED_TOKENS=$((FAILED_TOKENS + 1))
  [ "$rc" -eq 1 ] || fail "wrong token $FAILED_TOKENS: exit $rc"
  assert_contains "$(cat "$T/err")" "edge refused the admin token (401)" "wrong token $FAILED_TOKENS"
done
rc=0
BURROW_ADMIN_TOKEN=$WRONG_TOKEN "$BURROW" admin app list >/dev/null 2>"$T/err" || rc=$?
step "11th wrong token: exit $rc: $(cat "$T/err")"
assert_eq 1 "$rc" "exit status of the 11th wrong token"
assert_match "$(cat "$T/err")" '^burrow: admin: app list failed \(429\): too many failed attempts from this address: retry in [0-9]+ s$' "stderr"
rc=0
"$BURROW" admin app list >"$T/out" 2>"$T/err" || rc=$?
step "right token after 11 wrong: exit $rc: $(cat "$T/err")"
assert_eq 0 "$rc" "exit status with the right token"
assert_eq ssh "$(awk 'NR > 1 { print $1 }' "$T/out")" "apps listed"
pass
