#!/usr/bin/env bash
# The edge's OpenID Connect relying party (src/edge/oidc/) against a real OpenID provider (npm
# oidc-provider, tests/e2e/browser/idp.js, over HTTPS with a certificate from this test's own CA,
# trusted as the provider's --ca-file) and a real headless Chromium, without the edge's HTTP routes:
# tests/e2e/oidc/oidc_drive runs the module on a libuv loop and is driven line by line. Cases: alice
# logs in (identity: email lowercased, groups [ops], idp corp, login_method oidc, the ret given at
# the start); the same callback replayed is refused (state used); a callback with another
# browser's cookie is refused; a tampered cookie and a missing one are refused; an authorization
# code used a second time (under a fresh state) is refused by the provider, with its error; eve
# (email_verified false) and a user without an email are refused; the provider's access_denied
# (Cancel at its login page) is refused with the provider's words; a login cancelled at once never
# calls back; an unknown provider and an unreachable one are one line each. No code, token or
# secret appears in an error line or the driver's log.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/lib_sso.sh
. "$E2E_DIR/lib_sso.sh"

DRIVE_BIN=$BUILD/tests/oidc_drive
require_browser oidc
[ -x "$DRIVE_BIN" ] || fail "missing $DRIVE_BIN (make unit-bins)"

EDGE_PORT=$(free_port)
ORIGIN=https://auth.site.test:$EDGE_PORT
start_idp "$ORIGIN/cdn-cgi/access/callback"
SECRET=$IDP_SECRET

# The driver: commands through a fifo, answers appended to $LOGS/drive.out.
mkfifo "$T/drive.in"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
spawn drive bash -c 'exec "$0" "$@" <"'"$T/drive.in"'"' "$DRIVE_BIN" --idp corp --issuer "$ISSUER" \
  --client-id burrow --client-secret-file "$T/secret" --auth-origin "$ORIGIN" --ca-file "$T/ca.pem"
DRIVE_PID=$BG_PID
exec 5>"$T/drive.in"

# drive CMD: sends one command; its answer lines in ANS (waits for the last line of an answer).
drive() {
  local before
  before=$(wc -l <"$LOGS/drive.out")
  printf '%s\n' "$1" >&5
  answered() { tail -n +"$((before + 1))" "$LOGS/drive.out" | grep -qE '^(RET|COOKIE|ERROR|CANCELLED)'; }
  wait_for 40 answered || fail "oidc_drive gave no answer to: ${1:0:40}"
  ANS=$(tail -n +"$((before + 1))" "$LOGS/drive.out")
}

# begin RET: a login's start; sets LOC and COOKIE.
begin() {
  drive "begin $1"
  LOC=$(sed -n 's/^LOCATION //p' <<<"$ANS")
  COOKIE=$(sed -n 's/^COOKIE //p' <<<"$ANS")
  if [ -z "$LOC" ] || [ -z "$COOKIE" ]; then fail "begin: $ANS"; fi
}

# login NAME [cancel]: the browser at $LOC; sets QUERY (the callback's query string).
login() {
  local out
  out=$(timeout 90 node "$NODE_DIR/oidc_login.js" --url "$LOC" --login "$1" ${2:+--cancel 1} 2>>"$LOGS/browser.err") || true
  step "browser $1: ${out:0:160}"
  case $out in CALLBACK\ "$ORIGIN"/cdn-cgi/access/callback\?*) ;; *) fail "no redirect to the callback: $out" ;; esac
  QUERY=${out#*\?}
}

query_param() { sed -n "s/.*[?&]$1=\\([^&]*\\).*/\\1/p" <<<"?$2"; }

test_case "alice logs in at the provider: identity with email, groups, idp and the ret given"
begin /ret-alice
assert_match "$LOC" "^$ISSUER/auth\\?response_type=code&client_id=burrow&redirect_uri=https%3A%2F%2Fauth\\.site\\.test%3A$EDGE_PORT%2Fcdn-cgi%2Faccess%2Fcallback&scope=openid%20email%20profile&state=[A-Za-z0-9_-]{43}&nonce=[A-Za-z0-9_-]{43}&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256$" "location"
login alice@site.test
ALICE_Q=$QUERY ALICE_COOKIE=$COOKIE
drive "callback $COOKIE $QUERY"
assert_eq 'IDENTITY {"email":"alice@site.test","groups":["ops"],"idp":"corp","login_method":"oidc","sub":"alice@site.test"}' "$(head -1 <<<"$ANS")" "identity"
assert_eq "RET /ret-alice" "$(tail -1 <<<"$ANS")" "ret"
pass

