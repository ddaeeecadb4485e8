#!/usr/bin/env bash
# Single sign-on with the edge's built-in users, end to end with real parts: a person runs ssh with
# nothing but `burrow access ssh --hostname %h` as ProxyCommand; burrow prints a login URL; a real
# headless Chromium opens it, logs in on the auth domain, checks the code the terminal showed and
# allows it; the sealed app token reaches the waiting client and the shell runs. Then: the cached
# token is reused, policy denials reach the browser and the terminal, tampered / foreign / unsigned
# tokens are refused, revocation ends a live session and forces a new login, ten concurrent ssh
# start one login, wrong passwords lock the account, and every login is in the audit log.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/lib_sso.sh
. "$E2E_DIR/lib_sso.sh"

# shellcheck disable=SC2119 # (no argument: the browser alone)
require_browser

start_sshd
EDGE_PORT=$(free_port)
start_edge --auth-domain "auth.site.test:$EDGE_PORT"
admin app create --name ssh --hostname ssh.site.test >/dev/null
admin app create --name web --hostname web.site.test >/dev/null
admin policy add --app ssh --action allow --include email-domain=site.test --exclude email=mallory@site.test >/dev/null
admin policy add --app web --action allow --include everyone >/dev/null
for u in alice@site.test mallory@site.test bob@other.test carol@site.test; do
  printf 'pw-%s-123\n' "$u" | "$BURROW" admin user add "$u" >/dev/null 2>>"$LOGS/admin.err" ||
    fail "admin user add $u: $(tail -n 1 "$LOGS/admin.err")"
done
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
SSH_CFG=$T/ssh_config
ssh_config_write "$SSH_CFG" "$SSH_KEY" "$(printf '%q' "$BURROW") access ssh --hostname %h"
export BURROW_NO_BROWSER=1
SHOTS=$LOGS/shots
mkdir -p "$SHOTS"

pw() { printf 'pw-%s-123' "$1"; }

test_case "ssh with no token: URL printed, Chromium logs in (one wrong password first), shell runs"
mkdir -p "$T/alice"
ssh_bg a1 "$T/alice" 'echo ok'
wait_for 20 has_url "$T/a1.err" || fail "no login URL within 20 s: $(tr '\n' '|' <"$T/a1.err" | cut -c1-300)"
grab "$T/a1.err"
case $URL in "https://ssh.site.test:$EDGE_PORT/cdn-cgi/access/cli?"*) ;; *) fail "URL not on the app's hostname: $URL" ;; esac
browser alice --url "$URL" --email alice@site.test --password "$(pw alice@site.test)" --code "$CODE" --wrong 1 \
  --logout "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/logout"
grep -q '^PAGE 401 Log in to ssh | Wrong email or password' "$T/alice.browser" || fail "wrong password: no 401 login page with the error"
grep -q '^PAGE 200 Connect to ssh' "$T/alice.browser" || fail "no consent page naming the app"
grep -q '^RESULT Logged in' "$T/alice.browser" || fail "browser did not end on 'Logged in'"
grep -q '^PAGE 200 Logged out' "$T/alice.browser" || fail "no 'Logged out' page"
[ "$(grep -c '^PAGE 200 Log in to ssh' "$T/alice.browser")" -eq 2 ] || fail "after logout the login form did not show again"
rc=0
wait "$SSH_PID" || rc=$?
assert_eq 0 "$rc" "ssh exit status ($(tr '\n' '|' <"$T/a1.err" | cut -c1-200))"
assert_eq ok "$(cat "$T/a1.out")" "remote output"
tok_file=$T/alice/access/ssh.site.test.token
[ -f "$tok_file" ] || fail "no cached token at $tok_file"
assert_eq 600 "$(stat -c %a "$tok_file")" "token file mode"
pass

test_case "the next ssh reuses the cached token: no login, under 5 s"
t0=$(now_ms)
out=$(BURROW_HOME=$T/alice timeout 30 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'echo again' 2>"$T/a2.err") ||
  fail "ssh exited $?: $(tail -n 2 "$T/a2.err")"
assert_eq again "$out" "remote output"
has_url "$T/a2.err" && fail "a login URL was printed although a token was cached"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 5000 ] || fail "took $ms ms"
pass

TOKEN=$(cat "$tok_file")
H=(--resolve "ssh.site.test:$EDGE_PORT:127.0.0.1" --resolve "web.site.test:$EDGE_PORT:127.0.0.1"
  --resolve "auth.site.test:$EDGE_PORT:127.0.0.1" --cacert "$EDGE_DIR/ca.pem" -s --max-time 10)
