/* test_policy.c — policy_eval's first-match semantics, every selector kind,
 * and policy_selector_check's validation. Apps are built by hand: no store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "core/err.h"
#include "edge/auth/policy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static model_policy_t pol(const char *name, enum policy_action action, char **inc, size_t ninc, char **req,
			  size_t nreq, char **exc, size_t nexc)
{
	model_policy_t p = {.id = (char *)name,
			    .name = (char *)name,
			    .action = action,
			    .include = inc,
			    .ninclude = ninc,
			    .require = req,
			    .nrequire = nreq,
			    .exclude = exc,
			    .nexclude = nexc};
	return p;
}

static model_app_t app_of(model_policy_t *p, size_t n)
{
	model_app_t a = {.id = "app-1", .name = "ssh", .policies = p, .npolicies = n};
	return a;
}

static policy_decision_t eval(const model_app_t *a, const policy_subject_t *s)
{
	policy_decision_t d;
	policy_eval(a, s, &d);
	assert_null(strchr(d.reason, '\n'));
	return d;
}

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

static struct sockaddr_in6 v6(const char *ip)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	return sa;
}

static void test_policy_first_match_wins(void **state)
{
	char *everyone[] = {"everyone"};
	char *alice[] = {"email=alice@example.com"};
	model_policy_t p[] = {
	    pol("block-alice", POLICY_DENY, alice, 1, NULL, 0, NULL, 0),
	    pol("staff", POLICY_ALLOW, everyone, 1, NULL, 0, NULL, 0),
	};
	model_app_t a = app_of(p, N(p));

	policy_subject_t s = {.email = "Alice@Example.com"};
	policy_decision_t d = eval(&a, &s);
	assert_false(d.allowed);
	assert_ptr_equal(d.policy, &p[0]);
	assert_non_null(strstr(d.reason, "block-alice"));

	s.email = "bob@example.com";
	d = eval(&a, &s);
	assert_true(d.allowed);
	assert_ptr_equal(d.policy, &p[1]);
}

static void test_policy_exclude_beats_include(void **state)
{
	char *domain[] = {"email-domain=example.com"};
	char *contractors[] = {"group=contractors"};
	model_policy_t p[] = {pol("staff", POLICY_ALLOW, domain, 1, NULL, 0, contractors, 1)};
	model_app_t a = app_of(p, N(p));
	const char *groups[] = {"dev", "contractors"};

	policy_subject_t s = {.email = "carol@EXAMPLE.com", .groups = groups, .ngroups = 1};
	assert_true(eval(&a, &s).allowed);
	s.ngroups = 2;
	policy_decision_t d = eval(&a, &s);
	assert_false(d.allowed);
	assert_null(d.policy);
	assert_string_equal(d.reason, "no policy of app \"ssh\" allows user \"carol@EXAMPLE.com\"");
}

static void test_policy_require_all(void **state)
{
	char *everyone[] = {"everyone"};
	char *req[] = {"group=ops", "login-method=oidc"};
	model_policy_t p[] = {pol("ops", POLICY_ALLOW, everyone, 1, req, N(req), NULL, 0)};
	model_app_t a = app_of(p, N(p));
	const char *groups[] = {"ops"};

	policy_subject_t s = {
	    .email = "o@example.com", .groups = groups, .ngroups = 1, .login_method = "local"};
	assert_false(eval(&a, &s).allowed);
	s.login_method = "OIDC";
	assert_true(eval(&a, &s).allowed);
	s.ngroups = 0;
	assert_false(eval(&a, &s).allowed);
}

static void test_policy_service_token_vs_allow(void **state)
{
	char *everyone[] = {"everyone"};
	char *ci[] = {"service-token=ci"};
	model_policy_t p[] = {
	    pol("humans", POLICY_ALLOW, everyone, 1, NULL, 0, NULL, 0),
	    pol("ci", POLICY_SERVICE_AUTH, ci, 1, NULL, 0, NULL, 0),
	};
	model_app_t a = app_of(p, N(p));

	/* an allow policy never admits a bare service token, even for everyone */
	policy_subject_t s = {.token_id = "abc.access", .token_name = "ci"};
	policy_decision_t d = eval(&a, &s);
	assert_true(d.allowed);
	assert_ptr_equal(d.policy, &p[1]);

	s.token_name = "deploy";
	d = eval(&a, &s);
	assert_false(d.allowed);
	assert_string_equal(d.reason, "no policy of app \"ssh\" allows service token \"deploy\"");

	/* and a service_auth policy never admits a user */
	model_app_t only_ci = app_of(&p[1], 1);
	policy_subject_t u = {.email = "ci@example.com"};
	assert_false(eval(&only_ci, &u).allowed);
}

