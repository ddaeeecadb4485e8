/* admin_cli.c — parsing and help for `burrow admin`, both driven by the
 * command table in admin_cmds.c.
 *
 * Pure: no network, no environment, no printing. getopt_long's state is
 * reset on every parse, so the parser may run many times in one process. */
#include "admin/admin_cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_util.h"
#include "core/err.h"
#include "core/hostname.h"

#define HELP_WRAP 100
#define DURATIONS_HELP "\nDurations: 90s, 30m, 24h, 7d, 1h30m or plain seconds.\n"

const admin_opt_t admin_global_opts[] = {
    {"url", AOPT_URL, AVAL_TEXT, "URL", 0,
     "edge admin API, e.g. https://127.0.0.1:8443 (env BURROW_ADMIN_URL)"},
    {"token-file", AOPT_TOKEN_FILE, AVAL_TEXT, "FILE", 0,
     "file holding the admin token, mode 0600, e.g. the edge's <data-dir>/admin-token (env "
     "BURROW_ADMIN_TOKEN_FILE)"},
    {"token", AOPT_TOKEN, AVAL_TEXT, "TOKEN", 0,
     "the admin token itself; other users see it in ps: prefer --token-file (env BURROW_ADMIN_TOKEN)"},
    {"ca", AOPT_CA, AVAL_TEXT, "FILE", 0,
     "PEM CA certificate trusted besides the system roots (env BURROW_CA)"},
    {"json", AOPT_JSON, AVAL_NONE, NULL, 0, "print the edge's raw JSON response (for scripts)"},
    {"help", AOPT_HELP, AVAL_NONE, NULL, 0, "show help; works after any command"},
    {NULL, 0, 0, NULL, 0, NULL},
};

/* Between a command's group and name: none for a group's own command. */
#define SEP(cmd) ((cmd)->name[0] ? " " : "")

