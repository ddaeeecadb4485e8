#!/usr/bin/env bash
# Attack suite, service-token brute force (issue 4, part 2): 30 wrong secrets in a row for a valid
# client id — random ones and near misses (upper case, one digit short, one digit off, one digit
# more) — from one address: the first 10 get 401, every later one 429 (README: 10 failed credentials
# within 60 s from an address, or for one client id), never a 101. While that address waits, wrong
# credentials from it get 429 too — a wrong id, an id or a secret alone, an oversized secret — and a
# request with no credentials its 401; a wrong secret for the brute-forced id from a fresh address gets
# 429 for that id. Right credentials always pass: the right secret works from another address and
# from the attacker's own. No near-miss secret reaches the edge's log, and a normal ssh session works
# afterwards.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT SSHD_PORT ID SECRET
ATTACKER=127.0.0.3 # the brute-forcing address
OTHER=127.0.0.2    # another client
FRESH=127.0.0.4    # an address that has failed nothing

test_case "control: the right secret from $OTHER gets 101 and the origin's banner"
got=$(attack upgrade --src "$OTHER") || true
step "upgrade from $OTHER: $got"
if [ "$got" != "status 101 banner" ]; then
  fail_continue "expected 'status 101 banner', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "30 wrong secrets in a row from $ATTACKER: 10 times 401, then 429 for each of the other 20"
got=$(attack brute 30 --src "$ATTACKER") || true
step "statuses: $got"
want="$(printf '401 %.0s' $(seq 1 10))$(printf '429 %.0s' $(seq 1 20))"
if [ "$got" != "${want% }" ]; then
  fail_continue "expected '${want% }', got '$got' $(tail -n 1 "$LOGS/attack.err")"
elif serving; then pass; else fail_continue "$REASON"; fi

cred_case() { # CASE WANT TITLE
  local got
  test_case "$3: $2, never 101"
  got=$(attack http "$1" --src "$ATTACKER") || true
  step "http $1: $got"
  if [ "$got" != "status $2" ]; then
    fail_continue "expected 'status $2', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
  elif serving; then pass; else fail_continue "$REASON"; fi
}
cred_case wrong-id 429 "while $ATTACKER waits, an unknown client id with the right secret"
cred_case id-only 429 "while $ATTACKER waits, the client id without a secret"
cred_case secret-only 429 "while $ATTACKER waits, the right secret without a client id"
cred_case secret-300 429 "while $ATTACKER waits, a 300-character secret that starts with the right one"
cred_case no-credentials 401 "no credentials at all (nothing to limit)"

test_case "after the brute force the right secret works from another address ($OTHER)"
got=$(attack upgrade --src "$OTHER") || true
step "upgrade from $OTHER: $got"
if [ "$got" != "status 101 banner" ]; then
  fail_continue "expected 'status 101 banner', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "the right secret from the attacker's address within the minute still gets 101 (right credentials always pass)"
got=$(attack upgrade --src "$ATTACKER") || true
step "upgrade from $ATTACKER: $got"
if [ "$got" != "status 101 banner" ]; then
  fail_continue "expected 'status 101 banner', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
elif ! grep -qE "refused anonymous ssh.site.test from $ATTACKER: 429 too many failed attempts from $ATTACKER: retry in [0-9]+ s$" "$LOGS/edge.log"; then
  fail_continue "edge.log has no 429 line for $ATTACKER saying when to retry: $(grep -m1 "from $ATTACKER: 429" "$LOGS/edge.log")"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "a wrong secret for the brute-forced client id from a fresh address ($FRESH): 429 for this client id"
got=$(attack brute 1 --src "$FRESH") || true
step "statuses from $FRESH: $got"
if [ "$got" != "429" ]; then
  fail_continue "expected '429', got '$got' $(tail -n 1 "$LOGS/attack.err")"
elif ! grep -qE "refused anonymous ssh.site.test from $FRESH: 429 too many failed attempts for this client id: retry in [0-9]+ s$" "$LOGS/edge.log"; then
  fail_continue "edge.log has no per-id 429 line for $FRESH: $(grep -m1 "from $FRESH" "$LOGS/edge.log")"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "the edge logged the refusals, and no secret (right or near miss) reached its log"
n=$(grep -cE "refused .* from $ATTACKER: (401|429)" "$LOGS/edge.log" || true)
step "$n refusals of $ATTACKER in edge.log"
# Near misses share the first 63 characters with the right secret; any 16 of them would be a leak.
if [ "$n" -lt 30 ]; then
  fail_continue "edge.log has $n refusals of $ATTACKER, expected at least 30"
elif grep -qiF -- "${SECRET:0:16}" "$LOGS"/*; then
  fail_continue "a secret appears in $(grep -liF -- "${SECRET:0:16}" "$LOGS"/* | xargs -n1 basename | tr '\n' ' ')"
elif serving; then pass; else fail_continue "$REASON"; fi
