#!/usr/bin/env bash
# The audit log (issue 25, part 5): after a refused session (wrong secret), an allowed ssh session and
# an `app create`, `burrow admin audit --json` shows all three with actor, status and reason (bytes
# for the session), in order; --kind and --app filter; the text form has one line each; --follow prints
# a record made after it started; --audit-log FILE gets the same records as JSON lines (mode 0600);
# no secret appears in the audit log, its file or any log; a refusal counted in the metrics is in the
# audit log too (the same record feeds both).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

EDGE_METRICS_PORT=$(free_port)
start_sshd
start_edge --audit-log "$T/audit.jsonl"
setup_service_token
create_tunnel host1 ssh.site.test
start_connector host1 ssh.site.test "ssh://localhost:$SSHD_PORT"
ssh_cfg

# audit_json ARGS...: burrow admin audit --json ARGS (one record per line).
audit_json() { admin audit --json "$@"; }
# field LINE KEY: a string or number field of one JSON record.
field() { echo "$1" | "$PYTHON" -c 'import json,sys; v=json.loads(sys.stdin.read()).get(sys.argv[1]); print("" if v is None else v)' "$2"; }

test_case "a refused session, an allowed one and an app create: all three in the audit log, in order"
rc=0
WRONG=$(printf '0%.0s' $(seq 1 64))
timeout 15 ssh -F "$SSH_CFG" -o "ProxyCommand=$BURROW access ssh --hostname %h --id $ID --secret $WRONG" \
  "$SSH_USER@ssh.site.test" true 2>>"$LOGS/ssh.err" || rc=$?
[ "$rc" -ne 0 ] || fail "ssh with a wrong secret succeeded"
out=$(bssh "$SSH_USER@ssh.site.test" 'head -c 100000 /dev/zero') || fail "ssh failed"
[ "${#out}" -eq 0 ] || true
admin app create --name web --hostname web.site.test >/dev/null
# records reach the store within a second or two
wait_for 10 bash -c "BURROW_ADMIN_URL=$BURROW_ADMIN_URL BURROW_ADMIN_TOKEN=$BURROW_ADMIN_TOKEN BURROW_CA=$BURROW_CA \
  $BURROW admin audit --json --kind admin | grep -q 'name=web'" || fail "the app create is not in the audit log"
