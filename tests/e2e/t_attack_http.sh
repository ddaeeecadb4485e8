#!/usr/bin/env bash
# Attack suite, the edge's HTTP front door (issue 4, part 2): a raw TLS client
# (tests/e2e/attack/edge_attack.py) sends crafted upgrade requests that carry a valid service token,
# so that only the attack stands between each of them and a 101. Every one fails closed with its
# documented status: request smuggling (CL+TE, duplicate lengths, obs-fold, bad header names, NUL)
# 400, Host vs TLS server name 421, an invalid WebSocket handshake 400, oversized heads 431/414,
# oversized admin bodies 4xx. Hostname case and a trailing dot name the same application. After
# every case the edge is still up and a normal ssh session through it works.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT SSHD_PORT ID SECRET
admin app create --name other --hostname other.site.test >/dev/null # a second application
admin policy add --app other --action service_auth --include service-token=ci >/dev/null

# expect TITLE ARGS -- OUTCOME...: "edge_attack.py ARGS" prints one of the OUTCOMEs (exact match;
# never "status 101" unless listed), then ssh through the edge still works.
expect() {
  local title=$1 args=() want=() got w
  shift
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  want=("$@")
  test_case "$title"
  got=$(attack "${args[@]}") || true
  [ -n "$got" ] || got="(attacker client error: $(tail -n 1 "$LOGS/attack.err"))"
  step "${args[*]}: $got"
  for w in "${want[@]}"; do
    if [ "$got" = "$w" ]; then
      if serving; then pass; else fail_continue "$REASON"; fi
      return 0
    fi
  done
  fail_continue "expected $(printf "'%s' " "${want[@]}")but got '$got'"
}

# ---------------------------------------------------------------- control

expect "control: the raw client's well-formed upgrade with the token gets 101 and the origin's banner" \
  http valid --banner -- "status 101 banner"

# ---------------------------------------------------------------- request smuggling on the upgrade

smuggle() { # CASE TITLE: 400, or a close without any response; never 101
  expect "smuggling: $2: 400, no 101" http "$1" -- "status 400" closed reset
}
smuggle cl-te "Content-Length and Transfer-Encoding: chunked"
smuggle te-cl "Transfer-Encoding: chunked then Content-Length: 0"
smuggle cl-te-lowercase "content-length with transfer-encoding: identity (lower case)"
smuggle two-cl-same "two Content-Length: 0 headers"
smuggle two-cl-differ "two Content-Length headers that differ"
smuggle cl-list "Content-Length: 0, 0"
smuggle te-only "Transfer-Encoding: chunked on an upgrade"
smuggle upgrade-with-body "an upgrade that announces a 5-byte body"
smuggle obs-fold "an obs-fold continuation line"
smuggle obs-fold-tab "an obs-fold line (tab) that carries Content-Length"
smuggle obs-fold-on-key "an obs-fold continuation of Sec-WebSocket-Key"
smuggle space-before-colon-cl "'Content-Length : 5' (space before the colon)"
smuggle space-before-colon-host "'Host : other.site.test' (space before the colon)"
smuggle nul-in-value "a NUL byte in a header value"
smuggle nul-in-secret "a NUL byte after the right secret"
smuggle bare-cr-in-value "a bare CR inside a header value"
smuggle ctl-in-value "a control byte (0x01) in a header value"
smuggle no-colon-line "a header line without a colon"
smuggle two-hosts "two Host headers (ssh.site.test, other.site.test)"
smuggle http2-version "an HTTP/2.0 request line"

# ---------------------------------------------------------------- Host vs TLS server name

expect "Host other.site.test on a TLS connection for ssh.site.test: 421" \
  http host-other -- "status 421"
expect "Host ssh.site.test on a TLS connection for other.site.test: 421" \
  http valid --sni other.site.test -- "status 421"
expect "Host ssh.site.test.evil.test on a TLS connection for ssh.site.test: 421" \
  http host-evil-suffix -- "status 421"
