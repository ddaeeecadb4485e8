/* admin_cli.h — the `burrow admin` command table, argument parsing, help,
 * request building and output rendering.
 *
 * Everything here is pure (no network, no environment, no printing): a
 * command line becomes an admin_inv_t, an invocation becomes a request
 * (method, path, JSON body), and a response body becomes the text to print.
 * admin.c does the I/O. Help is generated from the same table the parser
 * dispatches on, so the two never drift. */
#ifndef BURROW_ADMIN_CLI_H
#define BURROW_ADMIN_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Exit codes of `burrow admin`. */
enum { ADMIN_EXIT_OK = 0, ADMIN_EXIT_FAIL = 1, ADMIN_EXIT_USAGE = 2 };

/* Option ids; 'h' is also the only short option. */
enum admin_opt_id {
	AOPT_HELP = 'h',
	AOPT_URL = 0x100,
	AOPT_TOKEN,
	AOPT_TOKEN_FILE,
	AOPT_CA,
	AOPT_JSON,
	AOPT_NAME,
	AOPT_HOSTNAME,
	AOPT_SESSION_DURATION,
	AOPT_APP,
	AOPT_ACTION,
	AOPT_INCLUDE,
	AOPT_REQUIRE,
	AOPT_EXCLUDE,
	AOPT_PRECEDENCE,
	AOPT_DURATION,
	AOPT_OUTPUT,
	AOPT_SINCE,
	AOPT_KIND,
	AOPT_FOLLOW,
	AOPT_EMAIL,
	AOPT_IDP,
	AOPT_ISSUER,
	AOPT_CLIENT_ID,
	AOPT_CLIENT_SECRET_FILE,
	AOPT_CA_FILE,
	AOPT_GROUPS_CLAIM,
	AOPT_SCOPES,
};

/* The edge's bounds on what `idp add` sends (POST /api/v1/idps). */
#define ADMIN_CLIENT_SECRET_MAX 1024
#define ADMIN_CA_PEM_MAX 49152

/* How a value is checked while parsing. */
enum admin_val_kind {
	AVAL_NONE = 0,	   /* flag without a value */
	AVAL_TEXT,	   /* any non-empty text */
	AVAL_NAME,	   /* admin_valid_name() */
	AVAL_DURATION,	   /* duration_parse(), 0 allowed */
	AVAL_DURATION_POS, /* duration_parse(), > 0 */
	AVAL_UINT,	   /* decimal 0..INT32_MAX */
	AVAL_ACTION,	   /* allow | deny | bypass | service_auth */
	AVAL_HOSTNAME,	   /* hostname_normalize() (core/hostname.h) */
	AVAL_EMAIL,	   /* admin_valid_email() */
};

#define AOPT_REQUIRED 1u
#define AOPT_REPEAT 2u

typedef struct admin_opt {
	const char *name;    /* long name without "--"; NULL ends a list */
	int id;		     /* enum admin_opt_id */
	int kind;	     /* enum admin_val_kind */
	const char *metavar; /* value placeholder in help, NULL for flags */
	unsigned flags;	     /* AOPT_REQUIRED, AOPT_REPEAT */
	const char *help;
} admin_opt_t;

typedef struct admin_arg {
	int id;
	const char *val; /* points into argv */
} admin_arg_t;

struct admin_cmd;

typedef struct admin_group {
	const char *name;
	const char *summary;
} admin_group_t;

/* One parsed command line. Strings point into argv. */
typedef struct admin_inv {
	const admin_group_t *group;  /* NULL: top level (help only) */
	const struct admin_cmd *cmd; /* NULL: group level (help only) */
	bool json;
	const char *url, *token, *token_file, *ca; /* from flags; NULL when not given */
	const char *pos;	      /* the positional argument, if the command takes one */
	const char *pos2;	      /* the second one, if it takes two */
	admin_arg_t *args;	      /* command options in command-line order */
	size_t nargs;
	char **vec; /* private: argv copy handed to getopt_long */
	long long after; /* stream commands: the last record already shown */
	const char *password; /* password commands: read by admin.c before build; never from argv */
	size_t password_len;
	/* --client-secret-file and --ca-file: read by admin.c before build */
	const char *client_secret; /* wiped and freed by admin.c */
	size_t client_secret_len;
	const char *ca_pem;
} admin_inv_t;

