#!/usr/bin/env bash
# OpenID Connect providers through `burrow admin` against a real edge: `idp add` reads the client
# secret from a file only its owner may read (a 0644 one is refused before anything is sent) and a CA
# from --ca-file; `idp list` shows the provider, never the secret; a second add of the name is one
# line and exit 1; `app create --idp` limits an app to named providers (an unknown one is a 404
# line) and the app's JSON lists them; `idp delete` is refused while an app accepts the provider
# (naming the app) and works once the app is gone. The secret is in no output, log or audit record.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

start_edge
SECRET="idp-secret-$RANDOM$RANDOM-not-in-any-log"
printf '%s\n' "$SECRET" >"$T/secret"
chmod 644 "$T/secret"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/idp-ca.pem" \
  -days 1 -subj /CN=idp-ca 2>>"$LOGS/openssl.err"

# run_admin ARGS...: burrow admin ARGS; sets RC, OUT, ERR.
run_admin() {
  RC=0
  "$BURROW" admin "$@" >"$T/a.out" 2>"$T/a.err" || RC=$?
  OUT=$(cat "$T/a.out") ERR=$(cat "$T/a.err")
  cat "$T/a.out" "$T/a.err" >>"$LOGS/admin.all"
}

test_case "idp add with a secret file others may read: refused, nothing sent"
run_admin idp add --name corp --issuer https://idp.example --client-id burrow --client-secret-file "$T/secret"
assert_eq 1 "$RC" "exit status"
assert_contains "$ERR" "chmod 600" "stderr"
assert_eq '{"idps":[]}' "$(admin idp list --json)" "idp list"
pass

test_case "idp add: secret from a 0600 file, CA from --ca-file; list shows it, never the secret"
chmod 600 "$T/secret"
run_admin idp add --name corp --issuer https://idp.example --client-id burrow --client-secret-file "$T/secret" \
  --ca-file "$T/idp-ca.pem" --groups-claim roles --scopes "openid email"
assert_eq 0 "$RC" "exit status: $ERR"
assert_eq "Identity provider \"corp\" added (https://idp.example). Register this redirect URI with it:
  https://<the edge's --auth-domain>/cdn-cgi/access/callback" "$OUT" "stdout"
out=$(admin idp list)
assert_match "$out" $'^NAME +ISSUER +CLIENT ID +GROUPS CLAIM +SCOPES +CA +CREATED\ncorp +https://idp\\.example +burrow +roles +openid email +custom +[0-9T:-]+Z$' "idp list"
json=$(admin idp list --json)
assert_match "$json" '^\{"idps":\[\{"name":"corp","issuer":"https://idp\.example","client_id":"burrow","groups_claim":"roles","scopes":"openid email","custom_ca":true,"created_at":[0-9]+\}\]\}$' "idp list --json"
pass

test_case "idp add of a name that exists: exit 1, one line"
run_admin idp add --name corp --issuer https://idp.example --client-id burrow --client-secret-file "$T/secret"
assert_eq 1 "$RC" "exit status"
assert_eq "burrow: admin: idp add failed (409): an identity provider named \"corp\" already exists; delete it first" "$ERR" "stderr"
pass

test_case "app create --idp: limited to the providers named; an unknown one is a 404 line"
run_admin app create --name ssh --hostname ssh.site.test --idp corp --idp nosuch
assert_eq 1 "$RC" "exit status"
assert_eq "burrow: admin: app create failed (404): no identity provider named \"nosuch\" (burrow admin idp list shows them)" "$ERR" "stderr"
out=$(admin app create --name ssh --hostname ssh.site.test --idp corp)
assert_contains "$out" "People log in to it only through: corp." "app create"
assert_contains "$(admin app list --json)" '"idps":["corp"]' "app list --json"
pass

test_case "idp delete: refused while an app accepts it; works once the app is gone"
run_admin idp delete corp
assert_eq 1 "$RC" "exit status"
assert_eq "burrow: admin: idp delete failed (409): identity provider \"corp\" is accepted by app \"ssh\": delete that app first (an app limited to providers is never widened to any provider behind your back)" "$ERR" "stderr"
admin app delete ssh >/dev/null
out=$(admin idp delete corp)
assert_eq "Identity provider \"corp\" deleted; logins through it already made stay valid until they expire or are revoked." "$out" "stdout"
assert_eq '{"idps":[]}' "$(admin idp list --json)" "idp list"
pass

test_case "the secret is in no output, log or audit record"
audited() { admin audit --kind admin --json >"$T/audit.json" && grep -q 'DELETE /api/v1/idps/corp' "$T/audit.json"; }
wait_for 10 audited || fail "the delete is not in the audit log after 10 s"
assert_contains "$(cat "$T/audit.json")" '"what":"POST /api/v1/idps name=corp"' "audit"
for f in "$T/audit.json" "$LOGS"/edge.log "$LOGS"/edge.err "$LOGS"/edge.out "$LOGS"/admin.all "$LOGS"/admin.err; do
  [ ! -e "$f" ] || ! grep -qF -- "$SECRET" "$f" || fail "the secret is in $(basename "$f")"
done
pass
