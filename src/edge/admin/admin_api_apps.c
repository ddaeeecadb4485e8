/* admin_api_apps.c — admin API handlers for applications and their policies.
 *
 * Handlers validate first, then make one store call, which checks and
 * writes in one transaction, so a 409 is decided against the state the
 * write would land in. Selectors are validated with policy_selector_check,
 * the same rules the evaluator parses with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hostname.h"
#include "edge/admin/admin_api_int.h"
#include "edge/auth/policy.h"

#define DEFAULT_SESSION 86400
#define MAX_SESSION (365 * 86400)
#define MAX_PRECEDENCE STORE_PRECEDENCE_MAX

/* ---- applications ---- */

static json_t *app_json(const store_app_t *a)
{
	json_t *hosts = admin__strv_json(&a->hostnames);
	json_t *idps = admin__strv_json(&a->idps);
	if (!hosts || !idps) {
		json_decref(hosts);
		json_decref(idps);
		return NULL;
	}
	/* "o" takes hosts and idps, also on failure */
	return json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:o}", "id", a->id, "name", a->name, "hostnames",
			 hosts, "aud", a->aud, "session_duration", (json_int_t)a->session_duration,
			 "created_at", (json_int_t)a->created_at, "idps", idps);
}

/* The "idps" array: provider names, without duplicates (absent: any). */
static int idps_get(admin_ctx_t *c, store_strv_t *out)
{
	json_t *in, *uniq = NULL;
	int r = ERR_INVAL;
	if (admin__get_strings(c, "idps", ADMIN_LIST_MAX, &in) != 0)
		return r;
	if (!(uniq = json_array()))
		goto nomem;
	for (size_t i = 0; in && i < json_array_size(in); i++) {
		json_t *e = json_array_get(in, i);
		if (admin__check_name(c, "idps", json_string_value(e)) != 0)
			goto out;
		bool dup = false;
		for (size_t j = 0; j < json_array_size(uniq) && !dup; j++)
			dup = json_equal(json_array_get(uniq, j), e);
		if (!dup && json_array_append(uniq, e) != 0)
			goto nomem;
	}
	if (admin__strv_from(uniq, out) != 0)
		goto nomem;
	r = 0;
	goto out;
nomem:
	admin__error(c, 500, "out of memory");
	r = ERR_NOMEM;
out:
	json_decref(uniq);
	return r;
}

void admin__apps_list(admin_ctx_t *c, const char *arg)
{
	store_app_t *v = NULL;
	size_t n = 0;
	json_t *arr = NULL;

	if (store_app_list(c->st, &v, &n) != 0 || !(arr = json_array())) {
		admin__store_error(c, "list apps");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, app_json(&v[i])) != 0) {
			admin__error(c, 500, "out of memory");
			goto out;
		}
	admin__reply(c, 200, json_pack("{s:O}", "apps", arr));
out:
	json_decref(arr);
	store_apps_free(v, n);
}

void admin__apps_create(admin_ctx_t *c, const char *arg)
{
	static const char *const fields[] = {"name", "hostnames", "session_duration", "idps", NULL};
	const char *name;
	json_t *hosts = NULL;
	bool has_duration;
	store_app_t in = {.session_duration = DEFAULT_SESSION}, out = {0};
	store_why_t why;

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "name", &name) != 0 ||
	    admin__check_name(c, "name", name) != 0 ||
	    admin__get_int(c, "session_duration", 1, MAX_SESSION, &has_duration, &in.session_duration) != 0)
		goto out;
	if (admin__get_hostnames(c, "hostnames", true, &hosts) != 0 || idps_get(c, &in.idps) != 0)
		goto out;
	if (admin__uuid4(in.id) != 0 || admin__random_hex(in.aud, STORE_AUD_LEN / 2) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	snprintf(in.name, sizeof(in.name), "%s", name);
	if (admin__strv_from(hosts, &in.hostnames) != 0) {
		admin__error(c, 500, "out of memory");
		goto out;
	}
	int r = store_app_create(c->st, &in, &out, &why);
	if (r == ERR_EXISTS && why.what == STORE_HOSTNAME)
		admin__error(c, 409, "hostname \"%s\" already belongs to app \"%s\"", why.key, why.owner);
	else if (r == ERR_EXISTS)
		admin__error(c, 409, "an app named \"%s\" already exists", name);
	else if (r == ERR_NOTFOUND && why.what == STORE_IDP)
		admin__error(c, 404, "no identity provider named \"%s\" (burrow admin idp list shows them)",
			     why.key);
	else if (r != 0)
		admin__store_error(c, "create the app");
	if (r != 0)
		goto out;
	c->resp->changed = true;
	admin__reply(c, 201, app_json(&out));
out:
	store_app_clear(&in);
	store_app_clear(&out);
	json_decref(hosts);
}

