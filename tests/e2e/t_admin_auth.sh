#!/usr/bin/env bash
# The admin API answers only to the admin token: none or a wrong one is refused with 401 and the
# line `burrow admin` prints names the fix; a refused request changes nothing; after 10 wrong tokens
# within 60 s from one address its wrong tokens get 429, while the right token still works from
# there and from another address. The admin API answers only on the edge's IP
# addresses and its --admin-hostname; on an application's hostname /api/v1/ is 404, token or not.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_edge --admin-hostname Edge.Site.Test.
admin app create --name ssh --hostname ssh.site.test >/dev/null
ATTACKER=127.0.0.5
OTHER=127.0.0.6

# api ADDR TOKEN [CURL ARGS...]: GET /api/v1/apps from ADDR with "Authorization: Bearer TOKEN" (no
# header when TOKEN is "-"); prints "STATUS BODY".
api() {
  local src=$1 tok=$2 hdr=()
  shift 2
  [ "$tok" = - ] || hdr=(-H "Authorization: Bearer $tok")
  curl -sS --max-time 10 --cacert "$BURROW_CA" --interface "$src" "${hdr[@]}" -w ' %{http_code}' "$@" \
    "$BURROW_ADMIN_URL/api/v1/apps" 2>>"$LOGS/curl.err" | awk '{ s = $NF; $NF = ""; sub(/ $/, ""); print s, $0 }'
}

WRONG=$(printf 'x%.0s' $(seq 1 43))

test_case "burrow admin without a token: exit 2 and one line naming BURROW_ADMIN_TOKEN, before any request"
rc=0
out=$(env -u BURROW_ADMIN_TOKEN "$BURROW" admin app list 2>&1) || rc=$?
step "exit $rc: $out"
assert_eq 2 "$rc" "exit status"
assert_eq "burrow: admin: no admin token: pass --token-file FILE or set BURROW_ADMIN_TOKEN_FILE (the edge keeps it in <data-dir>/admin-token), or set BURROW_ADMIN_TOKEN" "$out" "stderr"
pass

test_case "a wrong token: 401, burrow admin exits 1 saying so, and the app is not created"
rc=0
out=$(BURROW_ADMIN_TOKEN=$WRONG "$BURROW" admin app create --name evil --hostname evil.site.test 2>&1) || rc=$?
step "exit $rc: $out"
assert_eq 1 "$rc" "exit status"
assert_eq "burrow: admin: edge refused the admin token (401): admin token missing or wrong: pass --token-file FILE (data-dir/admin-token on the edge) or set BURROW_ADMIN_TOKEN_FILE" "$out" "stderr"
apps=$(admin app list)
assert_not_contains "$apps" "evil" "app list after the refused create"
pass

test_case "no Authorization header, and a non-Bearer one: 401 with the JSON error"
got=$(api "$OTHER" -)
assert_eq '401 {"error":"admin token missing or wrong: pass --token-file FILE (data-dir/admin-token on the edge) or set BURROW_ADMIN_TOKEN_FILE"}' "$got" "no header"
got=$(api "$OTHER" - -H "Authorization: Basic $(printf 'admin:%s' "$BURROW_ADMIN_TOKEN" | base64 -w0)")
assert_eq 401 "${got%% *}" "Basic with the right token"
got=$(api "$OTHER" "${BURROW_ADMIN_TOKEN}x")
assert_eq 401 "${got%% *}" "the right token with one character more"
got=$(api "$OTHER" "${BURROW_ADMIN_TOKEN:0:${#BURROW_ADMIN_TOKEN}-1}")
assert_eq 401 "${got%% *}" "the right token less its last character"
pass

test_case "10 wrong tokens from $ATTACKER: 401 each; the 11th gets 429, the right token from there 200"
codes=""
for _ in $(seq 1 10); do
  got=$(api "$ATTACKER" "$WRONG")
  codes="$codes ${got%% *}"