static void test_policy_service_token_any(void **state)
{
	char *any[] = {"service-token=any"};
	model_policy_t p[] = {pol("robots", POLICY_SERVICE_AUTH, any, 1, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));

	policy_subject_t s = {.token_id = "x.access", .token_name = "whatever"};
	assert_true(eval(&a, &s).allowed);
	policy_subject_t anon = {0};
	policy_decision_t d = eval(&a, &anon);
	assert_false(d.allowed);
	assert_string_equal(d.reason, "no policy of app \"ssh\" matches");
}

static void test_policy_bypass_for_anonymous(void **state)
{
	char *office[] = {"ip=192.0.2.0/24"};
	char *everyone[] = {"everyone"};
	model_policy_t p[] = {
	    pol("office", POLICY_BYPASS, office, 1, NULL, 0, NULL, 0),
	    pol("staff", POLICY_ALLOW, everyone, 1, NULL, 0, NULL, 0),
	};
	model_app_t a = app_of(p, N(p));

	struct sockaddr_in in = v4("192.0.2.77");
	policy_subject_t s = {.addr = (struct sockaddr *)&in};
	policy_decision_t d = eval(&a, &s);
	assert_true(d.allowed);
	assert_ptr_equal(d.policy, &p[0]);

	struct sockaddr_in out = v4("198.51.100.1");
	s.addr = (struct sockaddr *)&out;
	assert_false(eval(&a, &s).allowed);
}

static void test_policy_deny_applies_to_anyone(void **state)
{
	char *everyone[] = {"everyone"};
	char *any[] = {"service-token=any"};
	model_policy_t p[] = {
	    pol("closed", POLICY_DENY, everyone, 1, NULL, 0, NULL, 0),
	    pol("robots", POLICY_SERVICE_AUTH, any, 1, NULL, 0, NULL, 0),
	};
	model_app_t a = app_of(p, N(p));
	policy_subject_t s = {.token_id = "x.access", .token_name = "ci"};
	policy_decision_t d = eval(&a, &s);
	assert_false(d.allowed);
	assert_ptr_equal(d.policy, &p[0]);
	assert_non_null(strstr(d.reason, "denies service token \"ci\""));
}