void admin__apps_delete(admin_ctx_t *c, const char *arg)
{
	char id[STORE_ID_MAX + 1];
	store_why_t why;

	/* policies and hostnames go with it */
	int r = store_app_delete(c->st, arg, id, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the app");
		return;
	}
	c->resp->changed = true;
	admin__reply(c, 200, json_pack("{s:s}", "deleted", id));
}

/* ---- policies ---- */

static json_t *policy_json(const store_policy_t *p)
{
	json_t *inc = admin__strv_json(&p->include);
	json_t *req = admin__strv_json(&p->require);
	json_t *exc = admin__strv_json(&p->exclude);
	if (!inc || !req || !exc) {
		json_decref(inc);
		json_decref(req);
		json_decref(exc);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o}", "id", p->id, "app_id", p->app_id,
			 "app", p->app_name, "name", p->name, "action", policy_action_name(p->action),
			 "precedence", (json_int_t)p->precedence, "include", inc, "require", req, "exclude",
			 exc);
}

/* Lists the policies of app (an id or a name), or of every app when NULL. */
static void reply_policies(admin_ctx_t *c, const char *app)
{
	store_policy_t *v = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	store_why_t why;

	int r = store_policy_list(c->st, app, &v, &n, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no app named \"%s\"", admin__echo(app));
		goto out;
	}
	if (r != 0 || !(arr = json_array())) {
		admin__store_error(c, "list policies");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, policy_json(&v[i])) != 0) {
			admin__error(c, 500, "out of memory");
			goto out;
		}
	admin__reply(c, 200, json_pack("{s:O}", "policies", arr));
out:
	json_decref(arr);
	store_policies_free(v, n);
}

void admin__policies_list(admin_ctx_t *c, const char *arg)
{
	reply_policies(c, NULL);
}

void admin__policies_list_app(admin_ctx_t *c, const char *arg)
{
	reply_policies(c, arg);
}

/* Validates one selector list; an absent list becomes []. Named service
 * tokens are checked later, inside the transaction. */
static int selectors_get(admin_ctx_t *c, const char *key, json_t **out)
{
	char why[200];
	json_t *arr;
	if (admin__get_strings(c, key, ADMIN_LIST_MAX, &arr) != 0)
		return ERR_INVAL;
	for (size_t i = 0; arr && i < json_array_size(arr); i++) {
		const char *sel = json_string_value(json_array_get(arr, i));
		if (policy_selector_check(sel, why, sizeof(why)) != 0) {
			admin__error(c, 400, "bad selector in \"%s\": %s", key, why);
			return ERR_INVAL;
		}
	}
	*out = arr ? json_incref(arr) : json_array();
	return *out ? 0 : ERR_NOMEM;
}

struct policy_in {
	const char *action;
	const char *name;
	json_t *lists[3]; /* include, require, exclude */
	int64_t precedence;
	bool has_precedence;
};

static int policy_input(admin_ctx_t *c, struct policy_in *in)
{
	static const char *const fields[] = {"action",	"name",	      "include", "require",
					     "exclude", "precedence", NULL};
	static const char *const keys[3] = {"include", "require", "exclude"};

	if (admin__check_fields(c, fields) != 0 || admin__get_string(c, "action", &in->action) != 0 ||
	    admin__get_string(c, "name", &in->name) != 0)
		return ERR_INVAL;
	if (!in->action || policy_action_parse(in->action) < 0) {
		admin__error(c, 400, "\"action\" must be one of allow, deny, bypass, service_auth");
		return ERR_INVAL;
	}
	if (!in->name)
		in->name = in->action;
	if (admin__check_name(c, "name", in->name) != 0 ||
	    admin__get_int(c, "precedence", 0, MAX_PRECEDENCE, &in->has_precedence, &in->precedence) != 0)
		return ERR_INVAL;
	for (int i = 0; i < 3; i++) {
		int r = selectors_get(c, keys[i], &in->lists[i]);
		if (r == ERR_NOMEM)
			admin__error(c, 500, "out of memory");
		if (r != 0)
			return r;
	}
	if (policy_action_parse(in->action) == POLICY_SERVICE_AUTH && json_array_size(in->lists[0]) == 0) {
		admin__error(c, 400,
			     "a service_auth policy needs at least one include selector, e.g. "
			     "\"service-token=NAME\"");
		return ERR_INVAL;
	}
	return 0;
}