static const admin_group_t *find_group(const char *name)
{
	for (const admin_group_t *g = admin_groups; g->name; g++)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

static const admin_cmd_t *find_cmd(const admin_group_t *g, const char *name)
{
	for (const admin_cmd_t *c = admin_cmds; c->group; c++)
		if (strcmp(c->group, g->name) == 0 && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static const admin_opt_t *find_opt(const admin_opt_t *opts, int id)
{
	for (const admin_opt_t *o = opts; o && o->name; o++)
		if (o->id == id)
			return o;
	return NULL;
}

/* Option name for messages: the command's own options, then the globals. */
static const char *opt_name(const admin_cmd_t *cmd, int id)
{
	const admin_opt_t *o = find_opt(cmd ? cmd->opts : NULL, id);
	if (!o)
		o = find_opt(admin_global_opts, id);
	return o ? o->name : "?";
}

/* "app, policy, ..." or "create, list, delete" into out. */
static void list_words(const admin_group_t *g, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	if (!g) {
		for (const admin_group_t *x = admin_groups; x->name && n < outlen; x++)
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", x->name);
		return;
	}
	for (const admin_cmd_t *c = admin_cmds; c->group && n < outlen; c++)
		if (strcmp(c->group, g->name) == 0)
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", c->name);
}

/* A usage error for a command: "app create: <msg> (see '... --help')". */
static void cmd_err(const admin_cmd_t *cmd, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cmd_err(const admin_cmd_t *cmd, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s%s: %s (see 'burrow admin %s%s%s --help')", cmd->group, SEP(cmd),
		 cmd->name, msg, cmd->group, SEP(cmd), cmd->name);
}

/* Leading tokens that are global options taking a value in the next word
 * (getopt_long also accepts unambiguous abbreviations such as --tok). */
static bool global_takes_next(const char *tok)
{
	if (strncmp(tok, "--", 2) != 0 || tok[2] == '\0' || strchr(tok, '='))
		return false;
	for (const admin_opt_t *o = admin_global_opts; o->name; o++)
		if (o->kind != AVAL_NONE && strlen(tok + 2) <= strlen(o->name) &&
		    memcmp(o->name, tok + 2, strlen(tok + 2)) == 0)
			return true;
	return false;
}

static int check_value(const admin_cmd_t *cmd, const char *label, int kind, const char *v, char *err,
		       size_t errlen)
{
	int64_t secs;

	if (!v)
		v = "";
	switch (kind) {
	case AVAL_TEXT:
		if (!*v) {
			cmd_err(cmd, err, errlen, "%s is empty", label);
			return ERR_INVAL;
		}
		return 0;
	case AVAL_NAME:
		if (!admin_valid_name(v)) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen,
				"%s \"%s\" is not a valid name: use 1-64 of A-Z a-z 0-9 . _ -", label, s);
			return ERR_INVAL;
		}
		return 0;
	case AVAL_DURATION:
	case AVAL_DURATION_POS:
		if (duration_parse(v, &secs) != 0) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen,
				"%s \"%s\" is not a duration: use e.g. 90s, 30m, 24h, 7d or seconds", label,
				s);
			return ERR_INVAL;
		}
		if (kind == AVAL_DURATION_POS && secs == 0) {
			cmd_err(cmd, err, errlen, "%s must be longer than 0", label);
			return ERR_INVAL;
		}
		return 0;
	case AVAL_UINT: {
		char *end;
		long long n;
		if (*v < '0' || *v > '9' || (n = strtoll(v, &end, 10), *end != '\0') || n > INT32_MAX) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen, "%s \"%s\" is not a number from 0 to %d", label, s,
				INT32_MAX);
			return ERR_INVAL;
		}
		return 0;
	}
	case AVAL_ACTION:
		if (strcmp(v, "allow") != 0 && strcmp(v, "deny") != 0 && strcmp(v, "bypass") != 0 &&
		    strcmp(v, "service_auth") != 0) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen,
				"%s \"%s\" is not an action: use allow, deny, bypass or service_auth", label,
				s);
			return ERR_INVAL;
		}
		return 0;
	case AVAL_HOSTNAME: {
		char norm[HOSTNAME_MAX + 1];
		if (hostname_normalize(v, strlen(v), norm) != 0) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen,
				"%s \"%s\" is not a valid hostname: use letters, digits, '-' and '.', e.g. "
				"ssh.example.com",
				label, s);
			return ERR_INVAL;
		}
		return 0;
	}
	case AVAL_EMAIL:
		if (!admin_valid_email(v)) {
			char s[80];
			admin_sanitize(v, s, sizeof(s));
			cmd_err(cmd, err, errlen,
				"%s \"%s\" is not an email address: use NAME@DOMAIN, at most %d characters",
				label, s, ADMIN_EMAIL_MAX);
			return ERR_INVAL;
		}
		return 0;
	default: return 0;
	}
}

/* Checks values, counts and the positional of a parsed command. */
static int check_cmd(const admin_inv_t *inv, char *err, size_t errlen)
{
	const admin_cmd_t *cmd = inv->cmd;
	char label[80];
	int r;

	for (size_t i = 0; i < inv->nargs; i++) {
		const admin_opt_t *o = find_opt(cmd->opts, inv->args[i].id);
		snprintf(label, sizeof(label), "--%s", o->name);
		if ((r = check_value(cmd, label, o->kind, inv->args[i].val, err, errlen)) != 0)
			return r;
	}
	for (const admin_opt_t *o = cmd->opts; o && o->name; o++) {
		size_t n = admin_inv_count(inv, o->id);
		if ((o->flags & AOPT_REQUIRED) && n == 0) {
			cmd_err(cmd, err, errlen, "--%s %s is required", o->name, o->metavar);
			return ERR_INVAL;
		}
		if (!(o->flags & AOPT_REPEAT) && n > 1) {
			cmd_err(cmd, err, errlen, "--%s is given more than once", o->name);
			return ERR_INVAL;
		}
	}
	const char *names[] = {cmd->arg, cmd->arg2}, *vals[] = {inv->pos, inv->pos2};
	const int kinds[] = {cmd->arg_kind, cmd->arg2_kind};
	for (int i = 0; i < 2 && names[i]; i++) {
		if (!vals[i]) {
			cmd_err(cmd, err, errlen, "missing the %s argument", names[i]);
			return ERR_INVAL;
		}
		if ((r = check_value(cmd, names[i], kinds[i], vals[i], err, errlen)) != 0)
			return r;
	}
	if (cmd->check)
		return cmd->check(inv, err, errlen);
	return 0;
}

