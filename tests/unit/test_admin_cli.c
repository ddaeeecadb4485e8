/* test_admin_cli.c — the pure parts of `burrow admin`: durations, the admin
 * URL, names and tokens, text tables, argument parsing and help, request
 * building and response rendering. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin/admin.h"
#include "admin/admin_cli.h"
#include "admin/admin_util.h"
#include "core/buf.h"
#include "core/err.h"

/* ---- helpers ---- */

/* A command line split on spaces; inv points into it, so it lives as long
 * as the parse result. */
typedef struct cmdline {
	char text[1024];
	char *argv[64];
	int argc;
	admin_inv_t inv;
	char err[1024];
	int r;
} cmdline_t;

static cmdline_t *parse(const char *line)
{
	cmdline_t *c = calloc(1, sizeof(*c));
	char *save = NULL;

	assert_non_null(c);
	snprintf(c->text, sizeof(c->text), "admin %s", line);
	for (char *t = strtok_r(c->text, " ", &save); t; t = strtok_r(NULL, " ", &save))
		c->argv[c->argc++] = t;
	c->r = admin_cli_parse(c->argc, c->argv, &c->inv, c->err, sizeof(c->err));
	return c;
}

static void done(cmdline_t *c)
{
	admin_inv_free(&c->inv);
	free(c);
}

static void assert_usage_error(const char *line, const char *needle)
{
	cmdline_t *c = parse(line);
	if (c->r != ERR_INVAL || !strstr(c->err, needle))
		fail_msg("\"%s\": r=%d err=\"%s\", wanted ERR_INVAL with \"%s\"", line, c->r, c->err, needle);
	done(c);
}

static char *text_of(buf_t *b)
{
	assert_int_equal(buf_append(b, "", 1), 0);
	return (char *)buf_head(b);
}

static char *help_of(const char *line)
{
	cmdline_t *c = parse(line);
	buf_t b;
	char *s;

	assert_int_equal(c->r, ADMIN_PARSE_HELP);
	buf_init(&b, 1 << 20);
	assert_int_equal(admin_cli_help(&c->inv, &b), 0);
	s = strdup(text_of(&b));
	buf_free(&b);
	done(c);
	return s;
}

/* Renders response JSON text through the command of line. */
static int render(const char *line, const char *json, int64_t now, char *out, size_t outlen, char *err,
		  size_t errlen)
{
	cmdline_t *c = parse(line);
	json_t *j = json_loads(json, 0, NULL);
	admin_out_t o;
	int r;

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_non_null(j);
	buf_init(&o.out, 1 << 20);
	buf_init(&o.info, 1 << 20);
	o.now = now;
	err[0] = '\0';
	r = c->inv.cmd->render(&c->inv, j, &o, err, errlen);
	snprintf(out, outlen, "%s%s", text_of(&o.out), text_of(&o.info));
	buf_free(&o.out);
	buf_free(&o.info);
	json_decref(j);
	done(c);
	return r;
}

/* ---- durations ---- */

