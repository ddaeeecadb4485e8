/* policy.c — evaluates an application's policies for one subject.
 *
 * Pure and allocation-free: runs on the loop thread for every request. It
 * fails closed — a selector it cannot parse never lets anyone in (it does
 * not match in include/require and does match in exclude). Reasons are one
 * line and name tokens by name, never by secret. */
#include "edge/auth/policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/hostname.h"

#define EMAIL_MAX 254
#define GROUP_MAX 256
#define NAME_MAX_LEN 64

enum sel_match { SEL_NO = 0, SEL_YES = 1, SEL_BAD = -1 };

typedef struct cidr {
	int family;
	uint8_t addr[16];
	unsigned prefix;
} cidr_t;

static const char *after_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* Same rule as the admin API's object names: 1–64 of [A-Za-z0-9._-]. */
static bool name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= NAME_MAX_LEN;
}

static int cidr_parse(const char *s, cidr_t *c)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);

	if (hlen == 0 || hlen >= sizeof(host))
		return ERR_INVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, host, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, host, c->addr) == 1)
		c->family = AF_INET6;
	else
		return ERR_INVAL;
	unsigned max = c->family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (!slash)
		return 0;
	/* digits only: no sign, no spaces, at most three of them */
	const char *p = slash + 1;
	size_t nd = strspn(p, "0123456789");
	if (nd == 0 || nd > 3 || p[nd] != '\0')
		return ERR_INVAL;
	unsigned v = 0;
	for (size_t i = 0; i < nd; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	if (v > max)
		return ERR_INVAL;
	c->prefix = v;
	return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Client address as family + bytes; a v4-mapped IPv6 address (dual-stack
 * listener) counts as the IPv4 address it carries. */
static bool subject_addr(const struct sockaddr *sa, int *family, uint8_t out[16])
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(out, &in->sin_addr, 4);
		*family = AF_INET;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0) {
			memcpy(out, b + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(out, b, 16);
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

static enum sel_match match_ip(const char *arg, const policy_subject_t *s)
{
	cidr_t c;
	uint8_t addr[16];
	int family;
	if (cidr_parse(arg, &c) != 0)
		return SEL_BAD;
	if (!subject_addr(s->addr, &family, addr) || family != c.family)
		return SEL_NO;
	return prefix_eq(addr, c.addr, c.prefix) ? SEL_YES : SEL_NO;
}

static enum sel_match match_email_domain(const char *arg, const policy_subject_t *s)
{
	if (!s->email)
		return SEL_NO;
	const char *at = strrchr(s->email, '@');
	return at && strcasecmp(at + 1, arg) == 0 ? SEL_YES : SEL_NO;
}

static enum sel_match match_group(const char *arg, const policy_subject_t *s)
{
	for (size_t i = 0; s->groups && i < s->ngroups; i++)
		if (s->groups[i] && strcmp(s->groups[i], arg) == 0)
			return SEL_YES;
	return SEL_NO;
}

static enum sel_match match_token(const char *arg, const policy_subject_t *s)
{
	if (!s->token_name)
		return SEL_NO;
	if (strcmp(arg, "any") == 0)
		return SEL_YES;
	return strcmp(s->token_name, arg) == 0 ? SEL_YES : SEL_NO;
}

static enum sel_match sel_match(const char *sel, const policy_subject_t *s)
{
	const char *arg;
	if (!sel)
		return SEL_BAD;
	if (strcmp(sel, "everyone") == 0)
		return SEL_YES;
	if ((arg = after_prefix(sel, "email=")))
		return s->email && strcasecmp(s->email, arg) == 0 ? SEL_YES : SEL_NO;
	if ((arg = after_prefix(sel, "email-domain=")))
		return match_email_domain(arg, s);
	if ((arg = after_prefix(sel, "group=")))
		return match_group(arg, s);
	if ((arg = after_prefix(sel, "service-token=")))
		return match_token(arg, s);
	if ((arg = after_prefix(sel, "ip=")))
		return match_ip(arg, s);
	if ((arg = after_prefix(sel, "login-method=")))
		return s->login_method && strcasecmp(s->login_method, arg) == 0 ? SEL_YES : SEL_NO;
	return SEL_BAD;
}

static bool rules_match(const model_policy_t *p, const policy_subject_t *s)
{
	bool any = false;
	for (size_t i = 0; i < p->ninclude && !any; i++)
		any = sel_match(p->include[i], s) == SEL_YES;
	if (!any)
		return false;
	for (size_t i = 0; i < p->nrequire; i++)
		if (sel_match(p->require[i], s) != SEL_YES)
			return false;
	/* an unreadable exclude selector excludes: fail closed */
	for (size_t i = 0; i < p->nexclude; i++)
		if (sel_match(p->exclude[i], s) != SEL_NO)
			return false;
	return true;
}

/* Whether the policy's action can apply to this kind of subject at all. */
static bool action_applies(const model_policy_t *p, const policy_subject_t *s)
{
	switch (p->action) {
	case POLICY_ALLOW: return s->email != NULL;
	case POLICY_SERVICE_AUTH: return s->token_name != NULL || s->token_id != NULL;
	case POLICY_DENY:
	case POLICY_BYPASS: return true;
	}
	return false;
}

/* Formats the reason and replaces control bytes, so an IdP-supplied email
 * can never split a log or audit line. */
static void set_reason(policy_decision_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reason(policy_decision_t *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	for (char *c = d->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
}

/* "user "a@b"", "service token "ci"", both, or NULL for anonymous. */
static void describe_subject(const policy_subject_t *s, char *out, size_t outlen)
{
	const char *tok = s->token_name ? s->token_name : s->token_id;
	if (s->email && tok)
		snprintf(out, outlen, "user \"%.80s\" with service token \"%.64s\"", s->email, tok);
	else if (s->email)
		snprintf(out, outlen, "user \"%.80s\"", s->email);
	else if (tok)
		snprintf(out, outlen, "service token \"%.64s\"", tok);
	else
		out[0] = '\0';
}

void policy_eval(const model_app_t *app, const policy_subject_t *s, policy_decision_t *d)
{
	char who[192];

	memset(d, 0, sizeof(*d));
	if (!app || !s) {
		set_reason(d, "no application for this hostname");
		return;
	}
	describe_subject(s, who, sizeof(who));
	for (size_t i = 0; i < app->npolicies; i++) {
		const model_policy_t *p = &app->policies[i];
		if (!action_applies(p, s) || !rules_match(p, s))
			continue;
		d->policy = p;
		d->allowed = p->action != POLICY_DENY;
		set_reason(d, "policy \"%.64s\" (%s) of app \"%.64s\" %s %s", p->name,
			   policy_action_name(p->action), app->name, d->allowed ? "allows" : "denies",
			   who[0] ? who : "anonymous client");
		return;
	}
	if (who[0])
		set_reason(d, "no policy of app \"%.64s\" allows %s", app->name, who);
	else
		set_reason(d, "no policy of app \"%.64s\" matches", app->name);
}

static int sel_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int sel_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ERR_INVAL;
}

static int check_email(const char *arg, char *err, size_t errlen)
{
	const char *at = strrchr(arg, '@');
	char host[HOSTNAME_MAX + 1];
	if (!at || at == arg || strlen(arg) > EMAIL_MAX || has_ctl_or_space(arg) ||
	    hostname_normalize(at + 1, strlen(at + 1), host) != 0)
		return sel_err(err, errlen, "email= needs an address like alice@example.com");
	return 0;
}

int policy_selector_check(const char *sel, char *err, size_t errlen)
{
	const char *arg;
	char host[HOSTNAME_MAX + 1];
	cidr_t c;

	if (err && errlen)
		err[0] = '\0';
	if (!sel)
		return sel_err(err, errlen, "selector missing");
	if (strcmp(sel, "everyone") == 0)
		return 0;
	if ((arg = after_prefix(sel, "email=")))
		return check_email(arg, err, errlen);
	if ((arg = after_prefix(sel, "email-domain="))) {
		if (hostname_normalize(arg, strlen(arg), host) != 0)
			return sel_err(err, errlen, "email-domain= needs a domain like example.com");
		return 0;
	}
	if ((arg = after_prefix(sel, "group="))) {
		if (arg[0] == '\0' || strlen(arg) > GROUP_MAX || has_ctl_or_space(arg))
			return sel_err(err, errlen, "group= needs a group name (1-%d characters, no spaces)",
				       GROUP_MAX);
		return 0;
	}
	if ((arg = after_prefix(sel, "service-token="))) {
		if (!name_ok(arg))
			return sel_err(err, errlen,
				       "service-token= needs a token name ([A-Za-z0-9._-], 1-%d) or any",
				       NAME_MAX_LEN);
		return 0;
	}
	if ((arg = after_prefix(sel, "ip="))) {
		if (cidr_parse(arg, &c) != 0)
			return sel_err(err, errlen,
				       "ip= needs an address or CIDR range like 10.0.0.0/8 or 2001:db8::/32");
		return 0;
	}
	if ((arg = after_prefix(sel, "login-method="))) {
		if (!name_ok(arg))
			return sel_err(err, errlen, "login-method= needs a method name like oidc or local");
		return 0;
	}
	return sel_err(
	    err, errlen,
	    "unknown selector \"%.40s\": use everyone, email=, email-domain=, group=, service-token=, "
	    "ip= or login-method=",
	    has_ctl_or_space(sel) ? "(unprintable)" : sel);
}

int policy_action_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "allow") == 0)
		return POLICY_ALLOW;
	if (strcmp(s, "deny") == 0)
		return POLICY_DENY;
	if (strcmp(s, "bypass") == 0)
		return POLICY_BYPASS;
	if (strcmp(s, "service_auth") == 0)
		return POLICY_SERVICE_AUTH;
	return -1;
}

const char *policy_action_name(int action)
{
	switch (action) {
	case POLICY_ALLOW: return "allow";
	case POLICY_DENY: return "deny";
	case POLICY_BYPASS: return "bypass";
	case POLICY_SERVICE_AUTH: return "service_auth";
	default: return "unknown";
	}
}