# upgrade HOST TOKEN: status and body of a WebSocket upgrade carrying cf-access-token
upgrade() {
  curl "${H[@]}" -o "$T/up.body" -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13' \
    -H "cf-access-token: $2" "https://$1:$EDGE_PORT/" || true
}
refused_token() { # WHAT HOST TOKEN NEEDLE
  test_case "$1: 401 '$4'"
  local st
  st=$(upgrade "$2" "$3")
  assert_eq 401 "$st" "status (body: $(head -c 200 "$T/up.body"))"
  assert_contains "$(cat "$T/up.body")" "$4" "reason"
  pass
}
IFS=. read -r th tp ts <<<"$TOKEN"
flip() { local s=$1 c=${1:5:1} r=A; [ "$c" = A ] && r=B; printf '%s%s%s' "${s:0:5}" "$r" "${s:6}"; }
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
forged_payload=$(printf '%s' "$tp" | python3 -c '
import base64, json, sys
p = sys.stdin.read(); p += "=" * (-len(p) % 4)
c = json.loads(base64.urlsafe_b64decode(p)); c["email"] = "mallory@site.test"
print(base64.urlsafe_b64encode(json.dumps(c).encode()).decode().rstrip("="))')
refused_token "claims changed (email), signature kept" ssh.site.test "$th.$forged_payload.$ts" "bad signature"
refused_token "signature changed" ssh.site.test "$th.$tp.$(flip "$ts")" "bad signature"
refused_token "alg none" ssh.site.test "$(printf '{"alg":"none","typ":"JWT"}' | b64u).$tp." "malformed"
refused_token "HS256 signed with the edge's public key" ssh.site.test \
  "$(printf '{"alg":"HS256","typ":"JWT"}' | b64u).$tp.$(printf x | b64u)" "malformed"
refused_token "alice's ssh token at app web" web.site.test "$TOKEN" "for another application"
refused_token "garbage" ssh.site.test "not-a-token" "malformed"

test_case "JWKS at /cdn-cgi/access/certs on the auth domain and the app hostname; the token's kid is in it"
kid=$(printf '%s' "$th" | tr '_-' '/+' | base64 -d 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])') || true
for host in auth.site.test ssh.site.test; do
  jwks=$(curl "${H[@]}" "https://$host:$EDGE_PORT/cdn-cgi/access/certs")
  assert_contains "$jwks" "\"kid\":\"$kid\"" "JWKS on $host"
  assert_not_contains "$jwks" '"d":' "JWKS on $host holds no private key"
done
pass

test_case "after 'admin keys rotate' the cached token still works and JWKS has both keys"
admin keys rotate >/dev/null
sleep 1.2
out=$(BURROW_HOME=$T/alice timeout 30 ssh -F "$SSH_CFG" "$SSH_USER@ssh.site.test" 'echo rotated' 2>"$T/a3.err") ||
  fail "ssh exited $?: $(tail -n 2 "$T/a3.err")"
assert_eq rotated "$out" "remote output"
n=$(curl "${H[@]}" "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/certs" | grep -o '"kid"' | wc -l)
assert_eq 2 "$n" "keys in JWKS"
pass

test_case "mallory (excluded by policy): browser shows 'Access denied' naming ssh, ssh fails with one line"
mkdir -p "$T/mallory"
ssh_bg m1 "$T/mallory" 'echo reached'
wait_for 20 has_url "$T/m1.err" || fail "no login URL"
grab "$T/m1.err"
browser mallory --url "$URL" --email mallory@site.test --password "$(pw mallory@site.test)" --code "$CODE"
grep -q '^PAGE 403 Access denied | Access denied: mallory@site.test may not use ssh' "$T/mallory.browser" ||
  fail "no 403 page naming the person and the app"
rc=0
wait "$SSH_PID" || rc=$?
[ "$rc" -ne 0 ] || fail "ssh succeeded"
assert_contains "$(cat "$T/m1.err")" "denied" "client's line"
assert_eq "" "$(cat "$T/m1.out")" "remote output"
pass

test_case "bob@other.test (outside the email domain): denied too"
mkdir -p "$T/bob"
ssh_bg b1 "$T/bob" 'echo reached'
wait_for 20 has_url "$T/b1.err" || fail "no login URL"
grab "$T/b1.err"
browser bob --url "$URL" --email bob@other.test --password "$(pw bob@other.test)" --code "$CODE"
grep -q '^PAGE 403 Access denied' "$T/bob.browser" || fail "no 403 page"
rc=0
wait "$SSH_PID" || rc=$?
[ "$rc" -ne 0 ] || fail "ssh succeeded"
pass