done
step "statuses:$codes"
assert_eq " 401 401 401 401 401 401 401 401 401 401" "$codes" "the first 10 wrong tokens"
got=$(api "$ATTACKER" "$WRONG")
step "11th: $got"
assert_match "$got" '^429 \{"error":"too many failed attempts from this address: retry in [0-9]+ s"\}$' "the 11th wrong token"
got=$(api "$ATTACKER" "$BURROW_ADMIN_TOKEN")
assert_eq 200 "${got%% *}" "the right token from the limited address (right credentials always pass)"
pass

test_case "the right token from another address ($OTHER) still works: 200 and the app list"
got=$(api "$OTHER" "$BURROW_ADMIN_TOKEN")
assert_match "$got"  '^200 \{"apps":\[\{"id":"[0-9a-f-]+","name":"ssh",' "GET /api/v1/apps from $OTHER"
pass

# by_name NAME PATH: GET PATH on https://NAME:$EDGE_PORT (SNI and Host NAME) with the admin token;
# prints "STATUS BODY" (the body's newlines dropped).
by_name() {
  local code
  code=$(curl -sS --max-time 10 --cacert "$BURROW_CA" --resolve "$1:$EDGE_PORT:127.0.0.1" -o "$T/body" \
    -H "Authorization: Bearer $BURROW_ADMIN_TOKEN" -w '%{http_code}' "https://$1:$EDGE_PORT$2" 2>>"$LOGS/curl.err")
  printf '%s %s\n' "$code" "$(tr -d '\n' <"$T/body")"
}

test_case "--admin-hostname: the admin API answers there, any case (200); other paths there are 404"
got=$(by_name edge.site.test /api/v1/apps)
assert_match "$got"  '^200 \{"apps":\[\{"id":"[0-9a-f-]+","name":"ssh",' "GET /api/v1/apps on edge.site.test"
got=$(by_name EDGE.site.test /api/v1/apps)
assert_eq 200 "${got%% *}" "GET /api/v1/apps on EDGE.site.test"
got=$(by_name edge.site.test /)
assert_eq "404 not found" "$got" "GET / on edge.site.test"
pass

test_case "on an application hostname the admin API does not exist: 404 with the right token"
got=$(by_name ssh.site.test /api/v1/apps)
assert_eq "404 not found" "$got" "GET /api/v1/apps on ssh.site.test"
got=$(by_name ssh.site.test /api/v1)
assert_eq "404 not found" "$got" "GET /api/v1 on ssh.site.test"
code=$(curl -sS --max-time 10 --cacert "$BURROW_CA" --resolve "ssh.site.test:$EDGE_PORT:127.0.0.1" -o /dev/null \
  -H "Host: 127.0.0.1" -H "Authorization: Bearer $BURROW_ADMIN_TOKEN" -w '%{http_code}' \
  "https://ssh.site.test:$EDGE_PORT/api/v1/apps" 2>>"$LOGS/curl.err")
assert_eq 421 "$code" "Host 127.0.0.1 on a TLS session for ssh.site.test"
pass

test_case "--admin-hostname that is no hostname: the edge exits 2 with the reason"
rc=0
out=$("$BURROW" edge --data-dir "$T/bad-edge" --listen 127.0.0.1:1 --tunnel-listen 127.0.0.1:1 \
  --admin-hostname 'bad host!' 2>&1) || rc=$?
assert_eq 2 "$rc" "exit status"
assert_eq "burrow: edge: --admin-hostname bad host! is not a valid hostname" "$(grep '^burrow: ' <<<"$out")" "stderr"
pass

test_case "the edge logged each refusal with the address, and no token"
n=$(grep -cE "admin API: refused GET /api/v1/apps from $ATTACKER: admin token missing or wrong$" "$LOGS/edge.log" || true)
[ "$n" -eq 10 ] || fail "edge.log has $n refusals of $ATTACKER, expected 10"
if grep -qF -- "$WRONG" "$LOGS"/*; then fail "a presented token reached the logs"; fi
if grep -qF -- "$BURROW_ADMIN_TOKEN" "$LOGS"/*; then fail "the admin token reached the logs"; fi
pass
