/* policy.h — evaluates an application's ordered policies for one request.
 *
 * Pure functions, no I/O: the first policy (by precedence) whose rules match
 * the subject decides; no match denies. A policy matches when any include
 * selector matches, every require selector matches and no exclude selector
 * matches. allow needs a user identity, service_auth a service token; deny
 * and bypass apply to anyone who matches. */
#ifndef BURROW_EDGE_POLICY_H
#define BURROW_EDGE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "edge/model.h"

typedef struct policy_subject {
	/* service token, when one was presented and verified */
	const char *token_id;
	const char *token_name;
	/* user identity, when an app token was presented and verified */
	const char *email;
	const char *const *groups;
	size_t ngroups;
	const char *login_method; /* IdP type, e.g. "oidc", "local" */
	/* client address (may be NULL) */
	const struct sockaddr *addr;
} policy_subject_t;

typedef struct policy_decision {
	bool allowed;
	const model_policy_t *policy; /* the deciding policy; NULL when none matched */
	char reason[256];             /* one line for logs/audit and the client */
} policy_decision_t;

void policy_eval(const model_app_t *app, const policy_subject_t *s, policy_decision_t *d);

/* Validates a selector string ("everyone", "email=a@b.c", "email-domain=b.c",
 * "group=ops", "service-token=NAME", "service-token=any", "ip=10.0.0.0/8",
 * "ip=::1/128", "login-method=oidc"). Returns 0, or ERR_INVAL with a one-line
 * reason in err. */
int policy_selector_check(const char *sel, char *err, size_t errlen);

/* Parses "allow", "deny", "bypass", "service_auth"; -1 when unknown. */
int policy_action_parse(const char *s);
const char *policy_action_name(int action);

#endif