/* The names of the service tokens that service-token=NAME selectors name
 * ("any" is the wildcard, not a token); they must exist when it is added. */
static int tokens_named(json_t *const lists[3], store_strv_t *out)
{
	const char *prefix = "service-token=";
	size_t plen = strlen(prefix), n = 0;

	for (int l = 0; l < 3; l++)
		n += json_array_size(lists[l]);
	out->n = 0;
	if (!(out->v = calloc(n + 1, sizeof(*out->v)))) /* + 1: never a NULL array */
		return ERR_NOMEM;
	for (int l = 0; l < 3; l++) {
		for (size_t i = 0; i < json_array_size(lists[l]); i++) {
			const char *sel = json_string_value(json_array_get(lists[l], i));
			if (strncmp(sel, prefix, plen) != 0 || strcmp(sel + plen, "any") == 0)
				continue;
			if (!(out->v[out->n] = strdup(sel + plen)))
				return ERR_NOMEM;
			out->n++;
		}
	}
	return 0;
}

/* The store's record for a validated request; arg names the app. */
static int policy_record(const struct policy_in *in, const char *arg, const char *id, store_policy_t *out)
{
	store_strv_t *lists[3] = {&out->include, &out->require, &out->exclude};
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->app_id, sizeof(out->app_id), "%s", arg);
	snprintf(out->name, sizeof(out->name), "%s", in->name);
	out->action = (enum policy_action)policy_action_parse(in->action);
	out->precedence = in->has_precedence ? in->precedence : -1;
	for (int i = 0; i < 3; i++)
		if (admin__strv_from(in->lists[i], lists[i]) != 0)
			return ERR_NOMEM;
	return 0;
}

void admin__policies_create(admin_ctx_t *c, const char *arg)
{
	struct policy_in in = {0};
	store_policy_t rec = {0}, out = {0};
	store_strv_t tokens = {0};
	store_why_t why;
	char id[37];
	int r;

	if (policy_input(c, &in) != 0)
		goto out;
	if (admin__uuid4(id) != 0) {
		admin__error(c, 500, "cannot read random bytes from the OS");
		goto out;
	}
	/* no app has a name or id that long, and a cut one could name another */
	if (strlen(arg) > STORE_ID_MAX) {
		admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
		goto out;
	}
	if (policy_record(&in, arg, id, &rec) != 0 || tokens_named(in.lists, &tokens) != 0) {
		admin__error(c, 500, "out of memory");
		goto out;
	}
	r = store_policy_add(c->st, &rec, &tokens, &out, &why);
	if (r == ERR_NOTFOUND && why.what == STORE_TOKEN)
		admin__error(c, 400,
			     "no service token named \"%s\"; create it first (POST /api/v1/service-tokens)",
			     why.key);
	else if (r == ERR_NOTFOUND)
		admin__error(c, 404, "no app named \"%s\"", admin__echo(arg));
	else if (r == ERR_TOOBIG)
		admin__error(
		    c, 400,
		    "the app's last policy has the highest precedence; give \"precedence\" explicitly");
	else if (r != 0)
		admin__store_error(c, "create the policy");
	if (r != 0)
		goto out;
	c->resp->changed = true;
	admin__reply(c, 201, policy_json(&out));
out:
	store_policy_clear(&rec);
	store_policy_clear(&out);
	store_strv_clear(&tokens);
	for (int i = 0; i < 3; i++)
		json_decref(in.lists[i]);
}

void admin__policies_delete(admin_ctx_t *c, const char *arg)
{
	store_why_t why;
	int r = store_policy_delete(c->st, arg, &why);
	if (r == ERR_NOTFOUND) {
		admin__error(c, 404, "no policy with id \"%s\"", admin__echo(arg));
		return;
	}
	if (r != 0) {
		admin__store_error(c, "delete the policy");
		return;
	}
	c->resp->changed = true;
	admin__reply(c, 200, json_pack("{s:s}", "deleted", arg));
}
