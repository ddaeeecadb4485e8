/* admin_api_idps.c — admin API handlers for OpenID Connect identity
 * providers: list, create, delete.
 *
 * The client secret arrives in the create body and goes to the store (the
 * edge's relying party sends it to the provider, so it is kept as is). It
 * must never: appear in a response (provider records carry no secret), a
 * log line, an error text or the audit record (audit_describe_admin names
 * the body's "name" only). The body's copy is wiped once taken. */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/admin/admin_api_int.h"

#define DEFAULT_GROUPS_CLAIM "groups"
#define DEFAULT_SCOPES "openid email profile"

static json_t *idp_json(const store_idp_t *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "name", p->name, "issuer", p->issuer,
			 "client_id", p->client_id, "groups_claim", p->groups_claim, "scopes", p->scopes,
			 "custom_ca", p->ca_pem != NULL, "created_at", (json_int_t)p->created_at);
}

void admin__idps_list(admin_ctx_t *c, const char *arg)
{
	store_idp_t *v = NULL;
	size_t n = 0;
	json_t *arr = NULL;

	if (store_idp_list(c->st, &v, &n) != 0 || !(arr = json_array())) {
		admin__store_error(c, "list identity providers");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, idp_json(&v[i])) != 0) {
			admin__error(c, 500, "out of memory");
			goto out;
		}
	admin__reply(c, 200, json_pack("{s:O}", "idps", arr));
out:
	json_decref(arr);
	store_idps_free(v, n);
}

/* Printable ASCII (0x21..0x7e, plus space when space_ok), 1..max bytes. */
static bool printable(const char *s, size_t max, bool space_ok)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((s[n] < 0x21 && !(space_ok && s[n] == ' ')) || s[n] > 0x7e)
			return false;
	return n >= 1 && n <= max;
}

/* An https URL with a host, no query, fragment or userinfo: what OpenID
 * Connect Discovery allows as an issuer. */
static bool issuer_ok(const char *s)
{
	if (!printable(s, STORE_URL_MAX, false) || strncmp(s, "https://", 8) != 0)
		return false;
	const char *host = s + 8, *end = host + strcspn(host, "/");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return false;
	return !strpbrk(s, "?#\"\\<>`{}|^");
}

/* RFC 6749 scope tokens: %x21 / %x23-5B / %x5D-7E, separated by single
 * spaces; "openid" among them. */
static bool scopes_ok(const char *s)
{
	bool openid = false;
	if (!printable(s, STORE_SCOPES_MAX, true) || s[0] == ' ' || s[strlen(s) - 1] == ' ' ||
	    strstr(s, "  ") || strpbrk(s, "\"\\"))
		return false;
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, " ");
		openid |= n == 6 && memcmp(p, "openid", 6) == 0;
		p += n + (p[n] == ' ');
	}
	return openid;
}

static bool claim_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || strchr("._:/-", s[n])))
			return false;
	return n >= 1 && n <= STORE_CLAIM_MAX;
}

/* Whether pem holds at least one certificate, and nothing that is not one. */
static bool ca_ok(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		n++;
	}
	BIO_free(b);
	return n > 0;
}

/* The secret as sent, copied into out (wiped by the caller), and the body's
 * copy wiped in place: jansson would free it as it is. */
static int take_secret(admin_ctx_t *c, char *out, size_t outlen)
{
	json_t *v = c->body ? json_object_get(c->body, "client_secret") : NULL;
	int r = ERR_INVAL;
	if (!v || json_is_null(v)) {
		admin__error(c, 400, "\"client_secret\" is required");
		return r;
	}
	if (!json_is_string(v)) {
		admin__error(c, 400, "\"client_secret\" must be a string");
		return r;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n || n >= outlen || !printable(s, STORE_CLIENT_SECRET_MAX, false))
		admin__error(c, 400, "\"client_secret\" must be 1-%d visible ASCII characters",
			     STORE_CLIENT_SECRET_MAX);
	else {
		memcpy(out, s, n + 1);
		r = 0;
	}
	OPENSSL_cleanse((char *)s, n);
	return r;
}