/* Stores an operand as the next positional argument the command takes;
 * false when it takes no more. */
static bool take_operand(admin_inv_t *inv, const char *operand)
{
	const admin_cmd_t *cmd = inv->cmd;
	if (cmd && cmd->arg && !inv->pos)
		inv->pos = operand;
	else if (cmd && cmd->arg2 && !inv->pos2)
		inv->pos2 = operand;
	else
		return false;
	return true;
}

/* getopt_long table: the command's options, then the globals. */
static struct option *make_longopts(const admin_cmd_t *cmd)
{
	size_t n = 0, k = 0;
	struct option *lo;

	for (const admin_opt_t *o = cmd ? cmd->opts : NULL; o && o->name; o++)
		n++;
	for (const admin_opt_t *o = admin_global_opts; o->name; o++)
		n++;
	lo = calloc(n + 1, sizeof(*lo));
	if (!lo)
		return NULL;
	for (const admin_opt_t *o = cmd ? cmd->opts : NULL; o && o->name; o++, k++)
		lo[k] = (struct option){o->name, o->kind == AVAL_NONE ? no_argument : required_argument, NULL,
					o->id};
	for (const admin_opt_t *o = admin_global_opts; o->name; o++, k++)
		lo[k] = (struct option){o->name, o->kind == AVAL_NONE ? no_argument : required_argument, NULL,
					o->id};
	return lo;
}

