# lib_sso.sh — helpers for the single sign-on tests (t_sso_local, t_sso_oidc, t_oidc_rp); source it
# after lib.sh. A real OpenID provider (npm oidc-provider) and a person at the edge's login pages in
# a real headless Chromium (tests/e2e/browser/).
# shellcheck shell=bash
# (variables here are for the scripts that source this file)
# shellcheck disable=SC2034

NODE_DIR=$E2E_DIR/browser

# require_browser [oidc]: playwright-core and Chromium (and oidc-provider with "oidc") are installed.
require_browser() {
  [ -d "$NODE_DIR/node_modules/playwright-core" ] || fail "playwright-core missing: run scripts/install-deps"
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium missing: run scripts/install-deps"
  [ "${1:-}" != oidc ] || [ -d "$NODE_DIR/node_modules/oidc-provider" ] ||
    fail "oidc-provider missing: run scripts/install-deps"
}

# start_idp REDIRECT_URI: the OpenID provider (tests/e2e/browser/idp.js) on https://127.0.0.1:$IDP_PORT
# with a certificate from this test's own CA ($T/ca.pem, for the edge's --ca-file) and client
# "burrow" whose secret is in $T/secret (0600). Sets IDP_PORT (chosen unless set), ISSUER,
# IDP_SECRET and IDP_PID.
start_idp() {
  IDP_PORT=${IDP_PORT:-$(free_port)}
  ISSUER=https://127.0.0.1:$IDP_PORT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
    -days 1 -subj /CN=burrow-test-idp-ca 2>>"$LOGS/openssl.err"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/idp.key" -out "$T/idp.csr" \
    -subj /CN=127.0.0.1 2>>"$LOGS/openssl.err"
  printf 'subjectAltName=IP:127.0.0.1\n' >"$T/idp.ext"
  openssl x509 -req -in "$T/idp.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -out "$T/idp.pem" \
    -days 1 -extfile "$T/idp.ext" 2>>"$LOGS/openssl.err"
  IDP_SECRET="idp-secret-$RANDOM$RANDOM-never-shown"
  (umask 077 && printf '%s\n' "$IDP_SECRET" >"$T/secret")
  spawn idp node "$NODE_DIR/idp.js" --port "$IDP_PORT" --cert "$T/idp.pem" --key "$T/idp.key" \
    --secret-file "$T/secret" --redirect "$1"
  IDP_PID=$BG_PID
  wait_for 20 _idp_ready || fail "the OpenID provider did not start: $(cat "$LOGS/idp.out" "$LOGS/idp.err")"
}
_idp_ready() { grep -q '^READY' "$LOGS/idp.out"; }

# has_url FILE: a client's stderr shows the login URL.
has_url() { grep -q 'in your browser: https://' "$1" 2>/dev/null; }

# grab FILE: URL and CODE from a client's stderr.
grab() {
  URL=$(grep -o 'https://[^ ]*/cdn-cgi/access/cli?[^ ]*' "$1" | head -n 1)
  CODE=$(grep -o 'code [0-9a-f]\{4\}-[0-9a-f]\{4\}' "$1" | head -n 1 | cut -d' ' -f2)
  { [ -n "$URL" ] && [ -n "$CODE" ]; } || fail "no login URL and code in: $(tr '\n' '|' <"$1" | cut -c1-300)"
}

# ssh_bg NAME HOME CMD: ssh (with $SSH_CFG) in the background as a person with BURROW_HOME=HOME;
# output in $T/NAME.out and .err; sets SSH_PID.
ssh_bg() {
  BURROW_HOME=$2 timeout 120 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" "$3" >"$T/$1.out" 2>"$T/$1.err" &
  SSH_PID=$!
}

# browser NAME ARGS...: tests/e2e/browser/login.js ARGS (see there), screenshots in $SHOTS/NAME;
# its output in $T/NAME.browser.
browser() {
  local name=$1
  shift
  mkdir -p "$SHOTS/$name"
  timeout 90 node "$NODE_DIR/login.js" --shots "$SHOTS/$name" "$@" >"$T/$name.browser" 2>>"$LOGS/browser.err" || true
  step "browser $name: $(tr '\n' '|' <"$T/$name.browser" | cut -c1-500)"
}
