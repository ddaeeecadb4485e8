/* sessions.c — live sessions re-evaluated when what allowed them changes.
 *
 * Must never: let a session outlive the token, app, policy, route or tunnel
 * that allowed it by more than the check interval (1 s), or end one that is
 * still allowed. */
#include "edge/sessions/sessions.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/duration.h"
#include "core/log.h"
#include "core/ws.h"
#include "edge/auth/apptoken.h"
#include "edge/auth/authn.h"
#include "edge/edge.h"
#include "edge/model.h"
#include "edge/auth/policy.h"

#define SESSIONS_CHECK_MS 1000

void sessions_add(edge_t *e, edge_session_t *s)
{
	s->prev = NULL;
	s->next = e->sessions;
	if (e->sessions)
		e->sessions->prev = s;
	e->sessions = s;
}

void sessions_remove(edge_t *e, edge_session_t *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else if (e->sessions == s)
		e->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->relay = NULL;
}

/* Whether s would be allowed if it started now; why says what ended it. */
static bool still_allowed(const edge_t *e, const edge_session_t *s, time_t now, char *why, size_t whylen)
{
	const model_app_t *app = model_app_by_host(e->model, s->host);
	if (!app) {
		snprintf(why, whylen, "application for %.100s deleted", s->host);
		return false;
	}
	const model_route_t *route = model_route_by_host(e->model, s->host);
	if (s->tunnel_id[0] && (!route || strcmp(route->tunnel_id, s->tunnel_id) != 0)) {
		if (!model_tunnel_by_id(e->model, s->tunnel_id))
			snprintf(why, whylen, "tunnel %.80s deleted", s->tunnel_name);
		else
			snprintf(why, whylen, "route of %.60s to tunnel %.40s deleted", s->host,
				 s->tunnel_name);
		return false;
	}
	policy_subject_t subj = {0};
	subj.addr = (const struct sockaddr *)s->peer;
	if (s->token_id[0]) {
		const model_token_t *t = model_token_by_id(e->model, s->token_id);
		if (authn_token_state(t, s->token_name, now, why, whylen) != AUTHN_TOKEN_OK)
			return false;
		subj.token_id = t->id;
		subj.token_name = t->name;
	}
	if (s->id) {
		/* A person: revoked (or deleted) since, or now outside the policy. */
		int64_t rev = model_revoked_at(e->model, s->id->email);
		if (rev && s->id->iat <= rev) {
			snprintf(why, whylen, "sessions of %.200s revoked by an administrator", s->id->email);
			return false;
		}
		if (strcmp(s->id->login_method, "local") == 0 &&
		    !model_user_by_email(e->model, s->id->email)) {
			snprintf(why, whylen, "user %.200s deleted", s->id->email);
			return false;
		}
		subj.email = s->id->email;
		subj.groups = s->id->groups;
		subj.ngroups = s->id->ngroups;
		subj.login_method = s->id->login_method;
	}
	if (app->session_duration > 0 && (int64_t)(now - s->started) >= app->session_duration) {
		char dur[32];
		duration_format(app->session_duration, dur, sizeof(dur));
		snprintf(why, whylen, "session duration of app %.64s (%s) ran out", app->name, dur);
		return false;
	}
	policy_decision_t d;
	policy_eval(app, &subj, &d);
	if (!d.allowed) {
		snprintf(why, whylen, "%s", d.reason);
		return false;
	}
	return true;
}

void sessions_check(edge_t *e)
{
	time_t now = time(NULL);
	char why[512];
	edge_session_t *next;
	for (edge_session_t *s = e->sessions; s; s = next) {
		next = s->next; /* relay_end may finish s (sessions_remove) at once */
		if (s->ending || still_allowed(e, s, now, why, sizeof(why)))
			continue;
		s->ending = true;
		snprintf(s->end_reason, sizeof(s->end_reason), "ended by the edge: %.100s", why);
		log_info("session %s -> %s from %s ended by the edge: %s", s->ident, s->host, s->peer_str,
			 why);
		relay_end(s->relay, WS_CLOSE_POLICY, why);
	}
}

static void on_check(uv_timer_t *t)
{
	sessions_check(t->data);
}

int sessions_start(edge_t *e)
{
	int r = uv_timer_init(e->loop, &e->sessions_timer);
	if (r)
		return r;
	e->sessions_timer.data = e;
	uv_unref((uv_handle_t *)&e->sessions_timer);
	return uv_timer_start(&e->sessions_timer, on_check, SESSIONS_CHECK_MS, SESSIONS_CHECK_MS);
}

char *sessions_list_json(const edge_t *e, const char *email)
{
	json_t *arr = json_array();
	for (const edge_session_t *s = e->sessions; arr && s; s = s->next) {
		if (email && (!s->id || strcmp(s->id->email, email) != 0))
			continue;
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "id", s->session_id ? s->session_id : "",
			      "app", s->app ? s->app : "", "hostname", s->host, "who", s->ident, "client",
			      s->peer_str, "started_at", (json_int_t)s->started, "idp",
			      s->id ? s->id->idp : (s->token_name[0] ? "service-token" : "bypass"));
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	json_t *r = json_pack("{s:o*}", "sessions", arr);
	char *txt = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	return txt;
}