test_case "the same callback again: refused, the state was used"
drive "callback $ALICE_COOKIE $ALICE_Q"
assert_eq "ERROR authentication failed this login response was used already (state): start the login again" "$ANS" "replay"
pass

test_case "a callback with another browser's cookie: refused (state)"
begin /other
OTHER_COOKIE=$COOKIE OTHER_STATE=$(query_param state "${LOC#*\?}")
begin /third
login alice@site.test
drive "callback $OTHER_COOKIE $QUERY"
assert_eq "ERROR authentication failed provider corp: the response does not belong to the login this browser started (state): start the login again" "$ANS" "foreign cookie"
pass

test_case "a tampered cookie and a missing one: refused"
c=$COOKIE
if [ "${c:10:1}" = A ]; then t=B; else t=A; fi
drive "callback ${c:0:10}$t${c:11} $QUERY"
assert_eq "ERROR authentication failed this browser's login cookie is not valid here: start the login again" "$ANS" "tampered"
drive "callback - $QUERY"
assert_eq "ERROR authentication failed no login is in progress in this browser (its login cookie is missing): start the login again" "$ANS" "missing"
pass

test_case "a code used a second time, under a fresh state: the provider refuses it"
code=$(query_param code "$ALICE_Q")
drive "callback $OTHER_COOKIE state=$OTHER_STATE&code=$code&iss=$(query_param iss "$ALICE_Q")"
assert_match "$ANS" "^ERROR authentication failed provider corp: the token request was refused: HTTP 400 invalid_grant" "reused code"
assert_not_contains "$ANS" "$code" "the error line"
pass

test_case "eve's email is not verified: refused"
begin /eve
login eve@site.test
drive "callback $COOKIE $QUERY"
assert_eq "ERROR authentication failed provider corp: the ID token says the email address is not verified: verify it at the provider first" "$ANS" "eve"
pass

test_case "a user without an email: refused"
begin /noemail
login noemail
drive "callback $COOKIE $QUERY"
assert_eq "ERROR authentication failed provider corp: the ID token has no usable email: the provider must release the email claim (scope \"email\")" "$ANS" "noemail"
pass

test_case "Cancel at the provider: access_denied, refused with the provider's words"
begin /cancel
login alice@site.test cancel
assert_contains "$QUERY" "error=access_denied" "the provider's redirect"
drive "callback $COOKIE $QUERY"
assert_eq "ERROR authentication failed provider corp refused the login: access_denied (End-User aborted interaction)" "$ANS" "access_denied"
pass

test_case "a login cancelled at once never calls back; an unknown provider is one line"
drive "cancel-begin"
assert_eq "CANCELLED" "$ANS" "cancel"
drive "begin-idp nosuch"
assert_eq "ERROR not found no identity provider named nosuch (burrow admin idp list shows them)" "$ANS" "unknown provider"
pass

test_case "nothing secret in the driver's output or log"
all=$(cat "$LOGS/drive.out" "$LOGS/drive.err")
assert_not_contains "$all" "$SECRET" "client secret"
assert_not_contains "$all" "$code" "authorization code"
assert_not_contains "$all" "eyJ" "a JWT"
pass

test_case "the provider unreachable: one line naming it and its discovery URL"
stop_pid "$IDP_PID"
exec 5>&-
drive_gone() { ! _alive "$DRIVE_PID"; }
wait_for 20 drive_gone || fail "oidc_drive did not exit at the end of its input"
assert_not_contains "$(cat "$LOGS/drive.err")" "handles left open" "oidc_close"
mkfifo "$T/drive2.in"
# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
spawn drive2 bash -c 'exec "$0" "$@" <"'"$T/drive2.in"'"' "$DRIVE_BIN" --idp corp --issuer "$ISSUER" \
  --client-id burrow --client-secret-file "$T/secret" --auth-origin "$ORIGIN" --ca-file "$T/ca.pem"
exec 6>"$T/drive2.in"
printf 'begin /x\n' >&6
gave_error() { grep -q '^ERROR' "$LOGS/drive2.out"; }
wait_for 30 gave_error || fail "no error for an unreachable provider"
assert_match "$(cat "$LOGS/drive2.out")" "^ERROR service unavailable provider corp: discovery at $ISSUER/\\.well-known/openid-configuration failed: .*" "unreachable"
exec 6>&-
pass
