#!/usr/bin/env bash
# Single sign-on through a real OpenID provider (npm oidc-provider over HTTPS, its CA given to the
# edge with --ca-file) and the edge's own routes, end to end: ssh with no token prints a login
# URL; headless Chromium opens it, picks the provider on the edge's login page, logs in there and
# consents, comes back through /cdn-cgi/access/callback, allows the command line, and the shell
# runs. The app accepts only that provider (--idp) and only group ops: dave (group dev) is denied
# in the browser and the terminal; the login page offers no password form for this app; a callback
# without the browser's state cookie is refused (replays and foreign cookies: t_oidc_rp); the
# provider's secret never shows.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/lib_sso.sh
. "$E2E_DIR/lib_sso.sh"

require_browser oidc
EDGE_PORT=$(free_port)
ORIGIN=https://auth.site.test:$EDGE_PORT
start_idp "$ORIGIN/cdn-cgi/access/callback"

start_sshd
start_edge --auth-domain "auth.site.test:$EDGE_PORT"
admin idp add --name corp --issuer "$ISSUER" --client-id burrow --client-secret-file "$T/secret" \
  --ca-file "$T/ca.pem" >/dev/null
admin app create --name ssh --hostname ssh.site.test --idp corp >/dev/null
admin policy add --app ssh --action allow --include group=ops >/dev/null
printf 'pw-local-123\n' | "$BURROW" admin user add ops@site.test >/dev/null 2>>"$LOGS/admin.err" ||
  fail "admin user add: $(tail -n 1 "$LOGS/admin.err")"
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
SSH_CFG=$T/ssh_config
ssh_config_write "$SSH_CFG" "$SSH_KEY" "$(printf '%q' "$BURROW") access ssh --hostname %h"
export BURROW_NO_BROWSER=1
SHOTS=$LOGS/shots
mkdir -p "$SHOTS"

test_case "ssh with no token: Chromium logs in at the provider (corp), the shell runs as alice"
mkdir -p "$T/alice"
ssh_bg a1 "$T/alice" 'echo ok'
wait_for 20 has_url "$T/a1.err" || fail "no login URL: $(tr '\n' '|' <"$T/a1.err" | cut -c1-300)"
grab "$T/a1.err"
browser alice --url "$URL" --idp corp --email alice@site.test --password unused --code "$CODE"
grep -q '^PAGE 200 Log in to ssh' "$T/alice.browser" || fail "no login page naming the app"
grep -q '^PAGE 200 Connect to ssh' "$T/alice.browser" || fail "did not come back to the consent page"
grep -q '^RESULT Logged in' "$T/alice.browser" || fail "browser did not end on 'Logged in'"
rc=0
wait "$SSH_PID" || rc=$?
assert_eq 0 "$rc" "ssh exit status ($(tr '\n' '|' <"$T/a1.err" | cut -c1-200))"
assert_eq ok "$(cat "$T/a1.out")" "remote output"
pass

test_case "the app token names alice (email lowercased), group ops and provider corp"
tok=$(BURROW_HOME=$T/alice "$BURROW" access token --app https://ssh.site.test) || fail "no cached token"
claims=$(printf '%s' "$tok" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null || true)
assert_contains "$claims" '"email":"alice@site.test"' "email"
assert_contains "$claims" '"groups":["ops"]' "groups"
assert_contains "$claims" '"idp":"corp"' "idp"
assert_contains "$claims" '"login_method":"oidc"' "login method"
pass

test_case "the login page offers only corp for this app (no password form)"
page=$(curl -s --max-time 10 --cacert "$EDGE_DIR/ca.pem" --resolve "auth.site.test:$EDGE_PORT:127.0.0.1" \
  "$ORIGIN/cdn-cgi/access/login?return=%2Fcdn-cgi%2Faccess%2Fcli%3Fhost%3Dssh.site.test%26transfer%3Dx%26key%3Dy")
assert_contains "$page" 'Log in with corp' "provider button"
assert_not_contains "$page" 'name="password"' "password form"
pass

test_case "a built-in user who logs in with the form anyway is refused by the app (it accepts only corp)"
# shellcheck source=bench/lib/login.sh
. "$REPO/bench/lib/login.sh"
jar=$T/local.jar
c=(curl -s --max-time 10 --cacert "$EDGE_DIR/ca.pem" --resolve "auth.site.test:$EDGE_PORT:127.0.0.1" -c "$jar" -b "$jar")
csrf=$("${c[@]}" "$ORIGIN/cdn-cgi/access/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
page=$("${c[@]}" --data-urlencode "csrf=$csrf" --data-urlencode "email=ops@site.test" \
  --data-urlencode "password=pw-local-123" "$ORIGIN/cdn-cgi/access/login")
assert_contains "$page" "<h1>Logged in</h1>" "the form's login"
key=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
xfer=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
st=$("${c[@]}" -o "$T/local.body" -w '%{http_code}' "$ORIGIN/cdn-cgi/access/cli?host=ssh.site.test&transfer=$xfer&key=$key")
assert_eq 403 "$st" "status"
assert_contains "$(cat "$T/local.body")" "does not accept logins through local" "page"
pass

test_case "dave (group dev, not ops) logs in at the provider but is denied: browser and terminal say so"
mkdir -p "$T/dave"
ssh_bg d1 "$T/dave" 'echo reached'
wait_for 20 has_url "$T/d1.err" || fail "no login URL"
grab "$T/d1.err"
browser dave --url "$URL" --idp corp --email dave@site.test --password unused --code "$CODE"
grep -q '^PAGE 403 Access denied | Access denied: dave@site.test may not use ssh' "$T/dave.browser" ||
  fail "no 403 page naming dave and the app"
rc=0
wait "$SSH_PID" || rc=$?
[ "$rc" -ne 0 ] || fail "ssh succeeded"
assert_contains "$(cat "$T/d1.err")" "denied" "client's line"
pass

test_case "a callback without the browser's state cookie is refused (401 page), and so is a made-up one"
for q in "code=abc&state=def" ""; do
  st=$(curl -s --max-time 10 --cacert "$EDGE_DIR/ca.pem" --resolve "auth.site.test:$EDGE_PORT:127.0.0.1" \
    -o "$T/cb.body" -w '%{http_code}' "$ORIGIN/cdn-cgi/access/callback?$q")
  assert_eq 401 "$st" "status for '?$q' ($(grep -o '<p>[^<]*' "$T/cb.body" | head -n 1))"
done
pass

test_case "the provider's client secret is in no log, audit record or admin answer"
sleep 1.2
a=$(admin audit --since 1h --json)
assert_contains "$a" "provider corp (oidc)" "alice's login in the audit log"
for f in "$LOGS"/*; do
  [ -f "$f" ] || continue
  grep -q "$IDP_SECRET" "$f" && fail "the secret is in $(basename "$f")"
done
assert_not_contains "$a$(admin idp list --json)" "$IDP_SECRET" "audit and idp list"
pass
