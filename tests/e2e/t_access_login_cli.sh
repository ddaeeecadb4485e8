#!/usr/bin/env bash
# burrow access login|token|logout and the app-token cache, as far as they work before the edge
# serves logins: `access token` prints a cached, unexpired token ($BURROW_HOME/access/HOST.token,
# mode 0600) on stdout, and otherwise says in one line that there is none (exit 1); a cache file
# others can read is refused with the chmod line; `access logout` deletes the token (exit 0, also
# when there is none). Against a real edge, `access login` prints the login URL (with the edge's
# port) and the code on stderr, opens $BROWSER with the URL as its one argument and stdin/stdout on
# /dev/null, polls the edge and reports its refusal as "burrow: login to HOST failed: ..." (exit 1);
# `access ssh` without a service token logs in first the same way, and with a cached token the
# edge refuses (401) it deletes that token and logs in again. The token is never on stderr.
# An edge without --auth-domain refuses logins (404, one line); with one, a login nobody finishes
# ends at --login-timeout with one line. The real login, with a browser, is t_sso_local.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_burrow
export BURROW_NO_BROWSER=1
CACHE=$BURROW_HOME/access/ssh.site.test.token

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# make_token EXP: a JWT-shaped app token (unsigned: the client reads only its exp)
make_token() {
  printf '%s.%s.%s' "$(printf '{"alg":"ES256","typ":"JWT"}' | b64url)" \
    "$(printf '{"sub":"alice","type":"app","exp":%s}' "$1" | b64url)" "$(head -c 64 /dev/zero | b64url)"
}
# cache_token TOKEN [MODE]: writes TOKEN as the cached token for ssh.site.test
cache_token() {
  mkdir -p "$BURROW_HOME/access"
  chmod 700 "$BURROW_HOME" "$BURROW_HOME/access"
  printf '%s\n' "$1" >"$CACHE"
  chmod "${2:-600}" "$CACHE"
}
NOW=$(date +%s)
TOKEN=$(make_token $((NOW + 3600)))

says "access token with nothing cached: one line, exit 1" 1 \
  "burrow: access token: no valid token for ssh.site.test: run burrow access login https://ssh.site.test" \
  -- access token --app https://ssh.site.test

says "access logout with nothing cached: says so, exit 0" 0 \
  "burrow: not logged in to ssh.site.test: no cached token" -- access logout https://ssh.site.test

test_case "access token prints a cached, unexpired token on stdout (--app with or without https://)"
for app in https://ssh.site.test ssh.site.test SSH.Site.Test; do
  cache_token "$TOKEN"
  out=$("$BURROW" access token --app "$app" 2>"$T/err") || fail "--app $app: exit $?: $(cat "$T/err")"
  assert_eq "$TOKEN" "$out" "stdout for --app $app"
  assert_eq "" "$(cat "$T/err")" "stderr"
done
pass

says "access logout deletes it: one line naming the file, exit 0" 0 \
  "burrow: logged out of ssh.site.test: deleted $CACHE" -- access logout https://ssh.site.test
test_case "after logout the token file is gone"
[ ! -e "$CACHE" ] || fail "$CACHE still exists"
pass

cache_token "$(make_token $((NOW + 10)))"
says "a token expiring within 30 s counts as absent" 1 \
  "burrow: access token: no valid token for ssh.site.test: run burrow access login https://ssh.site.test" \
  -- access token --app ssh.site.test

cache_token "$TOKEN" 644
says "a cached token file of mode 0644: refused with the chmod line, exit 1" 1 \
  "burrow: access token: $CACHE can be read or written by group or others (mode 0644): run chmod 600 $CACHE, or log in again" \
  -- access token --app ssh.site.test

says "access login http://...: refused, exit 2" 2 \
  "burrow: access login: http://ssh.site.test: applications are reached over https://, not http://" \
  -- access login http://ssh.site.test
says "access login with a bad --login-timeout: exit 2" 2 \
  "burrow: access login: invalid --login-timeout soon: expected a duration such as 90s or 5m" \
  -- access login https://ssh.site.test --login-timeout soon

# ---- against a real edge
start_edge
admin app create --name ssh --hostname ssh.site.test >/dev/null
rm -f "$CACHE"
EDGE_404="single sign-on is not set up on this edge (its administrator starts it with --auth-domain)"
URL_RE="^Log in to ssh\\.site\\.test in your browser: https://ssh\\.site\\.test:$EDGE_PORT/cdn-cgi/access/cli\\?transfer=[A-Za-z0-9_-]{43}&key=[A-Za-z0-9_-]{43}\$"
CODE_RE='^The page will show the code [0-9a-f]{4}-[0-9a-f]{4}; allow the login only if it does\.$'