void admin__idps_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name",   "issuer",       "client_id", "client_secret",
					     "ca_pem", "groups_claim", "scopes",    NULL};
	const char *name, *issuer, *client_id, *ca, *claim, *scopes;
	char secret[STORE_CLIENT_SECRET_MAX + 1] = "";
	store_idp_t in = {0}, out = {0};
	store_why_t why;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 || admin__get_string(c, "issuer", &issuer) != 0 ||
	    admin__get_string(c, "client_id", &client_id) != 0 || admin__get_string(c, "ca_pem", &ca) != 0 ||
	    admin__get_string(c, "groups_claim", &claim) != 0 ||
	    admin__get_string(c, "scopes", &scopes) != 0 || take_secret(c, secret, sizeof(secret)) != 0)
		goto out;
	if (strcmp(name, "local") == 0) {
		admin__error(c, 400, "\"local\" is the built-in provider's name; choose another");
		goto out;
	}
	if (!issuer || !issuer_ok(issuer)) {
		admin__error(
		    c, 400,
		    "\"issuer\" must be the provider's https URL (at most %d characters, no query or "
		    "fragment), exactly as its discovery document names it, e.g. https://idp.example",
		    STORE_URL_MAX);
		goto out;
	}
	if (!client_id || !printable(client_id, STORE_CLIENT_ID_MAX, false)) {
		admin__error(c, 400, "\"client_id\" must be 1-%d visible ASCII characters",
			     STORE_CLIENT_ID_MAX);
		goto out;
	}
	if (claim && !claim_ok(claim)) {
		admin__error(c, 400, "\"groups_claim\" must be 1-%d characters of A-Z a-z 0-9 . _ : / -",
			     STORE_CLAIM_MAX);
		goto out;
	}
	if (scopes && !scopes_ok(scopes)) {
		admin__error(c, 400,
			     "\"scopes\" must be scope names separated by single spaces, \"openid\" among "
			     "them, at most %d characters",
			     STORE_SCOPES_MAX);
		goto out;
	}
	if (ca && (strlen(ca) > STORE_CA_PEM_MAX || !ca_ok(ca))) {
		admin__error(c, 400, "\"ca_pem\" must hold PEM certificates (at most %d bytes)",
			     STORE_CA_PEM_MAX);
		goto out;
	}
	snprintf(in.name, sizeof(in.name), "%s", name);
	snprintf(in.issuer, sizeof(in.issuer), "%s", issuer);
	snprintf(in.client_id, sizeof(in.client_id), "%s", client_id);
	snprintf(in.groups_claim, sizeof(in.groups_claim), "%s", claim ? claim : DEFAULT_GROUPS_CLAIM);
	snprintf(in.scopes, sizeof(in.scopes), "%s", scopes ? scopes : DEFAULT_SCOPES);
	in.client_secret = secret;
	in.ca_pem = (char *)ca;
	int r = store_idp_create(c->st, &in, &out, &why);
	if (r == ERR_EXISTS)
		admin__error(c, 409, "an identity provider named \"%s\" already exists; delete it first",
			     name);
	else if (r != 0)
		admin__store_error(c, "create the identity provider");
	if (r != 0)
		goto out;
	c->resp->changed = true;
	log_info("admin api: created identity provider %s (%s)", out.name, out.issuer);
	admin__reply(c, 201, idp_json(&out));
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	store_idp_clear(&out);
}

void admin__idps_delete(admin_ctx_t *c, const char *arg)
{
	store_why_t why;
	int r = store_idp_delete(c->st, arg, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no identity provider named \"%s\" (burrow admin idp list shows them)",
			     admin__echo(arg));
		return;
	}
	if (r == ERR_EXISTS) {
		admin__error(
		    c, 409,
		    "identity provider \"%s\" is accepted by app \"%s\": delete that app first (an app "
		    "limited to providers is never widened to any provider behind your back)",
		    admin__echo(arg), why.owner);
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the identity provider");
		return;
	}
	c->resp->changed = true;
	log_info("admin api: deleted identity provider %s", arg);
	admin__reply(c, 200, json_pack("{s:s}", "deleted", arg));
}
