#!/usr/bin/env bash
# Attack suite, service-token brute force (issue 4, part 2): 30 wrong secrets in a row for a valid
# client id — random ones and near misses (upper case, one digit short, one digit off, one digit
# more) — from one address are all refused: 401, or 429 once the edge rate-limits that address;
# never a 101. So are a wrong id with the right secret, an id without a secret, a secret without an
# id, an oversized secret, and no credentials. The right secret still works from another address
# (and from the attacker's own address, unless it is being rate-limited: 429), no near-miss secret
# reaches the edge's log, and a normal ssh session works afterwards.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack
# shellcheck source=tests/e2e/attack/lib_attack.sh
. "$E2E_DIR/attack/lib_attack.sh"
export EDGE_PORT EDGE_TUNNEL_PORT SSHD_PORT ID SECRET
ATTACKER=127.0.0.3 # the brute-forcing address
OTHER=127.0.0.2    # another client

test_case "control: the right secret from $OTHER gets 101 and the origin's banner"
got=$(attack upgrade --src "$OTHER") || true
step "upgrade from $OTHER: $got"
if [ "$got" != "status 101 banner" ]; then
  fail_continue "expected 'status 101 banner', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "30 wrong secrets in a row from $ATTACKER: each 401 (or 429 once rate-limited), never 101"
got=$(attack brute 30 --src "$ATTACKER") || true
step "statuses: $got"
read -r -a codes <<<"$got"
bad=""
for c in "${codes[@]}"; do
  case $c in 401 | 429) ;; *) bad="$bad $c" ;; esac
done
if [ "${#codes[@]}" -ne 30 ]; then
  fail_continue "expected 30 answers, got ${#codes[@]}: '$got' $(tail -n 1 "$LOGS/attack.err")"
elif [ -n "$bad" ]; then
  fail_continue "answers other than 401/429:$bad"
elif [ "${codes[0]}" != 401 ]; then
  fail_continue "the first wrong secret got ${codes[0]}, not 401"
elif serving; then pass; else fail_continue "$REASON"; fi

cred_case() { # CASE TITLE
  local got
  test_case "$2: 401 (or 429), never 101"
  got=$(attack http "$1" --src "$ATTACKER") || true
  step "http $1: $got"
  case $got in
    "status 401" | "status 429") if serving; then pass; else fail_continue "$REASON"; fi ;;
    *) fail_continue "expected 'status 401' or 'status 429', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'" ;;
  esac
}
cred_case wrong-id "an unknown client id with the right secret"
cred_case id-only "the client id without a secret"
cred_case secret-only "the right secret without a client id"
cred_case secret-300 "a 300-character secret that starts with the right one"
cred_case no-credentials "no credentials at all"

test_case "after the brute force the right secret works from another address ($OTHER)"
got=$(attack upgrade --src "$OTHER") || true
step "upgrade from $OTHER: $got"
if [ "$got" != "status 101 banner" ]; then
  fail_continue "expected 'status 101 banner', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'"
elif serving; then pass; else fail_continue "$REASON"; fi

test_case "the right secret from the attacker's address: 101, or 429 while it is rate-limited"
got=$(attack upgrade --src "$ATTACKER") || true
step "upgrade from $ATTACKER: $got"
case $got in
  "status 101 banner" | "status 429") if serving; then pass; else fail_continue "$REASON"; fi ;;
  *) fail_continue "expected 'status 101 banner' or 'status 429', got '${got:-(attacker client error: $(tail -n 1 "$LOGS/attack.err"))}'" ;;
esac

test_case "the edge logged the refusals, and no secret (right or near miss) reached its log"
n=$(grep -cE "refused .* from $ATTACKER: (401|429)" "$LOGS/edge.log" || true)
step "$n refusals of $ATTACKER in edge.log"
# Near misses share the first 63 characters with the right secret; any 16 of them would be a leak.
if [ "$n" -lt 30 ]; then
  fail_continue "edge.log has $n refusals of $ATTACKER, expected at least 30"
elif grep -qiF -- "${SECRET:0:16}" "$LOGS"/*; then
  fail_continue "a secret appears in $(grep -liF -- "${SECRET:0:16}" "$LOGS"/* | xargs -n1 basename | tr '\n' ' ')"
elif serving; then pass; else fail_continue "$REASON"; fi