test_case "admin session list shows alice's live session; session revoke ends it within 3 s; her next ssh logs in again by itself"
ssh_bg a4 "$T/alice" 'echo started; sleep 30; echo not-cut'
wait_for 10 grep -q started "$T/a4.out" || fail "session did not start: $(tail -n 2 "$T/a4.err")"
list=$(admin session list --email alice@site.test)
step "session list: $(tr '\n' '|' <<<"$list")"
assert_eq 2 "$(grep -c '' <<<"$list")" "lines (header and alice's one session)"
assert_match "$(tail -n 1 <<<"$list")" "^[0-9a-f]{16} +ssh +ssh\.site\.test +alice@site\.test +127\.0\.0\.1" "alice's session"
assert_eq 1 "$(admin session list --email nobody@site.test | grep -c '')" "lines for someone without sessions (the header)"
t0=$(now_ms)
admin session revoke --email alice@site.test >/dev/null
wait_for 5 bash -c "! kill -0 $SSH_PID 2>/dev/null" || fail "session still running 5 s after revoke"
ms=$(($(now_ms) - t0))
step "session ended $ms ms after revoke"
[ "$ms" -lt 3000 ] || fail "took $ms ms"
grep -q not-cut "$T/a4.out" && fail "session ran to its end"
ssh_bg a5 "$T/alice" 'echo relogged'
wait_for 20 has_url "$T/a5.err" || fail "no new login after revocation: $(tr '\n' '|' <"$T/a5.err" | cut -c1-300)"
grab "$T/a5.err"
browser alice2 --url "$URL" --email alice@site.test --password "$(pw alice@site.test)" --code "$CODE"
rc=0
wait "$SSH_PID" || rc=$?
assert_eq 0 "$rc" "ssh exit status ($(tr '\n' '|' <"$T/a5.err" | cut -c1-200))"
assert_eq relogged "$(cat "$T/a5.out")" "remote output"
pass

test_case "ten concurrent ssh with no token start one login; all ten run"
mkdir -p "$T/multi"
pids=()
for i in $(seq 1 10); do
  ssh_bg "c$i" "$T/multi" "echo run$i"
  pids+=("$SSH_PID")
done
any_url() { local i; for i in $(seq 1 10); do has_url "$T/c$i.err" && return 0; done; return 1; }
wait_for 20 any_url || true
any=""
for i in $(seq 1 10); do has_url "$T/c$i.err" && any=$T/c$i.err && break; done
[ -n "$any" ] || fail "no login URL from any of the ten"
sleep 1
n=0
for i in $(seq 1 10); do has_url "$T/c$i.err" && n=$((n + 1)); done
assert_eq 1 "$n" "clients that printed a login URL"
grab "$any"
browser multi --url "$URL" --email alice@site.test --password "$(pw alice@site.test)" --code "$CODE"
ok=0
for i in $(seq 1 10); do
  wait "${pids[$((i - 1))]}" || true
  [ "$(cat "$T/c$i.out")" = "run$i" ] && ok=$((ok + 1))
done
assert_eq 10 "$ok" "sessions that ran"
pass

test_case "a login form posted without its CSRF token is refused (403)"
st=$(curl "${H[@]}" -o "$T/csrf.body" -w '%{http_code}' --data-urlencode "email=carol@site.test" \
  --data-urlencode "password=$(pw carol@site.test)" "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login")
assert_eq 403 "$st" "status"
assert_contains "$(cat "$T/csrf.body")" "expired or was not sent by this site" "page"
pass

test_case "a login form with the CSRF cookie but another token in its field is refused (403)"
jar=$T/csrf.jar
curl "${H[@]}" -c "$jar" -o /dev/null "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login"
grep -q burrow_csrf "$jar" || fail "the login page set no CSRF cookie"
st=$(curl "${H[@]}" -b "$jar" -o "$T/csrf.body" -w '%{http_code}' --data-urlencode "csrf=$(printf 'A%.0s' $(seq 1 43))" \
  --data-urlencode "email=carol@site.test" --data-urlencode "password=$(pw carol@site.test)" \
  "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login")
assert_eq 403 "$st" "status"
pass

test_case "the login page never redirects off the auth domain"
st=$(curl "${H[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' \
  "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login?return=https://evil.test/")
assert_eq "200 " "$st" "status and redirect"
pass

test_case "audit log: alice's login, the wrong password, the token issued and mallory's denial"
sleep 1.5
a=$(admin audit --kind login --since 1h)
assert_contains "$a" "alice@site.test" "alice's login"
assert_contains "$a" "wrong password" "failed login"
assert_contains "$a" "app token issued" "token issued"
assert_contains "$a" "mallory@site.test" "mallory's denial"
assert_not_contains "$a" "pw-" "no password in the audit log"
grep -q 'pw-' "$LOGS/edge.log" && fail "a password is in the edge's log"
pass

test_case "after 10 wrong passwords carol is locked: 429, even with the right one"
jar=$T/carol.jar
csrf() {
  curl "${H[@]}" -c "$jar" -b "$jar" "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login" |
    grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4
}
post() { # PASSWORD: status
  curl "${H[@]}" -c "$jar" -b "$jar" -o "$T/carol.body" -w '%{http_code}' --data-urlencode "csrf=$(csrf)" \
    --data-urlencode "email=carol@site.test" --data-urlencode "password=$1" \
    "https://auth.site.test:$EDGE_PORT/cdn-cgi/access/login"
}
codes=""
for i in $(seq 1 10); do codes+="$(post "wrong$i") "; done
step "ten wrong: $codes"
assert_eq 429 "$(post "$(pw carol@site.test)")" "the right password after ten wrong ones"
assert_contains "$(cat "$T/carol.body")" "Too many failed logins" "page"
pass
