#!/usr/bin/env bash
# Single sign-on objects through `burrow admin` against a real edge: `user add EMAIL` reads the
# password from stdin (never argv: `ps` never shows it, not even while the command waits for it),
# `user list` shows the user (lowercased), a second `user add` of the same email is refused with one
# line and exit 1, a short password is refused before anything is sent, `user delete` removes it (and
# a second one is a 404 line); `keys rotate` makes a new key current and retires the one that was
# (keys list shows both, newest first, the retired one at the new one's creation time);
# `session revoke --email` records the revocation. The password is never in the edge's log, its
# audit log or its database, and the database stays mode 0600.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_edge
PW="e2e-pw-$RANDOM$RANDOM-not-in-any-log"
DB=$EDGE_DIR/burrow.db

# user_add EMAIL PASSWORD: burrow admin user add EMAIL with PASSWORD as stdin's line; sets RC, OUT, ERR.
user_add() {
  RC=0
  printf '%s\n' "$2" | "$BURROW" admin user add "$1" >"$T/add.out" 2>"$T/add.err" || RC=$?
  OUT=$(cat "$T/add.out") ERR=$(cat "$T/add.err")
  cat "$T/add.err" >>"$LOGS/admin.err"
}

test_case "user add: the password comes from stdin; ps never shows it, also while the command waits for it"
mkfifo "$T/pw.fifo"
"$BURROW" admin user add Ann@Site.Test <"$T/pw.fifo" >"$T/add.out" 2>"$T/add.err" 3>&- &
ADD_PID=$!
PIDS+=("$ADD_PID")
PID_NAME[$ADD_PID]=user-add
exec 4>"$T/pw.fifo" # (opening the writing end lets the command's reading end open)
running() { tr '\0' ' ' <"/proc/$ADD_PID/cmdline" | grep -q 'admin user add'; }
wait_for 10 running || fail "burrow admin user add not running"
PS=$(ps -eo pid,args)
assert_contains "$PS" "admin user add Ann@Site.Test" "ps while waiting for the password"
assert_not_contains "$PS" "$PW" "ps while waiting for the password"
printf '%s\n' "$PW" >&4
exec 4>&-
rc=0
wait "$ADD_PID" || rc=$?
step "user add: exit $rc: $(cat "$T/add.out" "$T/add.err")"
assert_eq 0 "$rc" "exit status"
assert_eq "User ann@site.test created; they can sign in with the password given." "$(cat "$T/add.out")" "stdout"
assert_eq "" "$(cat "$T/add.err")" "stderr"
assert_not_contains "$(ps -eo args)" "$PW" "ps afterwards"
pass

test_case "user list shows the user, lowercased; --json has email and created_at only"
out=$(admin user list)
assert_match "$out" $'^EMAIL +CREATED\nann@site\\.test +[0-9T:-]+Z$' "user list"
json=$(admin user list --json)
assert_match "$json" '^\{"users":\[\{"email":"ann@site\.test","created_at":[0-9]+\}\]\}$' "user list --json"
pass

test_case "user add of an email that exists: exit 1, one line naming it"
user_add ann@site.test "another-password"
step "exit $RC: $ERR"
assert_eq 1 "$RC" "exit status"
assert_eq "" "$OUT" "stdout"
assert_eq "burrow: admin: user add failed (409): a user ann@site.test already exists; delete it first to set a new password" "$ERR" "stderr"
pass

test_case "user add with a 7-byte password: exit 1, nothing sent"
user_add bob@site.test "1234567"
assert_eq 1 "$RC" "exit status"
assert_eq "burrow: admin: the password must be 8 to 1024 bytes long; nothing was sent" "$ERR" "stderr"
assert_not_contains "$(admin user list)" "bob@site.test" "user list"
pass

test_case "user add with nothing on stdin: exit 1, says where the password comes from"
RC=0
"$BURROW" admin user add bob@site.test </dev/null >"$T/add.out" 2>"$T/add.err" || RC=$?
assert_eq 1 "$RC" "exit status"
assert_eq "burrow: admin: no password on stdin: give it as the first line, e.g. from a file with '< FILE'" "$(cat "$T/add.err")" "stderr"
pass