audit_json >"$T/all.jsonl"
step "$(wc -l <"$T/all.jsonl") records"
refusal=$(grep -m1 '"kind":"refusal"' "$T/all.jsonl") || fail "no refusal record"
start=$(grep -m1 '"event":"start"' "$T/all.jsonl") || fail "no session start record"
end=$(grep -m1 '"event":"end"' "$T/all.jsonl") || fail "no session end record"
create=$(grep -m1 '"kind":"admin".*name=web' "$T/all.jsonl") || fail "no admin record for the app create"
assert_eq 401 "$(field "$refusal" status)" "refusal status"
assert_eq "service token unknown or revoked: check --id/--secret" "$(field "$refusal" reason)" "refusal reason"
assert_eq ssh.site.test "$(field "$refusal" hostname)" "refusal hostname"
assert_eq "127.0.0.1" "$(field "$refusal" client)" "refusal client"
assert_eq "service token ci" "$(field "$start" actor)" "session actor"
assert_eq ssh "$(field "$start" app)" "session app"
assert_eq 101 "$(field "$start" status)" "session status"
assert_eq "$(field "$start" session)" "$(field "$end" session)" "one session id for start and end"
[ "$(field "$end" bytes_down)" -gt 100000 ] || fail_continue "session end: bytes_down $(field "$end" bytes_down), expected > 100000"
[ "$(field "$end" bytes_up)" -gt 0 ] || fail_continue "session end: no bytes up"
assert_match "$(field "$end" reason)" "^(closed|reset)$" "session end reason"
assert_eq admin "$(field "$create" actor)" "admin actor"
assert_eq 201 "$(field "$create" status)" "admin status"
assert_eq "POST /api/v1/apps name=web" "$(field "$create" what)" "admin what"
ids=$(grep -o '"id":[0-9]*' "$T/all.jsonl" | cut -d: -f2 | tr '\n' ' ')
sorted=$(echo "$ids" | tr ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')
assert_eq "$sorted" "$ids" "records in the order they were written"
r_at=$(grep -n '"kind":"refusal"' "$T/all.jsonl" | head -1 | cut -d: -f1)
c_at=$(grep -n 'name=web' "$T/all.jsonl" | head -1 | cut -d: -f1)
[ "$r_at" -lt "$c_at" ] || fail_continue "the refusal (line $r_at) is not before the app create (line $c_at)"
pass

test_case "--kind and --app filter; the text form prints one line per record"
kinds=$(audit_json --kind session | grep -o '"kind":"[a-z]*"' | sort -u | tr '\n' ' ')
assert_eq '"kind":"session" ' "$kinds" "--kind session"
n_web=$(audit_json --app web | grep -c "\"id\"" || true)
assert_eq 0 "$n_web" "--app web (no session or refusal for web)"
n_ssh=$(audit_json --app ssh | grep -c "\"id\"" || true)
[ "$n_ssh" -ge 3 ] || fail_continue "--app ssh: $n_ssh records, expected the refusal, start and end"
text=$(admin audit --kind session)
assert_match "$(echo "$text" | head -1)" '^[0-9T:.-]+Z  session start   101  service token ci  ssh ssh.site.test  from 127.0.0.1$' "text start line"
assert_match "$(echo "$text" | sed -n 2p)" 'session end .* bytes up, [0-9]+ down in [0-9.]+s  \((closed|reset)\)$' "text end line"
pass

test_case "--follow prints a record made after it started"
BURROW_ADMIN_URL=$BURROW_ADMIN_URL "$BURROW" admin audit --follow --kind admin --json >"$T/follow.out" 2>"$T/follow.err" &
FOLLOW=$!
sleep 1.5
admin service-token create --name late --duration 1h >/dev/null
wait_for 10 grep -q 'name=late' "$T/follow.out" || fail_continue "--follow did not print the new record: $(cat "$T/follow.err")"
kill "$FOLLOW" 2>/dev/null
wait "$FOLLOW" 2>/dev/null || true
assert_eq 1 "$(grep -c 'name=web' "$T/follow.out")" "the older record printed once"
pass

test_case "--audit-log holds the same records as JSON lines (0600); no secret in the audit log or any log"
wait_for 5 grep -q 'name=late' "$T/audit.jsonl" || fail_continue "the file lacks the newest record"
assert_eq 600 "$(stat -c %a "$T/audit.jsonl")" "the file's mode"
n_file=$(grep -c '"kind":"refusal"' "$T/audit.jsonl")
n_api=$(audit_json --kind refusal | grep -c "\"id\"" || true)
assert_eq "$n_api" "$n_file" "refusals in the file and in the API"
leaks=$(grep -rl -e "$SECRET" -e "$BURROW_ADMIN_TOKEN" "$T/audit.jsonl" "$LOGS" "$EDGE_DIR/burrow.db" 2>/dev/null || true)
assert_eq "" "$leaks" "files holding a secret"
pass

test_case "the refusals the metrics count are the refusals the audit log holds"
m401=$(edge_metric 'burrow_edge_refused_total{status="401"}')
a401=$(audit_json --kind refusal | grep -c '"status":401')
step "metrics 401: $m401, audit 401: $a401"
assert_eq "$a401" "$m401" "401 refusals"
pass

says "burrow admin audit: a bad --kind is refused before any request" 2 "burrow: admin: audit: --kind must be session, refusal, admin or login (see 'burrow admin audit --help')" -- admin audit --kind bogus
says "burrow admin audit with a word after it: one line saying it takes options only" 2 \
  "burrow: admin: audit takes options only, not \"list\" (see 'burrow admin audit --help')" -- admin audit list
