/* login_cmd.c — `burrow access login|token|logout` (login_cmd.h).
 *
 * Must never: print a token anywhere but `access token`'s stdout, or take
 * one from argv. */
#include "access/login_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access/app_token.h"
#include "access/token_cache.h"
#include "admin/admin_util.h"
#include "core/cli.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/hostname.h"

#define LOGIN_USAGE                                                                                          \
	"Usage: burrow access login https://HOST [options]\n"                                                \
	"       burrow access token --app https://HOST\n"                                                    \
	"       burrow access logout https://HOST\n\n"                                                       \
	"`login` logs you in to the application at HOST in a browser and caches its app token\n"             \
	"in $BURROW_HOME/access/HOST.token (mode 0600; BURROW_HOME defaults to ~/.burrow).\n"                \
	"It prints the login URL and a code on stderr, opens the URL in $BROWSER or xdg-open,\n"             \
	"and waits until you allowed the login on the page showing that code.\n"                             \
	"`token` prints the cached token while it is valid (exit 1 when there is none);\n"                   \
	"`logout` deletes it. `burrow access ssh` uses the cached token and logs in when there\n"            \
	"is none. HOST may be given with or without https://."

int access_login_timeout(const char *cmd, const char *s, int64_t *secs)
{
	if (!s) {
		*secs = LOGIN_TIMEOUT_DEFAULT;
		return 0;
	}
	if (duration_parse(s, secs) != 0 || *secs <= 0) {
		fprintf(stderr,
			"burrow: %s: invalid --login-timeout %s: expected a duration such as 90s or 5m\n",
			cmd, s);
		return 2;
	}
	return 0;
}

/* "https://HOST", "https://HOST/" or "HOST" into a normalised hostname. */
static int parse_app(const char *cmd, const char *s, char host[HOSTNAME_MAX + 1])
{
	const char *h = s;
	size_t n;
	if (strncasecmp(h, "https://", 8) == 0)
		h += 8;
	else if (strncasecmp(h, "http://", 7) == 0) {
		fprintf(stderr, "burrow: %s: %s: applications are reached over https://, not http://\n", cmd,
			s);
		return 2;
	}
	n = strlen(h);
	if (n > 0 && h[n - 1] == '/')
		n--;
	if (hostname_normalize(h, n, host) != 0) {
		fprintf(stderr,
			"burrow: %s: invalid application %s: expected https://HOST or HOST, e.g. "
			"https://ssh.example.com\n",
			cmd, s);
		return 2;
	}
	return 0;
}

static int do_token(const char *cmd, const char *host)
{
	token_cache_t tc;
	char err[PATH_MAX * 2 + 200], *tok;
	size_t len;
	int64_t exp;
	if (token_cache_init(&tc, NULL, host) != 0) {
		fprintf(stderr, "burrow: %s: the token cache path is too long (check BURROW_HOME)\n", cmd);
		return 1;
	}
	int r = token_cache_read(&tc, (int64_t)time(NULL), &tok, &len, &exp, err, sizeof(err));
	if (r != 0) {
		if (err[0])
			fprintf(stderr, "burrow: %s: %s\n", cmd, err);
		else
			fprintf(stderr,
				"burrow: %s: no valid token for %s: run burrow access login https://%s\n",
				cmd, host, host);
		return 1;
	}
	bool ok = fwrite(tok, 1, len, stdout) == len && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
	token_free(tok, len);
	return ok ? 0 : 1;
}

static int do_logout(const char *cmd, const char *host)
{
	token_cache_t tc;
	char err[PATH_MAX + 200];
	if (token_cache_init(&tc, NULL, host) != 0) {
		fprintf(stderr, "burrow: %s: the token cache path is too long (check BURROW_HOME)\n", cmd);
		return 1;
	}
	int r = token_cache_delete(&tc, err, sizeof(err));
	if (r == 0)
		fprintf(stderr, "burrow: logged out of %s: deleted %s\n", host, tc.path);
	else if (r == ERR_NOTFOUND)
		fprintf(stderr, "burrow: not logged in to %s: no cached token\n", host);
	else
		fprintf(stderr, "burrow: %s: %s\n", cmd, err);
	return r == 0 || r == ERR_NOTFOUND ? 0 : 1;
}

static int do_login(const char *host, const login_req_t *lr)
{
	token_cache_t tc;
	char *tok, when[40];
	size_t len;
	int64_t exp;
	if (app_token_get(lr, APP_TOKEN_FRESH, NULL, &tok, &len, &exp) != 0)
		return 1;
	token_free(tok, len);
	token_cache_init(&tc, NULL, host);
	admin_format_time(exp, when, sizeof(when));
	fprintf(stderr, "burrow: logged in to %s until %s (token cached in %s)\n", host, when, tc.path);
	return 0;
}

int access_login_main(const char *sub, int argc, char **argv)
{
	const char *app = NULL, *edge = NULL, *ca = NULL, *timeout_s = NULL;
	bool no_browser = false;
	const cli_opt_t opts[] = {
	    {"app", 0, CLI_STR, &app, "URL", NULL, "the application, https://HOST (or a positional argument)",
	     NULL},
	    {"edge", 0, CLI_STR, &edge, "ADDR", "BURROW_EDGE", "edge address HOST:PORT (default HOST:443)",
	     NULL},
	    {"ca", 0, CLI_STR, &ca, "FILE", "BURROW_CA", "PEM CA bundle trusted besides the system roots",
	     NULL},
	    {"login-timeout", 0, CLI_STR, &timeout_s, "DURATION", "BURROW_LOGIN_TIMEOUT",
	     "login: give up after this long (default 5m)", NULL},
	    {"no-browser", 0, CLI_FLAG, &no_browser, NULL, "BURROW_NO_BROWSER",
	     "login: print the URL only, do not open a browser", NULL},
	    {0},
	};
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "access %s", sub);
	/* The application may come first (burrow access login https://HOST
	 * --login-timeout 1m) or last. */
	const char *pos_app = NULL;
	if (argc > 1 && argv[1][0] != '-') {
		pos_app = argv[1];
		argc--;
		argv++;
	}
	int pos = 0;
	int r = cli_parse(cmd, LOGIN_USAGE, opts, argc, argv, &pos);
	if (r)
		return r == 1 ? 0 : 2;
	if (!pos_app && pos < argc)
		pos_app = argv[pos++];
	if (pos < argc) {
		fprintf(stderr, "burrow: %s: unexpected argument %s (see burrow %s --help)\n", cmd, argv[pos],
			cmd);
		return 2;
	}
	if (pos_app && app && strcmp(pos_app, app) != 0) {
		fprintf(stderr, "burrow: %s: two applications given (%s and --app %s): pass one\n", cmd,
			pos_app, app);
		return 2;
	}
	if (!app)
		app = pos_app;
	if (!app) {
		fprintf(stderr, "burrow: %s: missing the application: burrow %s %shttps://HOST\n", cmd, cmd,
			strcmp(sub, "token") == 0 ? "--app " : "");
		return 2;
	}
	char host[HOSTNAME_MAX + 1];
	if ((r = parse_app(cmd, app, host)) != 0)
		return r;
	if (strcmp(sub, "token") == 0)
		return do_token(cmd, host);
	if (strcmp(sub, "logout") == 0)
		return do_logout(cmd, host);
	login_req_t lr = {.host = host, .edge = edge, .ca_file = ca, .no_browser = no_browser};
	if ((r = access_login_timeout(cmd, timeout_s, &lr.timeout)) != 0)
		return r;
	return do_login(host, &lr);
}