test_case "user delete: the user is gone; deleting it again is a 404 line"
user_add bob@site.test "bob-password"
assert_eq 0 "$RC" "user add bob: $ERR"
out=$(admin user delete Bob@site.test)
assert_eq "User bob@site.test deleted; sessions they have keep running until they end or are revoked." "$out" "stdout"
assert_eq ann@site.test "$(admin user list | awk 'NR > 1 { print $1 }')" "users left"
RC=0
"$BURROW" admin user delete bob@site.test >"$T/del.out" 2>"$T/del.err" || RC=$?
assert_eq 1 "$RC" "exit status of the second delete"
assert_eq "burrow: admin: user delete failed (404): no user bob@site.test (burrow admin user list shows the users)" "$(cat "$T/del.err")" "stderr"
pass

# keys_json: the edge's keys as "kid created_at retired_at" lines, newest first.
keys_lines() {
  admin keys list --json | "$PYTHON" -c 'import json, sys
for k in json.load(sys.stdin)["keys"]:
    assert set(k) == {"kid", "created_at", "retired_at"}, k
    print(k["kid"], k["created_at"], k["retired_at"])'
}

test_case "keys rotate: the new key is current, the one before retired at its creation; keys list shows both"
[ -n "$PYTHON" ] || fail "needs python3"
before=$(keys_lines)
if [ -z "$before" ]; then # (an edge that does not make its first key at start: make one)
  admin keys rotate >/dev/null
  before=$(keys_lines)
fi
n0=$(printf '%s\n' "$before" | wc -l)
read -r k1 _ r1 <<<"$(printf '%s\n' "$before" | head -n 1)"
assert_eq 0 "$r1" "the newest key before rotating is current"
out=$(admin keys rotate)
assert_match "$out" '^Signing key [0-9a-f]{32} is current; the previous one is retired and still verifies the tokens it signed\.$' "keys rotate"
k2=$(printf '%s' "$out" | awk '{ print $3 }')
assert_ne "$k1" "$k2" "the new kid"
after=$(keys_lines)
assert_eq $((n0 + 1)) "$(printf '%s\n' "$after" | wc -l)" "keys after rotating"
read -r a_kid a_created a_retired <<<"$(printf '%s\n' "$after" | sed -n 1p)"
read -r b_kid _ b_retired <<<"$(printf '%s\n' "$after" | sed -n 2p)"
assert_eq "$k2 0" "$a_kid $a_retired" "first: the new key, current"
assert_eq "$k1 $a_created" "$b_kid $b_retired" "second: the old key, retired when the new one was made"
table=$(admin keys list)
assert_match "$(printf '%s\n' "$table" | sed -n 2p)" "^$k2 .* current\$" "keys list, first row"
assert_match "$(printf '%s\n' "$table" | sed -n 3p)" "^$k1 .* retired\$" "keys list, second row"
assert_not_contains "$(admin keys list --json)" "PRIVATE" "keys list --json"
pass

test_case "session revoke --email: recorded for the lowercased email"
out=$(admin session revoke --email Ann@Site.Test)
assert_match "$out" '^Sessions of ann@site\.test issued until [0-9T:-]+Z are revoked; live ones end within seconds, and they must sign in again\.$' "stdout"
json=$(admin session revoke --email ann@site.test --json)
assert_match "$json" '^\{"email":"ann@site\.test","revoked_at":[0-9]+\}$' "--json"
pass

test_case "the admin changes are audited by email, never with the password"
audited() { admin audit --kind admin --json >"$T/audit.json" && grep -q 'sessions/revoke' "$T/audit.json"; }
wait_for 10 audited || fail "the revocation is not in the audit log after 10 s"
assert_contains "$(cat "$T/audit.json")" '"what":"POST /api/v1/users email=Ann@Site.Test"' "audit"
assert_contains "$(cat "$T/audit.json")" '"what":"DELETE /api/v1/users/Bob@site.test"' "audit"
assert_not_contains "$(cat "$T/audit.json")" "$PW" "audit"
pass

test_case "the password is in no log and not in the database; the database stays 0600"
for f in "$LOGS"/edge.log "$LOGS"/edge.err "$LOGS"/edge.out "$LOGS"/admin.err; do
  [ ! -e "$f" ] || ! grep -qF -- "$PW" "$f" || fail "the password is in $(basename "$f")"
done
for f in "$DB" "$DB-wal"; do
  [ ! -e "$f" ] || ! grep -qaF -- "$PW" "$f" || fail "the password is in $(basename "$f")"
  [ ! -e "$f" ] || assert_eq 600 "$(stat -c %a "$f")" "mode of $(basename "$f")"
done
grep -q 'created user ann@site.test' "$LOGS/edge.log" || fail "the edge's log lacks 'created user ann@site.test'"
pass
