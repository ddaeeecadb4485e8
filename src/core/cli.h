/* cli.h — option tables: parsing (getopt_long), environment fallbacks and
 * --help text all come from one table, so help never drifts from behaviour. */
#ifndef BURROW_CLI_H
#define BURROW_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define CLI_LIST_MAX 16

typedef struct cli_list {
	const char *v[CLI_LIST_MAX];
	int n;
} cli_list_t;

enum cli_type { CLI_STR, CLI_LIST, CLI_FLAG };

typedef struct cli_opt {
	const char *name;  /* long option, without "--" */
	char short_name;   /* 0 when none */
	enum cli_type type;
	void *target;      /* const char **, cli_list_t *, or bool * */
	const char *arg;   /* placeholder in help, e.g. "ADDR" */
	const char *env;   /* environment variable read when the flag is absent */
	const char *help;
	const char *alias; /* another long name accepted, e.g. "service-token-id" */
} cli_opt_t;

/* Parses argv[1..] (argv[0] is the command name). Positional arguments are
 * left in argv[*first_pos .. argc). Returns 0, 1 when --help was printed, or
 * 2 after printing a one-line usage error to stderr. */
int cli_parse(const char *cmd, const char *usage, const cli_opt_t *opts, int argc, char **argv, int *first_pos);
void cli_help(FILE *out, const char *cmd, const char *usage, const cli_opt_t *opts);

#endif
