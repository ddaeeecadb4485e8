/* cli.c — table-driven option parsing. */
#include "core/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_OPTS 64

void cli_help(FILE *out, const char *cmd, const char *usage, const cli_opt_t *opts)
{
	fprintf(out, "%s\n\nOptions:\n", usage);
	for (const cli_opt_t *o = opts; o->name; o++) {
		char left[96];
		int n = snprintf(left, sizeof(left), "  %s%c%s--%s%s%s", o->short_name ? "-" : "",
				 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		(void)n;
		fprintf(out, "%-34s %s", left, o->help);
		if (o->env)
			fprintf(out, " [env %s]", o->env);
		if (o->type == CLI_LIST)
			fprintf(out, " (repeatable)");
		fputc('\n', out);
	}
	fprintf(out, "  -h, --help                         show this help\n");
	(void)cmd;
}

int cli_parse(const char *cmd, const char *usage, const cli_opt_t *opts, int argc, char **argv, int *first_pos)
{
	struct option lo[CLI_MAX_OPTS * 2 + 2];
	char so[CLI_MAX_OPTS * 2 + 4];
	int n = 0, sn = 0;
	so[sn++] = '+'; /* stop at the first positional: subcommands follow */
	so[sn++] = ':';
	int count = 0;
	for (const cli_opt_t *o = opts; o->name && count < CLI_MAX_OPTS; o++, count++) {
		int has = o->type == CLI_FLAG ? no_argument : required_argument;
		lo[n++] = (struct option){o->name, has, NULL, 1000 + count};
		if (o->alias)
			lo[n++] = (struct option){o->alias, has, NULL, 1000 + count};
		if (o->short_name) {
			so[sn++] = o->short_name;
			if (has == required_argument)
				so[sn++] = ':';
		}
	}
	lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n] = (struct option){0, 0, 0, 0};
	so[sn++] = 'h';
	so[sn] = '\0';

	bool seen[CLI_MAX_OPTS] = {0};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		int idx = -1;
		if (c == 'h') {
			cli_help(stdout, cmd, usage, opts);
			return 1;
		}
		if (c == '?' || c == ':') {
			const char *what = argv[optind - 1];
			fprintf(stderr, "burrow: %s: %s %s (see burrow %s --help)\n", cmd,
				c == ':' ? "missing value for" : "unknown option", what, cmd);
			return 2;
		}
		if (c >= 1000)
			idx = c - 1000;
		else
			for (int i = 0; i < count; i++)
				if (opts[i].short_name == c)
					idx = i;
		if (idx < 0)
			return 2;
		const cli_opt_t *o = &opts[idx];
		seen[idx] = true;
		switch (o->type) {
		case CLI_STR: *(const char **)o->target = optarg; break;
		case CLI_FLAG: *(bool *)o->target = true; break;
		case CLI_LIST: {
			cli_list_t *l = o->target;
			if (l->n >= CLI_LIST_MAX) {
				fprintf(stderr, "burrow: %s: --%s given more than %d times\n", cmd, o->name,
					CLI_LIST_MAX);
				return 2;
			}
			l->v[l->n++] = optarg;
			break;
		}
		}
	}
	for (int i = 0; i < count; i++) {
		const cli_opt_t *o = &opts[i];
		const char *ev = o->env ? getenv(o->env) : NULL;
		if (seen[i] || !ev || !*ev)
			continue;
		switch (o->type) {
		case CLI_STR: *(const char **)o->target = ev; break;
		case CLI_FLAG: *(bool *)o->target = strcmp(ev, "0") != 0 && strcmp(ev, "false") != 0; break;
		case CLI_LIST: {
			cli_list_t *l = o->target;
			l->v[l->n++] = ev;
			break;
		}
		}
	}
	*first_pos = optind;
	return 0;
}