expect "no Host header: 400" http host-missing -- "status 400"
expect "a non-ASCII Host (Cyrillic i in site): 400" http host-nonascii -- "status 400"
expect "Host x@ssh.site.test: 400" http host-userinfo -- "status 400"
expect "a NUL inside the Host header: 400" http host-nul -- "status 400"
expect "IDN look-alike ssh.xn--ste-*.test (SNI and Host): 404, not ssh.site.test" \
  http idn-punycode -- "status 404"

expect "server name and Host SSH.Site.Test. (case, trailing dot) reach ssh.site.test: 101" \
  http host-upper-dot --sni SSH.Site.Test. --banner -- "status 101 banner"
expect "server name ssh.site.test, Host SSH.Site.Test.: 101" \
  http host-upper-dot --banner -- "status 101 banner"
expect "server name SSH.SITE.TEST, Host ssh.site.test: 101" \
  http valid --sni SSH.SITE.TEST --banner -- "status 101 banner"
expect "Host ssh.site.test:443 (with a port): 101" \
  http host-port --banner -- "status 101 banner"

test_case "ssh with --hostname SSH.Site.Test. (and ssh's %h for it) works like ssh.site.test"
out=$(timeout 60 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname SSH.Site.Test. --id $ID --secret $SECRET" \
  "$SSH_USER@whatever.site.test" 'echo ok' 2>>"$LOGS/ssh.err") || true
if [ "$out" != ok ]; then
  fail_continue "--hostname SSH.Site.Test.: ssh printed '$out': $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
else
  # (ssh lower-cases the name but keeps the dot: %h is ssh.site.test.)
  out=$(timeout 60 ssh -F "$SSH_CFG" -o ProxyCommand="$BURROW access ssh --hostname %h --id $ID --secret $SECRET" \
    "$SSH_USER@SSH.Site.Test." 'echo ok' 2>>"$LOGS/ssh.err") || true
  if [ "$out" != ok ]; then
    fail_continue "ssh SSH.Site.Test. (%h): printed '$out': $(tail -n 2 "$LOGS/ssh.err" | tr '\n' '|')"
  elif serving; then pass; else fail_continue "$REASON"; fi
fi

# ---------------------------------------------------------------- WebSocket handshake

handshake() { # CASE TITLE
  expect "handshake: $2: 400" http "$1" -- "status 400"
}
handshake key-short "Sec-WebSocket-Key of 22 characters (no padding)"
handshake key-long "Sec-WebSocket-Key of 28 characters"
handshake key-12-bytes "Sec-WebSocket-Key that decodes to 12 bytes"
handshake key-not-base64 "Sec-WebSocket-Key that is not base64"
handshake key-noncanonical "Sec-WebSocket-Key with non-zero padding bits"
handshake key-empty "an empty Sec-WebSocket-Key"
handshake key-missing "no Sec-WebSocket-Key"
handshake key-twice "two Sec-WebSocket-Key headers"
handshake version-missing "no Sec-WebSocket-Version"
handshake version-8 "Sec-WebSocket-Version: 8"
handshake version-12 "Sec-WebSocket-Version: 12"
handshake version-130 "Sec-WebSocket-Version: 130"
handshake post-upgrade "POST with the upgrade headers"

# ---------------------------------------------------------------- size limits

expect "a 20 KiB header: 431" http header-20k -- "status 431"
expect "100 headers: 431 (or 400)" http headers-100 -- "status 431" "status 400"
expect "a 2000-byte request target: 414" http target-2k -- "status 414"
expect "a 20 KiB request target: 431 (or 414)" http target-20k -- "status 431" "status 414"

admin_body() { # KIND TITLE
  local got
  test_case "$2"
  got=$(attack admin-body "$1") || true
  step "admin-body $1: ${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}"
  if ! printf '%s\n' "$got" | grep -Eq '^status 413( |$)'; then
    fail_continue "expected 413 (admin bodies are at most 1 MiB), got '$got'"
  elif admin app list | grep -q big.site.test; then
    fail_continue "the oversized request created its app anyway"
  elif serving; then pass; else fail_continue "$REASON"; fi
}
admin_body cl "admin POST with a 2 MiB body (Content-Length): 413, nothing created"
admin_body chunked "admin POST with a 2 MiB chunked body: 413, nothing created"