int admin_cli_parse(int argc, char **argv, admin_inv_t *inv, char *err, size_t errlen)
{
	const admin_group_t *group = NULL;
	const admin_cmd_t *cmd = NULL;
	struct option *lo = NULL;
	bool help = false, bad = false;
	int i = 1, nvec = 0, words, r, c;
	char list[128];

	memset(inv, 0, sizeof(*inv));
	err[0] = '\0';
	inv->vec = calloc((size_t)argc + 1, sizeof(*inv->vec));
	inv->args = calloc((size_t)argc + 1, sizeof(*inv->args));
	if (!inv->vec || !inv->args) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}

	/* Global options may come before the command words. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0' && strcmp(argv[i], "--") != 0)
		i += global_takes_next(argv[i]) && i + 1 < argc ? 2 : 1;
	words = i;
	inv->vec[nvec++] = argv[0];
	for (int k = 1; k < words; k++)
		inv->vec[nvec++] = argv[k];
	if (i < argc && strcmp(argv[i], "--") != 0) {
		group = find_group(argv[i]);
		if (!group) {
			char s[64];
			admin_sanitize(argv[i], s, sizeof(s));
			list_words(NULL, list, sizeof(list));
			snprintf(err, errlen,
				 "unknown command \"%s\": use one of %s (see 'burrow admin --help')", s,
				 list);
			return ERR_INVAL;
		}
		i++;
		if (i >= argc || argv[i][0] == '-')
			cmd = find_cmd(group, ""); /* a group that is itself a command: burrow admin audit */
		else {
			cmd = find_cmd(group, argv[i]);
			if (!cmd && find_cmd(group, "")) {
				char s[64];
				admin_sanitize(argv[i], s, sizeof(s));
				snprintf(err, errlen,
					 "%s takes options only, not \"%s\" (see 'burrow admin %s --help')",
					 group->name, s, group->name);
				return ERR_INVAL;
			}
			if (!cmd) {
				char s[64];
				admin_sanitize(argv[i], s, sizeof(s));
				list_words(group, list, sizeof(list));
				snprintf(
				    err, errlen,
				    "unknown %s command \"%s\": use one of %s (see 'burrow admin %s --help')",
				    group->name, s, list, group->name);
				return ERR_INVAL;
			}
			i++;
		}
	}
	for (; i < argc; i++)
		inv->vec[nvec++] = argv[i];
	inv->group = group;
	inv->cmd = cmd;

	lo = make_longopts(cmd);
	if (!lo) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	/* "-": operands come back in order as option 1, even under
	 * POSIXLY_CORRECT; ":": a missing value is reported as ':'. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(nvec, inv->vec, "-:h", lo, NULL)) != -1) {
		const char *operand = NULL;
		switch (c) {
		case 'h': help = true; break;
		case AOPT_URL: inv->url = optarg; break;
		case AOPT_TOKEN: inv->token = optarg; break;
		case AOPT_TOKEN_FILE: inv->token_file = optarg; break;
		case AOPT_CA: inv->ca = optarg; break;
		case AOPT_JSON: inv->json = true; break;
		case 1: operand = optarg; break;
		case ':':
			if (!bad)
				snprintf(err, errlen, "option --%s needs a value", opt_name(cmd, optopt));
			bad = true;
			break;
		case '?':
			if (!bad) {
				char s[64];
				if (optopt >= AOPT_URL)
					snprintf(err, errlen, "option --%s takes no value",
						 opt_name(cmd, optopt));
				else if (optopt > 0 && optopt < 0x80)
					snprintf(err, errlen, "unknown option -%c", optopt);
				else {
					admin_sanitize(inv->vec[optind - 1], s, sizeof(s));
					snprintf(err, errlen, "unknown option \"%s\"", s);
				}
			}
			bad = true;
			break;
		default: inv->args[inv->nargs++] = (admin_arg_t){c, optarg}; break;
		}
		if (operand && !take_operand(inv, operand) && !bad) {
			char s[64];
			admin_sanitize(operand, s, sizeof(s));
			snprintf(err, errlen, "unexpected argument \"%s\"", s);
			bad = true;
		}
	}
	/* Operands after "--". */
	for (; optind < nvec; optind++) {
		if (!take_operand(inv, inv->vec[optind]) && !bad) {
			char s[64];
			admin_sanitize(inv->vec[optind], s, sizeof(s));
			snprintf(err, errlen, "unexpected argument \"%s\"", s);
			bad = true;
		}
	}
	free(lo);

	if (help) {
		err[0] = '\0';
		return ADMIN_PARSE_HELP;
	}
	if (bad) {
		char msg[384];
		snprintf(msg, sizeof(msg), "%s", err);
		if (cmd)
			cmd_err(cmd, err, errlen, "%s", msg);
		else if (group)
			snprintf(err, errlen, "%s (see 'burrow admin %s --help')", msg, group->name);
		else
			snprintf(err, errlen, "%s (see 'burrow admin --help')", msg);
		return ERR_INVAL;
	}
	if (!cmd)
		return ADMIN_PARSE_HELP_USAGE;
	r = check_cmd(inv, err, errlen);
	return r ? r : ADMIN_PARSE_RUN;
}

void admin_inv_free(admin_inv_t *inv)
{
	free(inv->vec);
	free(inv->args);
	memset(inv, 0, sizeof(*inv));
}

const char *admin_inv_get(const admin_inv_t *inv, int id)
{
	const char *v = NULL;

	for (size_t i = 0; i < inv->nargs; i++)
		if (inv->args[i].id == id)
			v = inv->args[i].val;
	return v;
}

size_t admin_inv_count(const admin_inv_t *inv, int id)
{
	size_t n = 0;

	for (size_t i = 0; i < inv->nargs; i++)
		if (inv->args[i].id == id)
			n++;
	return n;
}

/* ---- help ---- */