# login_says WHAT WANT-LAST-LINE [VAR=VALUE...] -- ARGS...: burrow ARGS exits 1 within 4 s, stdout
# empty, stderr = the URL line, the code line, WANT-LAST-LINE.
login_says() {
  local what=$1 want=$2 rc=0 t0 ms envs=()
  shift 2
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  test_case "$what"
  t0=$(now_ms)
  env "${envs[@]}" timeout 15 "$BURROW" "$@" </dev/null >"$T/login.out" 2>"$T/login.err" || rc=$?
  ms=$(($(now_ms) - t0))
  cat "$T/login.err" >>"$LOGS/login.err"
  step "burrow $*: exit $rc after $ms ms: $(tr '\n' '|' <"$T/login.err" | cut -c1-400)"
  assert_eq 1 "$rc" "exit status"
  [ "$ms" -lt 4000 ] || fail "took $ms ms"
  [ ! -s "$T/login.out" ] || fail "printed on stdout: $(head -c 200 "$T/login.out")"
  assert_eq 3 "$(grep -c '' "$T/login.err")" "lines on stderr"
  assert_match "$(sed -n 1p "$T/login.err")" "$URL_RE" "first line"
  assert_match "$(sed -n 2p "$T/login.err")" "$CODE_RE" "second line"
  assert_eq "$want" "$(sed -n 3p "$T/login.err")" "last line"
  pass
}

login_says "access login --login-timeout 2s: URL with the edge's port, the code, then the edge's refusal, exit 1" \
  "burrow: login to ssh.site.test failed: $EDGE_404" -- access login https://ssh.site.test --login-timeout 2s
test_case "a failed login caches nothing"
[ ! -e "$CACHE" ] || fail "$CACHE exists"
pass

login_says "access ssh without a service token or a cached token: logs in first (the same lines), exit 1" \
  "burrow: login to ssh.site.test failed: $EDGE_404" BURROW_LOGIN_TIMEOUT=2s -- access ssh --hostname ssh.site.test

cache_token "$TOKEN"
login_says "access ssh with a cached token the edge refuses (401): logs in again, exit 1" \
  "burrow: login to ssh.site.test failed: $EDGE_404" -- access ssh --hostname ssh.site.test --login-timeout 2s
test_case "the refused token is deleted from the cache, and never printed"
[ ! -e "$CACHE" ] || fail "$CACHE still exists"
assert_not_contains "$(cat "$LOGS/login.err" "$LOGS/edge.log")" "$TOKEN" "stderr and the edge's log"
pass

test_case "\$BROWSER gets the URL as its one argument, stdin and stdout on /dev/null, and does not hold up the login"
cat >"$T/browser" <<EOF
#!/bin/sh
in=\$(readlink /proc/\$\$/fd/0) out=\$(readlink /proc/\$\$/fd/1)
printf '%s\\n' "\$#" "\$1" "\$in" "\$out" >"$T/browser.tmp"
mv "$T/browser.tmp" "$T/browser.out"
EOF
chmod +x "$T/browser"
rc=0
env -u BURROW_NO_BROWSER BROWSER="$T/browser" timeout 15 "$BURROW" access login ssh.site.test --login-timeout 2s \
  </dev/null >/dev/null 2>"$T/login.err" || rc=$?
assert_eq 1 "$rc" "exit status"
wait_for 5 test -s "$T/browser.out" || fail "the browser did not run"
url=$(sed -n 1p "$T/login.err" | sed 's/.*in your browser: //')
assert_eq "1|$url|/dev/null|/dev/null" "$(tr '\n' '|' <"$T/browser.out" | sed 's/|$//')" "browser's argc, argv[1], fd 0, fd 1"
pass

# ---- an edge that serves logins: nobody finishes this one
stop_pid "$EDGE_PID"
start_edge --auth-domain "auth.site.test:$EDGE_PORT"
login_says "access login that nobody finishes in the browser: one line at --login-timeout, exit 1" \
  "burrow: login to ssh.site.test not completed within 2s: run \"burrow access login https://ssh.site.test\" to try again" \
  -- access login https://ssh.site.test --login-timeout 2s