static void test_policy_ip_cidr_v4(void **state)
{
	char *net[] = {"ip=10.1.0.0/16"};
	char *host[] = {"ip=10.2.3.4"};
	model_policy_t p[] = {pol("net", POLICY_BYPASS, net, 1, NULL, 0, NULL, 0),
			      pol("host", POLICY_BYPASS, host, 1, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));

	struct sockaddr_in in = v4("10.1.255.9"), edge = v4("10.0.255.255"), h = v4("10.2.3.4"),
			   h2 = v4("10.2.3.5");
	policy_subject_t s = {.addr = (struct sockaddr *)&in};
	assert_true(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&edge;
	assert_false(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&h;
	assert_true(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&h2;
	assert_false(eval(&a, &s).allowed);

	/* a dual-stack listener reports IPv4 clients as v4-mapped IPv6 */
	struct sockaddr_in6 mapped = v6("::ffff:10.1.2.3");
	s.addr = (struct sockaddr *)&mapped;
	assert_true(eval(&a, &s).allowed);
	/* no address: an ip= selector cannot match */
	s.addr = NULL;
	assert_false(eval(&a, &s).allowed);
}

static void test_policy_ip_cidr_v6(void **state)
{
	char *net[] = {"ip=2001:db8:a::/45"};
	char *host[] = {"ip=::1"};
	model_policy_t p[] = {pol("net", POLICY_BYPASS, net, 1, NULL, 0, NULL, 0),
			      pol("lo", POLICY_BYPASS, host, 1, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));

	struct sockaddr_in6 in = v6("2001:db8:f::1"), out = v6("2001:db8:10::1"), lo = v6("::1"),
			    lo2 = v6("::2");
	struct sockaddr_in v4addr = v4("32.1.13.184"); /* same leading bytes as 2001:db8 */
	policy_subject_t s = {.addr = (struct sockaddr *)&in};
	assert_true(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&out;
	assert_false(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&lo;
	assert_true(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&lo2;
	assert_false(eval(&a, &s).allowed);
	s.addr = (struct sockaddr *)&v4addr;
	assert_false(eval(&a, &s).allowed);
}

static void test_policy_no_match_denies(void **state)
{
	model_app_t empty = app_of(NULL, 0);
	policy_subject_t s = {.email = "a@b.example"};
	policy_decision_t d = eval(&empty, &s);
	assert_false(d.allowed);
	assert_null(d.policy);
	assert_string_equal(d.reason, "no policy of app \"ssh\" allows user \"a@b.example\"");

	/* an empty include list matches nobody */
	model_policy_t p[] = {pol("empty", POLICY_BYPASS, NULL, 0, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));
	policy_subject_t anon = {0};
	assert_false(eval(&a, &anon).allowed);
}

static void test_policy_bad_selector_fails_closed(void **state)
{
	char *everyone[] = {"everyone"};
	char *bad[] = {"ip=not-an-address"};
	char *bogus[] = {"color=blue"};
	model_policy_t p[] = {pol("excl", POLICY_BYPASS, everyone, 1, NULL, 0, bad, 1),
			      pol("inc", POLICY_BYPASS, bogus, 1, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));
	policy_subject_t anon = {0};
	assert_false(eval(&a, &anon).allowed);
}

static void test_policy_reason_has_no_control_bytes(void **state)
{
	char *everyone[] = {"everyone"};
	model_policy_t p[] = {pol("staff", POLICY_ALLOW, everyone, 1, NULL, 0, NULL, 0)};
	model_app_t a = app_of(p, N(p));
	policy_subject_t s = {.email = "evil@x\r\nINJECTED"};
	policy_decision_t d = eval(&a, &s);
	assert_true(d.allowed);
	assert_null(strchr(d.reason, '\r'));
}

static void test_policy_selector_check(void **state)
{
	static const char *const good[] = {
	    "everyone",		"email=a@b.example", "email-domain=Example.COM",
	    "group=ops",	"service-token=ci",  "service-token=any",
	    "ip=10.0.0.0/8",	"ip=10.0.0.1",	     "ip=::1/128",
	    "ip=2001:db8::/32", "ip=0.0.0.0/0",	     "login-method=oidc",
	};
	static const char *const bad[] = {
	    "",
	    "Everyone",
	    "everyone=1",
	    "email=",
	    "email=nobody",
	    "email=@b.example",
	    "email-domain=",
	    "email-domain=-bad.example",
	    "group=",
	    "group=ops team",
	    "service-token=",
	    "service-token=has space",
	    "ip=10.0.0.0/33",
	    "ip=::/129",
	    "ip=10.0.0.0/",
	    "ip=10.0.0.0/+8",
	    "ip=10.0.0.0/8/8",
	    "ip=fe80::1%eth0",
	    "ip=host.example",
	    "login-method=",
	    "colour=blue",
	};
	char err[200];
	for (size_t i = 0; i < N(good); i++) {
		if (policy_selector_check(good[i], err, sizeof(err)) != 0)
			fail_msg("refused \"%s\": %s", good[i], err);
	}
	for (size_t i = 0; i < N(bad); i++) {
		if (policy_selector_check(bad[i], err, sizeof(err)) != ERR_INVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void test_policy_action_names(void **state)
{
	assert_int_equal(policy_action_parse("allow"), POLICY_ALLOW);
	assert_int_equal(policy_action_parse("deny"), POLICY_DENY);
	assert_int_equal(policy_action_parse("bypass"), POLICY_BYPASS);
	assert_int_equal(policy_action_parse("service_auth"), POLICY_SERVICE_AUTH);
	assert_int_equal(policy_action_parse("Allow"), -1);
	assert_int_equal(policy_action_parse("service-auth"), -1);
	assert_string_equal(policy_action_name(POLICY_SERVICE_AUTH), "service_auth");
	assert_string_equal(policy_action_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_first_match_wins),
	    cmocka_unit_test(test_policy_exclude_beats_include),
	    cmocka_unit_test(test_policy_require_all),
	    cmocka_unit_test(test_policy_service_token_vs_allow),
	    cmocka_unit_test(test_policy_service_token_any),
	    cmocka_unit_test(test_policy_bypass_for_anonymous),
	    cmocka_unit_test(test_policy_deny_applies_to_anyone),
	    cmocka_unit_test(test_policy_ip_cidr_v4),
	    cmocka_unit_test(test_policy_ip_cidr_v6),
	    cmocka_unit_test(test_policy_no_match_denies),
	    cmocka_unit_test(test_policy_bad_selector_fails_closed),
	    cmocka_unit_test(test_policy_reason_has_no_control_bytes),
	    cmocka_unit_test(test_policy_selector_check),
	    cmocka_unit_test(test_policy_action_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