/* An HTTP request to the admin API. */
typedef struct admin_request {
	const char *method;
	char path[320];
	char *body; /* malloc'd JSON text or NULL; caller frees */
} admin_request_t;

/* What a command prints. */
typedef struct admin_out {
	buf_t out;   /* for stdout */
	buf_t info;  /* for stderr (confirmations that must stay off stdout) */
	int64_t now; /* Unix time, to mark expired tokens */
} admin_out_t;

typedef struct admin_cmd {
	const char *group;
	const char *name;
	const char *arg;      /* positional placeholder ("NAME") or NULL */
	int arg_kind;	      /* enum admin_val_kind of the positional */
	const char *arg_help; /* help line for the positional */
	const char *arg2;     /* a second positional placeholder ("HOSTNAME") or NULL */
	int arg2_kind;
	const char *arg2_help;
	const char *summary;  /* one line for command lists */
	const char *help;     /* paragraph for the command's own help, or NULL */
	const admin_opt_t *opts;
	bool secret; /* the response carries a one-time secret */
	/* Extra checks across options; NULL when none. 0 or ERR_INVAL + err. */
	int (*check)(const admin_inv_t *inv, char *err, size_t errlen);
	/* Fills req. 0 or ERR_NOMEM. */
	int (*build)(const admin_inv_t *inv, admin_request_t *req);
	/* Turns a 2xx response into text. 0, or ERR_PROTO + err when the
	 * response does not have the documented shape. */
	int (*render)(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen);
	/* Renders --json itself (JSON lines) and may --follow: the response's
	 * "next" becomes inv->after for the next request. */
	bool stream;
	/* Reads a password from stdin (admin.c: prompted twice without echo on a
	 * terminal, else one line) into inv->password before build; the request
	 * body holds it and is wiped after sending. */
	bool password;
} admin_cmd_t;

/* `burrow admin audit` (admin_audit.c) */
extern const admin_opt_t admin_audit_opts[];
int admin_audit_check(const admin_inv_t *inv, char *err, size_t errlen);
int admin_audit_build(const admin_inv_t *inv, admin_request_t *req);
int admin_audit_render(const admin_inv_t *inv, json_t *resp, admin_out_t *out, char *err, size_t errlen);

extern const admin_group_t admin_groups[]; /* ends with {NULL} */
extern const admin_cmd_t admin_cmds[];	   /* ends with {NULL} */
extern const admin_opt_t admin_global_opts[];

/* Result of admin_cli_parse besides errors. */
enum { ADMIN_PARSE_RUN = 0, ADMIN_PARSE_HELP = 1, ADMIN_PARSE_HELP_USAGE = 2 };

/* Parses argv (argv[0] is "admin"). Returns ADMIN_PARSE_RUN (inv->cmd set),
 * ADMIN_PARSE_HELP (help for the level in inv was asked for: print it on
 * stdout, exit 0), ADMIN_PARSE_HELP_USAGE (no command at this level: print
 * its help on stderr, exit 2), or ERR_INVAL / ERR_NOMEM with one line in err
 * (exit 2). Call admin_inv_free() in every case. */
int admin_cli_parse(int argc, char **argv, admin_inv_t *inv, char *err, size_t errlen);
void admin_inv_free(admin_inv_t *inv);
/* Last value of an option, or NULL. */
const char *admin_inv_get(const admin_inv_t *inv, int id);
/* Number of values given for an option. */
size_t admin_inv_count(const admin_inv_t *inv, int id);

/* Appends the help of the level in inv (top, group or command). */
int admin_cli_help(const admin_inv_t *inv, buf_t *out);

/* Formats a non-2xx response as one line, e.g. "app create failed (409):
 * <the edge's error text>"; a 401 names the admin token. */
void admin_api_error(const admin_cmd_t *cmd, int status, const char *body, size_t len, char *err,
		     size_t errlen);

#endif