static void opt_label(const admin_opt_t *o, char *out, size_t outlen)
{
	if (o->id == AOPT_HELP)
		snprintf(out, outlen, "-h, --help");
	else if (o->metavar)
		snprintf(out, outlen, "--%s %s", o->name, o->metavar);
	else
		snprintf(out, outlen, "--%s", o->name);
}

static size_t opts_width(const admin_opt_t *opts, size_t w)
{
	char label[96];

	for (const admin_opt_t *o = opts; o && o->name; o++) {
		opt_label(o, label, sizeof(label));
		if (strlen(label) > w)
			w = strlen(label);
	}
	return w;
}

static int help_opts(buf_t *out, const char *title, const admin_opt_t *opts, size_t width)
{
	char label[96];
	int r = buf_printf(out, "\n%s:\n", title);

	for (const admin_opt_t *o = opts; r == 0 && o && o->name; o++) {
		const char *suffix = (o->flags & AOPT_REQUIRED) && (o->flags & AOPT_REPEAT)
					 ? " (required; repeatable)"
				     : (o->flags & AOPT_REQUIRED) ? " (required)"
				     : (o->flags & AOPT_REPEAT)	  ? " (repeatable)"
								  : "";
		opt_label(o, label, sizeof(label));
		r = buf_printf(out, "  %-*s  %s%s\n", (int)width, label, o->help, suffix);
	}
	return r;
}

/* Command list of one group, or of all groups when g is NULL. */
static int help_cmd_list(buf_t *out, const admin_group_t *g)
{
	char label[96];
	size_t width = 0;
	int r = buf_printf(out, "\nCommands:\n");

	for (int pass = 0; pass < 2 && r == 0; pass++)
		for (const admin_cmd_t *c = admin_cmds; c->group && r == 0; c++) {
			if (g && strcmp(c->group, g->name) != 0)
				continue;
			snprintf(label, sizeof(label), "%s%s%s%s%s%s%s", c->group, SEP(c), c->name,
				 c->arg ? " " : "", c->arg ? c->arg : "", c->arg2 ? " " : "",
				 c->arg2 ? c->arg2 : "");
			if (pass == 0 && strlen(label) > width)
				width = strlen(label);
			else if (pass == 1)
				r = buf_printf(out, "  %-*s  %s\n", (int)width, label, c->summary);
		}
	return r;
}

/* Appends word to the usage line, wrapping at HELP_WRAP columns. */
static int usage_word(buf_t *out, size_t *col, size_t indent, const char *word)
{
	size_t n = strlen(word);
	int r;

	if (*col + 1 + n > HELP_WRAP) {
		r = buf_printf(out, "\n%*s", (int)indent, "");
		*col = indent + n;
	} else {
		r = buf_append_str(out, " ");
		*col += 1 + n;
	}
	return r ? r : buf_append_str(out, word);
}