static void test_duration_accepts_units_and_plain_seconds(void **state)
{
	int64_t s;

	assert_int_equal(duration_parse("90s", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(duration_parse("30m", &s), 0);
	assert_int_equal(s, 1800);
	assert_int_equal(duration_parse("24h", &s), 0);
	assert_int_equal(s, 86400);
	assert_int_equal(duration_parse("7d", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(duration_parse("3600", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(duration_parse("0", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(duration_parse("8760h", &s), 0);
	assert_int_equal(s, 31536000);
	assert_int_equal(duration_parse("1h30m", &s), 0);
	assert_int_equal(s, 5400);
	assert_int_equal(duration_parse("1d2h3m4s", &s), 0);
	assert_int_equal(s, 86400 + 7200 + 180 + 4);
}

static void test_duration_refuses_malformed(void **state)
{
	static const char *const bad[] = {"",	"h",   "-1",	"+5",	" 1h",	"1h ", "1.5h", "1x",
					  "1H", "1hh", "30m1h", "1h1h", "1h30", "1 h", "0x10", "1e3"};
	int64_t s = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (duration_parse(bad[i], &s) != ERR_INVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(duration_parse(NULL, &s), ERR_INVAL);
	assert_int_equal(s, 42); /* untouched on failure */
}

static void test_duration_refuses_overflow_and_above_max(void **state)
{
	int64_t s;

	assert_int_equal(duration_parse("99999999999999999999999", &s), ERR_INVAL);
	assert_int_equal(duration_parse("9223372036854775807s", &s), ERR_INVAL);
	assert_int_equal(duration_parse("36501d", &s), ERR_INVAL);
	assert_int_equal(duration_parse("36500d1s", &s), ERR_INVAL);
	assert_int_equal(duration_parse("36500d", &s), 0);
	assert_int_equal(s, DURATION_MAX);
}

static void test_duration_format_uses_largest_exact_unit(void **state)
{
	char b[32];

	duration_format(86400, b, sizeof(b));
	assert_string_equal(b, "24h");
	duration_format(1800, b, sizeof(b));
	assert_string_equal(b, "30m");
	duration_format(90, b, sizeof(b));
	assert_string_equal(b, "90s");
	duration_format(0, b, sizeof(b));
	assert_string_equal(b, "0s");
	admin_format_time(0, b, sizeof(b));
	assert_string_equal(b, "-");
	admin_format_time(1714564800, b, sizeof(b));
	assert_string_equal(b, "2024-05-01T12:00:00Z");
}

/* ---- URL ---- */

static void test_url_ip_literal_with_port(void **state)
{
	admin_url_t u;
	char err[256], a[300];

	assert_int_equal(admin_parse_url("https://127.0.0.1:8443", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "8443");
	assert_int_equal(u.port_num, 8443);
	assert_true(u.is_ip);
	assert_false(u.is_ipv6);
	admin_url_authority(&u, a, sizeof(a));
	assert_string_equal(a, "127.0.0.1:8443");
}

static void test_url_dns_name_defaults_to_443_and_lowercases(void **state)
{
	admin_url_t u;
	char err[256], a[300];

	assert_int_equal(admin_parse_url("HTTPS://Edge.Site.Test./", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "edge.site.test");
	assert_string_equal(u.port, "443");
	assert_false(u.is_ip);
	admin_url_authority(&u, a, sizeof(a));
	assert_string_equal(a, "edge.site.test");
	assert_int_equal(admin_parse_url("https://localhost:1", &u, err, sizeof(err)), 0);
	assert_int_equal(u.port_num, 1);
}

static void test_url_ipv6_in_brackets(void **state)
{
	admin_url_t u;
	char err[256], a[300];

	assert_int_equal(admin_parse_url("https://[::1]:8443", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	assert_true(u.is_ip);
	assert_true(u.is_ipv6);
	admin_url_authority(&u, a, sizeof(a));
	assert_string_equal(a, "[::1]:8443");
	assert_int_equal(admin_parse_url("https://[2001:db8::1]", &u, err, sizeof(err)), 0);
	assert_int_equal(u.port_num, 443);
	assert_int_equal(admin_parse_url("https://::1:8443", &u, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "brackets"));
}

static void test_url_refuses_http_with_a_hint(void **state)
{
	admin_url_t u;
	char err[256];

	assert_int_equal(admin_parse_url("http://127.0.0.1:8443", &u, err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "only over HTTPS"));
	assert_non_null(strstr(err, "https://127.0.0.1:8443"));
}

static void test_url_refuses_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "127.0.0.1:8443",
	    "ftp://edge",
	    "https://",
	    "https://:8443",
	    "https://edge/api",
	    "https://edge?x=1",
	    "https://edge#x",
	    "https://admin:pw@edge",
	    "https://edge:0",
	    "https://edge:65536",
	    "https://edge:",
	    "https://edge:84a",
	    "https://edge:123456",
	    "https://ed ge",
	    "https://edge_x.test",
	    "https://-edge.test",
	    "https://edge..test",
	    "https://10.0.1",
	    "https://[::1",
	    "https://[::1]x",
	    "https://[nothex]:1",
	    "https://[127.0.0.1]:1",
	};
	admin_url_t u;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (admin_parse_url(bad[i], &u, err, sizeof(err)) != ERR_INVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		if (!*err)
			fail_msg("no reason for \"%s\"", bad[i]);
	}
	assert_int_equal(admin_parse_url(NULL, &u, err, sizeof(err)), ERR_INVAL);
}

/* ---- names, tokens, sanitising ---- */

static void test_name_rule(void **state)
{
	char long65[66];

	assert_true(admin_valid_name("ssh"));
	assert_true(admin_valid_name("host-1.prod_A"));
	assert_true(admin_valid_name("7c2c443b-9a85-477c-800e-c3942370e0d4"));
	memset(long65, 'a', 64);
	long65[64] = '\0';
	assert_true(admin_valid_name(long65));
	long65[64] = 'a';
	long65[65] = '\0';
	assert_false(admin_valid_name(long65));
	assert_false(admin_valid_name(""));
	assert_false(admin_valid_name(NULL));
	assert_false(admin_valid_name("a b"));
	assert_false(admin_valid_name("a/b"));
	assert_false(admin_valid_name("a%2f"));
	assert_false(admin_valid_name("."));
	assert_false(admin_valid_name(".."));
	assert_false(admin_valid_name("caf\xc3\xa9"));
}

static void test_token_check_ignores_trailing_newline_and_refuses_controls(void **state)
{
	size_t n = 0;

	assert_int_equal(admin_token_check("abc123", &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(admin_token_check("abc123\n", &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(admin_token_check("abc\r\nX-Evil: 1", &n), ERR_INVAL);
	assert_int_equal(admin_token_check("ab c", &n), ERR_INVAL);
	assert_int_equal(admin_token_check("\n", &n), ERR_INVAL);
	assert_int_equal(admin_token_check("", &n), ERR_INVAL);
	assert_int_equal(admin_token_check(NULL, &n), ERR_INVAL);
}

static void test_sanitize_replaces_controls_and_cuts_at_a_character(void **state)
{
	char b[16];

	admin_sanitize("taken\x1b[31m\n", b, sizeof(b));
	assert_string_equal(b, "taken?[31m?");
	admin_sanitize("a\xc2\x9b"
		       "1m",
		       b, sizeof(b));
	assert_string_equal(b, "a?1m");
	admin_sanitize("caf\xc3\xa9", b, sizeof(b));
	assert_string_equal(b, "caf\xc3\xa9");
	/* 14 bytes then a 2-byte character: the cut drops all of it. */
	admin_sanitize("aaaaaaaaaaaaaa\xc3\xa9", b, sizeof(b));
	assert_string_equal(b, "aaaaaaaaaaaaaa");
}

/* ---- tables ---- */

static void test_table_aligns_columns_under_the_header(void **state)
{
	static const char *const head[] = {"NAME", "ID", "CREATED"};
	static const char *const r1[] = {"host1", "1234", "2024"};
	static const char *const r2[] = {"a-much-longer-name", "5", NULL};
	admin_table_t t;
	buf_t b;

	buf_init(&b, 4096);
	assert_int_equal(admin_table_init(&t, 3, head), 0);
	assert_int_equal(admin_table_add(&t, r1), 0);
	assert_int_equal(admin_table_add(&t, r2), 0);
	assert_int_equal(admin_table_render(&t, &b), 0);
	assert_string_equal(text_of(&b), "NAME                ID    CREATED\n"
					 "host1               1234  2024\n"
					 "a-much-longer-name  5     -\n");
	admin_table_free(&t);
	buf_free(&b);
}

static void test_table_counts_utf8_characters_and_sanitizes_cells(void **state)
{
	static const char *const head[] = {"A", "B"};
	static const char *const r1[] = {"caf\xc3\xa9", "x"};
	static const char *const r2[] = {"e\x1b[2J", "y"};
	admin_table_t t;
	buf_t b;

	buf_init(&b, 4096);
	assert_int_equal(admin_table_init(&t, 2, head), 0);
	assert_int_equal(admin_table_add(&t, r1), 0);
	assert_int_equal(admin_table_add(&t, r2), 0);
	assert_int_equal(admin_table_render(&t, &b), 0);
	assert_string_equal(text_of(&b), "A      B\n"
					 "caf\xc3\xa9   x\n"
					 "e?[2J  y\n");
	admin_table_free(&t);
	buf_free(&b);
}

static void test_table_with_only_a_header(void **state)
{
	static const char *const head[] = {"HOSTNAME", "TUNNEL"};
	admin_table_t t;
	buf_t b;

	buf_init(&b, 4096);
	assert_int_equal(admin_table_init(&t, 2, head), 0);
	assert_int_equal(admin_table_render(&t, &b), 0);
	assert_string_equal(text_of(&b), "HOSTNAME  TUNNEL\n");
	admin_table_free(&t);
	buf_free(&b);
}

/* ---- parsing ---- */

static void test_parse_global_flags_before_and_after_the_command(void **state)
{
	cmdline_t *c = parse("--url https://a.test --json app list --token T --ca ca.pem");

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_string_equal(c->inv.cmd->group, "app");
	assert_string_equal(c->inv.cmd->name, "list");
	assert_string_equal(c->inv.url, "https://a.test");
	assert_string_equal(c->inv.token, "T");
	assert_string_equal(c->inv.ca, "ca.pem");
	assert_true(c->inv.json);
	done(c);

	c = parse("--url=https://b.test app delete ssh --json");
	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_string_equal(c->inv.url, "https://b.test");
	assert_string_equal(c->inv.pos, "ssh");
	assert_true(c->inv.json);
	done(c);
}

static void test_parse_collects_repeated_options_in_order(void **state)
{
	cmdline_t *c = parse("policy add --app ssh --action allow --include email=a@x.test --include "
			     "group=ops --require ip=10.0.0.0/8 --precedence 7");

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_int_equal(admin_inv_count(&c->inv, AOPT_INCLUDE), 2);
	assert_int_equal(admin_inv_count(&c->inv, AOPT_REQUIRE), 1);
	assert_int_equal(admin_inv_count(&c->inv, AOPT_EXCLUDE), 0);
	assert_string_equal(admin_inv_get(&c->inv, AOPT_PRECEDENCE), "7");
	assert_null(admin_inv_get(&c->inv, AOPT_NAME));
	done(c);
}

static void test_parse_reports_usage_errors(void **state)
{
	assert_usage_error("app create --hostname a.test", "app create: --name NAME is required");
	assert_usage_error("app create --name ssh", "--hostname HOST is required");
	assert_usage_error("app create --name a --name b --hostname h", "--name is given more than once");
	assert_usage_error("app create --name a --hostname h --session-duration 1.5h", "is not a duration");
	assert_usage_error("app create --name a --hostname h --session-duration 0", "must be longer than 0");
	assert_usage_error("app create --name a/b --hostname h", "is not a valid name");
	assert_usage_error("app create --name a --hostname h --bogus", "unknown option \"--bogus\"");
	assert_usage_error("app create --name", "option --name needs a value");
	assert_usage_error("app list --json=yes", "option --json takes no value");
	assert_usage_error("app list -x", "unknown option -x");
	assert_usage_error("app list extra", "unexpected argument \"extra\"");
	assert_usage_error("app delete", "missing the NAME argument");
	assert_usage_error("app delete a b", "unexpected argument \"b\"");
	assert_usage_error("app delete ..", "is not a valid name");
	assert_usage_error("policy add --app ssh --action maybe", "use allow, deny, bypass or service_auth");
	assert_usage_error("policy add --app ssh --action allow --precedence -1", "is not a number");
	assert_usage_error("policy add --app ssh --action allow --precedence 99999999999", "is not a number");
	assert_usage_error("policy add --app ssh --action service_auth", "needs at least one --include");
	assert_usage_error("service-token create --name ci --duration forever", "is not a duration");
	assert_usage_error("frobnicate",
			   "unknown command \"frobnicate\": use one of app, policy, service-token, "
			   "tunnel, route");
	assert_usage_error("app frob", "unknown app command \"frob\": use one of create, list, delete");
	assert_usage_error("route add host1", "route add: missing the HOSTNAME argument");
	assert_usage_error("route add", "route add: missing the TUNNEL argument");
	assert_usage_error("route add host1 a.test b.test", "unexpected argument \"b.test\"");
	assert_usage_error("route add a/b a.test", "TUNNEL \"a/b\" is not a valid name");
	/* the hostname goes into the request's path: only a hostname may */
	assert_usage_error("route delete a/b", "HOSTNAME \"a/b\" is not a valid hostname");
	assert_usage_error("route delete a?b=c", "is not a valid hostname");
	assert_usage_error("route delete", "missing the HOSTNAME argument");
	/* Every usage error says where the help is. */
	assert_usage_error("tunnel create", "(see 'burrow admin tunnel create --help')");
}

static void test_parse_positional_after_double_dash(void **state)
{
	cmdline_t *c = parse("tunnel delete -- -odd-name");

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_string_equal(c->inv.pos, "-odd-name");
	done(c);
}

static void test_parse_help_at_every_level_wins_over_errors(void **state)
{
	static const char *const lines[] = {"--help",
					    "-h",
					    "app --help",
					    "app create --help",
					    "app create -h --bogus",
					    "--url x policy add --action nope --help",
					    "route list -h"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		cmdline_t *c = parse(lines[i]);
		if (c->r != ADMIN_PARSE_HELP)
			fail_msg("\"%s\": r=%d err=%s", lines[i], c->r, c->err);
		done(c);
	}
}

static void test_parse_without_a_command_asks_for_help_on_stderr(void **state)
{
	cmdline_t *c = parse("");

	assert_int_equal(c->r, ADMIN_PARSE_HELP_USAGE);
	assert_null(c->inv.group);
	done(c);
	c = parse("tunnel");
	assert_int_equal(c->r, ADMIN_PARSE_HELP_USAGE);
	assert_string_equal(c->inv.group->name, "tunnel");
	assert_null(c->inv.cmd);
	done(c);
}

/* ---- help is generated from the table ---- */

static void test_help_lists_every_command_of_the_table(void **state)
{
	char *top = help_of("--help");
	char label[128];

	for (const admin_cmd_t *c = admin_cmds; c->group; c++) {
		char *group = NULL;
		snprintf(label, sizeof(label), "  %s %s", c->group, c->name);
		if (!strstr(top, label) || !strstr(top, c->summary))
			fail_msg("top help lacks %s", label);
		snprintf(label, sizeof(label), "%s --help", c->group);
		group = help_of(label);
		if (!strstr(group, c->summary))
			fail_msg("%s help lacks %s", c->group, c->name);
		free(group);
	}
	for (const admin_opt_t *o = admin_global_opts; o->name; o++) {
		snprintf(label, sizeof(label), "--%s", o->name);
		assert_non_null(strstr(top, label));
	}
	assert_non_null(strstr(top, "BURROW_ADMIN_URL"));
	assert_non_null(strstr(top, "BURROW_ADMIN_TOKEN"));
	assert_non_null(strstr(top, "BURROW_CA"));
	free(top);
}

static void test_help_of_a_command_shows_each_option(void **state)
{
	char label[128];

	for (const admin_cmd_t *c = admin_cmds; c->group; c++) {
		char *h;
		snprintf(label, sizeof(label), "%s %s --help", c->group, c->name);
		h = help_of(label);
		snprintf(label, sizeof(label), "Usage: burrow admin %s %s", c->group, c->name);
		assert_non_null(strstr(h, label));
		for (const admin_opt_t *o = c->opts; o && o->name; o++) {
			snprintf(label, sizeof(label), "--%s", o->name);
			if (!strstr(h, label) || !strstr(h, o->help))
				fail_msg("%s %s help lacks %s", c->group, c->name, label);
		}
		if (c->arg && !strstr(h, c->arg_help))
			fail_msg("%s %s help lacks its argument", c->group, c->name);
		if (c->arg2 && !strstr(h, c->arg2_help))
			fail_msg("%s %s help lacks its second argument", c->group, c->name);
		free(h);
	}
}

static void test_help_usage_line_marks_required_and_repeatable(void **state)
{
	char *h = help_of("app create --help");

	assert_non_null(
	    strstr(h, "Usage: burrow admin app create --name NAME --hostname HOST [--hostname HOST]..."));
	assert_non_null(strstr(h, " [--session-duration DURATION]"));
	assert_non_null(
	    strstr(h, "--hostname HOST              hostname the application protects; repeat for more "
		      "(required; repeatable)"));
	assert_non_null(strstr(h, "Durations: 90s, 30m, 24h, 7d"));
	free(h);
}

/* ---- requests ---- */

static void test_build_app_create_body(void **state)
{
	cmdline_t *c = parse("app create --name ssh --hostname ssh.site.test --hostname git.site.test "
			     "--session-duration 12h");
	admin_request_t rq = {0};

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/api/v1/apps");
	assert_string_equal(rq.body, "{\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\",\"git.site.test\"],"
				     "\"session_duration\":43200}");
	free(rq.body);
	done(c);

	/* Without --session-duration the edge's default applies. */
	c = parse("app create --name ssh --hostname ssh.site.test");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_null(strstr(rq.body, "session_duration"));
	free(rq.body);
	done(c);
}

static void test_build_policy_requests(void **state)
{
	cmdline_t *c =
	    parse("policy add --app ssh --action service_auth --name ci --include service-token=ci "
		  "--precedence 10");
	admin_request_t rq = {0};

	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/api/v1/apps/ssh/policies");
	assert_string_equal(rq.body,
			    "{\"action\":\"service_auth\",\"include\":[\"service-token=ci\"],\"require\":[],"
			    "\"exclude\":[],\"name\":\"ci\",\"precedence\":10}");
	free(rq.body);
	done(c);

	c = parse("policy list --app ssh");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "GET");
	assert_string_equal(rq.path, "/api/v1/apps/ssh/policies");
	assert_null(rq.body);
	done(c);

	c = parse("policy list");
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.path, "/api/v1/policies");
	done(c);

	c = parse("policy delete 7c2c443b-9a85-477c-800e-c3942370e0d4");
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "DELETE");
	assert_string_equal(rq.path, "/api/v1/policies/7c2c443b-9a85-477c-800e-c3942370e0d4");
	done(c);
}

static void test_build_service_token_duration_defaults_to_a_year(void **state)
{
	cmdline_t *c = parse("service-token create --name ci");
	admin_request_t rq = {0};

	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.body, "{\"name\":\"ci\",\"duration\":31536000}");
	free(rq.body);
	done(c);

	c = parse("service-token create --name ci --duration 0");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.body, "{\"name\":\"ci\",\"duration\":0}");
	free(rq.body);
	done(c);

	c = parse("service-token revoke ci");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "DELETE");
	assert_string_equal(rq.path, "/api/v1/service-tokens/ci");
	done(c);
}

static void test_build_tunnel_and_route_requests(void **state)
{
	cmdline_t *c = parse("tunnel create host1 --output h.json");
	admin_request_t rq = {0};

	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.path, "/api/v1/tunnels");
	assert_string_equal(rq.body, "{\"name\":\"host1\"}");
	free(rq.body);
	done(c);

	c = parse("tunnel create host1 --hostname ssh.site.test --hostname git.site.test");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.body,
			    "{\"name\":\"host1\",\"hostnames\":[\"ssh.site.test\",\"git.site.test\"]}");
	free(rq.body);
	done(c);

	c = parse("route list");
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "GET");
	assert_string_equal(rq.path, "/api/v1/routes");
	done(c);

	/* two positionals, in order; options may come between them */
	c = parse("route add host1 --json git.site.test");
	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/api/v1/routes");
	assert_string_equal(rq.body, "{\"tunnel\":\"host1\",\"hostname\":\"git.site.test\"}");
	free(rq.body);
	done(c);

	c = parse("route delete Git.Site.Test.");
	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	memset(&rq, 0, sizeof(rq));
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "DELETE");
	assert_string_equal(rq.path, "/api/v1/routes/Git.Site.Test.");
	done(c);
}

/* ---- users, signing keys, sessions ---- */

static void test_email_rule(void **state)
{
	assert_true(admin_valid_email("ann@site.test"));
	assert_true(admin_valid_email("Ann.Smith+ci@Site.Test"));
	assert_false(admin_valid_email(NULL));
	assert_false(admin_valid_email(""));
	assert_false(admin_valid_email("annsite.test"));
	assert_false(admin_valid_email("a@b@c"));
	assert_false(admin_valid_email("@site.test"));
	assert_false(admin_valid_email("ann@"));
	assert_false(admin_valid_email("ann smith@site.test"));
	assert_false(admin_valid_email("ann/x@site.test"));
	assert_false(admin_valid_email("ann%40@site.test"));
	assert_false(admin_valid_email("ann\x01@site.test"));
	char e[300];
	memset(e, 'e', 244);
	snprintf(e + 244, sizeof(e) - 244, "@site.test");
	assert_true(admin_valid_email(e)); /* 254 */
	memset(e, 'e', 245);
	snprintf(e + 245, sizeof(e) - 245, "@site.test");
	assert_false(admin_valid_email(e)); /* 255 */
}

static void test_parse_user_session_and_keys_commands(void **state)
{
	assert_usage_error("user add", "missing the EMAIL argument");
	assert_usage_error("user add nobody", "\"nobody\" is not an email address");
	assert_usage_error("user add ann@site.test --password x", "unknown option");
	assert_usage_error("user delete a@b@c", "is not an email address");
	assert_usage_error("session revoke", "--email EMAIL is required");
	assert_usage_error("session revoke --email nope", "--email \"nope\" is not an email address");
	assert_usage_error("keys rotate now", "unexpected argument \"now\"");
	assert_usage_error("keys drop", "unknown keys command \"drop\": use one of list, rotate");

	cmdline_t *c = parse("user add ann@site.test");
	assert_int_equal(c->r, ADMIN_PARSE_RUN);
	assert_true(c->inv.cmd->password); /* admin.c reads it from stdin */
	done(c);
	for (const admin_cmd_t *cmd = admin_cmds; cmd->group; cmd++)
		if (cmd->password)
			assert_true(strcmp(cmd->group, "user") == 0 && strcmp(cmd->name, "add") == 0);

	char *h = help_of("user add --help");
	assert_non_null(strstr(h, "Usage: burrow admin user add EMAIL"));
	assert_non_null(strstr(h, "never taken from the command line"));
	free(h);
}

static void test_build_user_add_escapes_the_password(void **state)
{
	cmdline_t *c = parse("user add ann@site.test");
	admin_request_t rq = {0};
	static const char pw[] = "p\"w\\d\x01 \xc3\xa9nd";

	c->inv.password = pw;
	c->inv.password_len = sizeof(pw) - 1;
	assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/api/v1/users");
	assert_string_equal(rq.body,
			    "{\"email\":\"ann@site.test\",\"password\":\"p\\\"w\\\\d\\u0001 \xc3\xa9nd\"}");
	/* what the edge parses is the password, byte for byte */
	json_t *j = json_loads(rq.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "password")), pw);
	json_decref(j);
	free(rq.body);
	done(c);
}

static void test_build_user_keys_and_session_requests(void **state)
{
	static const struct {
		const char *line, *method, *path, *body;
	} cases[] = {
	    {"user list", "GET", "/api/v1/users", NULL},
	    {"user delete ann@site.test", "DELETE", "/api/v1/users/ann@site.test", NULL},
	    {"keys list", "GET", "/api/v1/keys", NULL},
	    {"keys rotate", "POST", "/api/v1/keys/rotate", "{}"},
	    {"session revoke --email Ann@Site.Test", "POST", "/api/v1/sessions/revoke",
	     "{\"email\":\"Ann@Site.Test\"}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cmdline_t *c = parse(cases[i].line);
		admin_request_t rq = {0};
		assert_int_equal(c->r, ADMIN_PARSE_RUN);
		assert_int_equal(c->inv.cmd->build(&c->inv, &rq), 0);
		assert_string_equal(rq.method, cases[i].method);
		assert_string_equal(rq.path, cases[i].path);
		if (cases[i].body)
			assert_string_equal(rq.body, cases[i].body);
		else
			assert_null(rq.body);
		free(rq.body);
		done(c);
	}
}

static void test_render_users_keys_and_revocation(void **state)
{
	char out[2048], err[256];

	assert_int_equal(render("user add ann@site.test", "{\"email\":\"ann@site.test\",\"created_at\":1}", 0,
				out, sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "User ann@site.test created; they can sign in with the password given.\n");
	assert_int_equal(render("user list",
				"{\"users\":[{\"email\":\"ann@site.test\",\"created_at\":1714564800},"
				"{\"email\":\"bob@site.test\",\"created_at\":1714564801}]}",
				0, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "EMAIL          CREATED\n"
				 "ann@site.test  2024-05-01T12:00:00Z\n"
				 "bob@site.test  2024-05-01T12:00:01Z\n");
	assert_int_equal(render("keys list",
				"{\"keys\":[{\"kid\":\"bbbb\",\"created_at\":1714564801,\"retired_at\":0},"
				"{\"kid\":\"aaaa\",\"created_at\":1714564800,\"retired_at\":1714564801}]}",
				0, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "KID   CREATED               RETIRED               STATUS\n"
				 "bbbb  2024-05-01T12:00:01Z  -                     current\n"
				 "aaaa  2024-05-01T12:00:00Z  2024-05-01T12:00:01Z  retired\n");
	assert_int_equal(render("keys rotate", "{\"kid\":\"bbbb\",\"created_at\":1}", 0, out, sizeof(out),
				err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "Signing key bbbb is current"));
	assert_int_equal(render("session revoke --email ann@site.test",
				"{\"email\":\"ann@site.test\",\"revoked_at\":1714564800}", 0, out,
				sizeof(out), err, sizeof(err)),
			 0);
	assert_non_null(
	    strstr(out, "Sessions of ann@site.test issued until 2024-05-01T12:00:00Z are revoked"));
	assert_int_equal(render("user list", "{}", 0, out, sizeof(out), err, sizeof(err)), ERR_PROTO);
	assert_int_equal(render("keys rotate", "{}", 0, out, sizeof(out), err, sizeof(err)), ERR_PROTO);
}

/* ---- rendering ---- */

static void test_render_service_token_create_shows_the_secret_once(void **state)
{
	char out[1024], err[256];

	assert_int_equal(
	    render("service-token create --name ci",
		   "{\"client_id\":\"0123456789abcdef0123456789abcdef.access\",\"name\":\"ci\","
		   "\"created_at\":1,\"expires_at\":0,\"revoked\":false,\"client_secret\":\"s3cr3t\"}",
		   0, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out,
			    "Service token \"ci\" created. Store the secret now: it is not shown again.\n"
			    "Client ID:     0123456789abcdef0123456789abcdef.access\n"
			    "Client Secret: s3cr3t\n");
	assert_int_equal(render("service-token create --name ci",
				"{\"client_id\":\"x.access\",\"name\":\"ci\"}", 0, out, sizeof(out), err,
				sizeof(err)),
			 ERR_PROTO);
	assert_non_null(strstr(err, "client_secret"));
}

static void test_render_tunnel_create_prints_the_credentials_file(void **state)
{
	static const char *resp = "{\"id\":\"3a248409-d356-4b49-99d1-ba1f71eed465\",\"name\":\"host1\","
				  "\"created_at\":1714564800,\"tunnel_secret\":\"abcd\"}";
	char out[1024], err[256];

	assert_int_equal(render("tunnel create host1", resp, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(
	    out, "{\"tunnel_id\":\"3a248409-d356-4b49-99d1-ba1f71eed465\",\"tunnel_name\":\"host1\","
		 "\"tunnel_secret\":\"abcd\"}\n");
	/* With --output the confirmation goes to info (stderr), after the file text. */
	assert_int_equal(
	    render("tunnel create host1 --output h.json", resp, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "credentials written to h.json (mode 0600)"));
}

static void test_render_app_list_as_a_table(void **state)
{
	char out[2048], err[256];

	assert_int_equal(
	    render("app list",
		   "{\"apps\":[{\"id\":\"i1\",\"name\":\"ssh\",\"hostnames\":[\"ssh.site.test\",\"git."
		   "site.test\"],\"aud\":\"x\",\"session_duration\":86400,\"created_at\":1714564800}]}",
		   0, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "NAME  HOSTNAMES                    SESSION  CREATED               ID\n"
				 "ssh   ssh.site.test,git.site.test  24h      2024-05-01T12:00:00Z  i1\n");
}

static void test_render_service_token_list_marks_expired_and_revoked(void **state)
{
	char out[2048], err[256];

	assert_int_equal(
	    render("service-token list",
		   "{\"service_tokens\":["
		   "{\"client_id\":\"a.access\",\"name\":\"ok\",\"created_at\":100,\"expires_at\":0,"
		   "\"revoked\":false},"
		   "{\"client_id\":\"b.access\",\"name\":\"old\",\"created_at\":100,\"expires_at\":150,"
		   "\"revoked\":false},"
		   "{\"client_id\":\"c.access\",\"name\":\"gone\",\"created_at\":100,\"expires_at\":0,"
		   "\"revoked\":true}]}",
		   200, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_non_null(strstr(out, "NAME  CLIENT ID  CREATED               EXPIRES               STATUS\n"));
	assert_non_null(strstr(out, "ok    a.access   1970-01-01T00:01:40Z  never                 active\n"));
	assert_non_null(
	    strstr(out, "old   b.access   1970-01-01T00:01:40Z  1970-01-01T00:02:30Z  expired\n"));
	assert_non_null(
	    strstr(out, "gone  c.access   1970-01-01T00:01:40Z  never                 revoked\n"));
}

static void test_render_policy_and_route_lists(void **state)
{
	char out[2048], err[256];

	assert_int_equal(
	    render("policy list",
		   "{\"policies\":[{\"id\":\"p1\",\"app_id\":\"a\",\"app\":\"ssh\",\"name\":\"ci\","
		   "\"action\":\"service_auth\",\"precedence\":10,\"include\":[\"service-token=ci\","
		   "\"ip=10.0.0.0/8\"],\"require\":[],\"exclude\":[]}]}",
		   0, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(
	    out, "ID  APP  PRECEDENCE  NAME  ACTION        INCLUDE                         REQUIRE  "
		 "EXCLUDE\n"
		 "p1  ssh  10          ci    service_auth  service-token=ci,ip=10.0.0.0/8  -        -\n");
	assert_int_equal(
	    render("route list",
		   "{\"routes\":[{\"hostname\":\"ssh.site.test\",\"tunnel_id\":\"t1\",\"tunnel_name\":"
		   "\"host1\"}]}",
		   0, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "HOSTNAME       TUNNEL  TUNNEL ID\nssh.site.test  host1   t1\n");
}

static void test_render_route_add_and_delete(void **state)
{
	char out[1024], err[256];

	assert_int_equal(
	    render("route add host1 git.site.test",
		   "{\"hostname\":\"git.site.test\",\"tunnel_id\":\"t1\",\"tunnel_name\":\"host1\"}", 0, out,
		   sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "Route added: git.site.test -> tunnel \"host1\" (id t1).\n");
	assert_int_equal(
	    render("route delete git.site.test",
		   "{\"hostname\":\"git.site.test\",\"tunnel_id\":\"t1\",\"tunnel_name\":\"host1\","
		   "\"deleted\":\"git.site.test\"}",
		   0, out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(
	    out, "Route of git.site.test to tunnel \"host1\" deleted; sessions on it end within a second.\n");
	char *h = help_of("route add --help");
	assert_non_null(strstr(h, "Usage: burrow admin route add TUNNEL HOSTNAME [global options]"));
	free(h);
}

static void test_render_refuses_a_response_of_the_wrong_shape(void **state)
{
	char out[256], err[256];

	assert_int_equal(render("tunnel list", "{\"apps\":[]}", 0, out, sizeof(out), err, sizeof(err)),
			 ERR_PROTO);
	assert_non_null(strstr(err, "no \"tunnels\" list"));
	assert_int_equal(
	    render("app create --name a --hostname h", "{}", 0, out, sizeof(out), err, sizeof(err)),
	    ERR_PROTO);
}

static void api_error(const admin_cmd_t *cmd, int status, const char *body, char *err, size_t errlen)
{
	admin_api_error(cmd, status, body, strlen(body), err, errlen);
}

static void test_api_error_lines(void **state)
{
	const admin_cmd_t *create = NULL;
	char err[512];

	for (const admin_cmd_t *c = admin_cmds; c->group; c++)
		if (strcmp(c->group, "app") == 0 && strcmp(c->name, "create") == 0)
			create = c;
	assert_non_null(create);
	api_error(create, 401, "{\"error\":\"admin token missing or wrong\"}", err, sizeof(err));
	assert_string_equal(err, "edge refused the admin token (401): admin token missing or wrong");
	api_error(create, 409, "{\"error\":\"hostname taken\\u001b[2J\\nby app x\"}", err, sizeof(err));
	assert_string_equal(err, "app create failed (409): hostname taken?[2J?by app x");
	api_error(create, 502, "<html>bad gateway</html>", err, sizeof(err));
	assert_non_null(strstr(err, "app create failed (502) and the edge sent no error text"));
}

/* ---- admin_main refuses before any network I/O ---- */

static void test_main_needs_a_url_and_refuses_http(void **state)
{
	char *argv1[] = {"admin", "app", "list", NULL};
	char *argv2[] = {"admin", "app", "list", "--url", "http://127.0.0.1:8443", "--token", "t", NULL};
	char *argv3[] = {"admin", "app", "list", "--url", "https://127.0.0.1:8443", NULL};

	unsetenv("BURROW_ADMIN_URL");
	unsetenv("BURROW_ADMIN_TOKEN");
	assert_int_equal(admin_main(3, argv1), ADMIN_EXIT_USAGE);
	assert_int_equal(admin_main(7, argv2), ADMIN_EXIT_USAGE);
	assert_int_equal(admin_main(5, argv3), ADMIN_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_email_rule),
	    cmocka_unit_test(test_parse_user_session_and_keys_commands),
	    cmocka_unit_test(test_build_user_add_escapes_the_password),
	    cmocka_unit_test(test_build_user_keys_and_session_requests),
	    cmocka_unit_test(test_render_users_keys_and_revocation),
	    cmocka_unit_test(test_duration_accepts_units_and_plain_seconds),
	    cmocka_unit_test(test_duration_refuses_malformed),
	    cmocka_unit_test(test_duration_refuses_overflow_and_above_max),
	    cmocka_unit_test(test_duration_format_uses_largest_exact_unit),
	    cmocka_unit_test(test_url_ip_literal_with_port),
	    cmocka_unit_test(test_url_dns_name_defaults_to_443_and_lowercases),
	    cmocka_unit_test(test_url_ipv6_in_brackets),
	    cmocka_unit_test(test_url_refuses_http_with_a_hint),
	    cmocka_unit_test(test_url_refuses_malformed),
	    cmocka_unit_test(test_name_rule),
	    cmocka_unit_test(test_token_check_ignores_trailing_newline_and_refuses_controls),
	    cmocka_unit_test(test_sanitize_replaces_controls_and_cuts_at_a_character),
	    cmocka_unit_test(test_table_aligns_columns_under_the_header),
	    cmocka_unit_test(test_table_counts_utf8_characters_and_sanitizes_cells),
	    cmocka_unit_test(test_table_with_only_a_header),
	    cmocka_unit_test(test_parse_global_flags_before_and_after_the_command),
	    cmocka_unit_test(test_parse_collects_repeated_options_in_order),
	    cmocka_unit_test(test_parse_reports_usage_errors),
	    cmocka_unit_test(test_parse_positional_after_double_dash),
	    cmocka_unit_test(test_parse_help_at_every_level_wins_over_errors),
	    cmocka_unit_test(test_parse_without_a_command_asks_for_help_on_stderr),
	    cmocka_unit_test(test_help_lists_every_command_of_the_table),
	    cmocka_unit_test(test_help_of_a_command_shows_each_option),
	    cmocka_unit_test(test_help_usage_line_marks_required_and_repeatable),
	    cmocka_unit_test(test_build_app_create_body),
	    cmocka_unit_test(test_build_policy_requests),
	    cmocka_unit_test(test_build_service_token_duration_defaults_to_a_year),
	    cmocka_unit_test(test_build_tunnel_and_route_requests),
	    cmocka_unit_test(test_render_service_token_create_shows_the_secret_once),
	    cmocka_unit_test(test_render_tunnel_create_prints_the_credentials_file),
	    cmocka_unit_test(test_render_app_list_as_a_table),
	    cmocka_unit_test(test_render_service_token_list_marks_expired_and_revoked),
	    cmocka_unit_test(test_render_policy_and_route_lists),
	    cmocka_unit_test(test_render_route_add_and_delete),
	    cmocka_unit_test(test_render_refuses_a_response_of_the_wrong_shape),
	    cmocka_unit_test(test_api_error_lines),
	    cmocka_unit_test(test_main_needs_a_url_and_refuses_http),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