static int help_cmd(buf_t *out, const admin_cmd_t *cmd)
{
	char word[256];
	size_t col, indent, width;
	int r;

	r = buf_printf(out, "Usage: burrow admin %s%s%s", cmd->group, SEP(cmd), cmd->name);
	col = indent =
	    strlen("Usage: burrow admin ") + strlen(cmd->group) + strlen(SEP(cmd)) + strlen(cmd->name);
	indent++;
	if (r == 0 && cmd->arg)
		r = usage_word(out, &col, indent, cmd->arg);
	if (r == 0 && cmd->arg2)
		r = usage_word(out, &col, indent, cmd->arg2);
	for (const admin_opt_t *o = cmd->opts; r == 0 && o && o->name; o++) {
		char one[96];
		opt_label(o, one, sizeof(one));
		if ((o->flags & AOPT_REQUIRED) && (o->flags & AOPT_REPEAT))
			snprintf(word, sizeof(word), "%s [%s]...", one, one);
		else if (o->flags & AOPT_REQUIRED)
			snprintf(word, sizeof(word), "%s", one);
		else if (o->flags & AOPT_REPEAT)
			snprintf(word, sizeof(word), "[%s]...", one);
		else
			snprintf(word, sizeof(word), "[%s]", one);
		r = usage_word(out, &col, indent, word);
	}
	if (r == 0)
		r = usage_word(out, &col, indent, "[global options]");
	if (r == 0)
		r = buf_printf(out, "\n\n%s.\n", cmd->summary);
	if (r == 0 && cmd->help)
		r = buf_printf(out, "\n%s\n", cmd->help);

	width = opts_width(cmd->opts, cmd->arg ? strlen(cmd->arg) : 0);
	if (cmd->arg2 && strlen(cmd->arg2) > width)
		width = strlen(cmd->arg2);
	width = opts_width(admin_global_opts, width);
	if (r == 0 && cmd->arg)
		r = buf_printf(out, "\nArguments:\n  %-*s  %s\n", (int)width, cmd->arg, cmd->arg_help);
	if (r == 0 && cmd->arg2)
		r = buf_printf(out, "  %-*s  %s\n", (int)width, cmd->arg2, cmd->arg2_help);
	if (r == 0 && cmd->opts && cmd->opts->name)
		r = help_opts(out, "Options", cmd->opts, width);
	if (r == 0)
		r = help_opts(out, "Global options", admin_global_opts, width);
	for (const admin_opt_t *o = cmd->opts; r == 0 && o && o->name; o++)
		if (o->kind == AVAL_DURATION || o->kind == AVAL_DURATION_POS) {
			r = buf_append_str(out, DURATIONS_HELP);
			break;
		}
	return r;
}

int admin_cli_help(const admin_inv_t *inv, buf_t *out)
{
	size_t width = opts_width(admin_global_opts, 0);
	int r;

	if (inv->cmd)
		return help_cmd(out, inv->cmd);
	if (inv->group) {
		r = buf_printf(out, "Usage: burrow admin %s COMMAND [options]\n\n%s.\n", inv->group->name,
			       inv->group->summary);
		if (r == 0)
			r = help_cmd_list(out, inv->group);
		if (r == 0)
			r = help_opts(out, "Global options", admin_global_opts, width);
		if (r == 0)
			r = buf_printf(out,
				       "\nRun 'burrow admin %s COMMAND --help' for a command's options.\n",
				       inv->group->name);
		return r;
	}
	r = buf_printf(out,
		       "Usage: burrow admin COMMAND [options]\n\n"
		       "Manage a burrow edge through its HTTPS admin API: applications, access policies,\n"
		       "service tokens, tunnels, routes, users, signing keys and sessions.\n");
	if (r == 0)
		r = help_cmd_list(out, NULL);
	if (r == 0)
		r = help_opts(out, "Global options (before or after the command)", admin_global_opts, width);
	if (r == 0)
		r = buf_printf(out, "%sRun 'burrow admin COMMAND --help' for a command's options.\n",
			       DURATIONS_HELP);
	return r;
}

/* ---- API errors ---- */

void admin_api_error(const admin_cmd_t *cmd, int status, const char *body, size_t len, char *err,
		     size_t errlen)
{
	char text[320] = "";
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *e = json_is_object(j) ? json_string_value(json_object_get(j, "error")) : NULL;

	if (e && *e)
		admin_sanitize(e, text, sizeof(text));
	json_decref(j);
	if (status == 401)
		snprintf(err, errlen, "edge refused the admin token (401): %s",
			 *text ? text
			       : "pass the edge's admin token with --token-file FILE or BURROW_ADMIN_TOKEN_FILE");
	else if (*text)
		snprintf(err, errlen, "%s%s%s failed (%d): %s", cmd->group, SEP(cmd), cmd->name, status,
			 text);
	else
		snprintf(err, errlen,
			 "%s%s%s failed (%d) and the edge sent no error text: is --url the edge's admin "
			 "listener?",
			 cmd->group, SEP(cmd), cmd->name, status);
}
