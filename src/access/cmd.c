/* cmd.c — `burrow access ssh|tcp|ssh-config` (login|token|logout: login_cmd.c). */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access/access.h"
#include "access/app_token.h"
#include "access/carrier.h"
#include "access/login_cmd.h"
#include "access/token_cache.h"
#include "core/addr.h"
#include "core/buf.h"
#include "core/cli.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "core/stdio_pump.h"
#include "core/tls.h"

#define ACCESS_USAGE                                                                                         \
	"Usage: burrow access ssh --hostname HOST [--id ID --secret-file FILE]\n"                            \
	"       burrow access tcp --hostname HOST --url LISTEN_ADDR [--id ID --secret-file FILE]\n"          \
	"       burrow access ssh-config --hostname HOST [--id ID --secret-file FILE]\n" ACCESS_LOGIN_USAGE  \
	"\n"                                                                                                 \
	"Reaches an application behind a burrow edge. `ssh` carries stdin/stdout (use it as\n"               \
	"OpenSSH's ProxyCommand); `tcp` listens locally and carries each connection;\n"                      \
	"`ssh-config` prints the ~/.ssh/config block. Without a service token (--id) they use\n"             \
	"your app token from `login`, and log you in first (a browser) when there is none.\n"                \
	"The edge is HOST:443 unless BURROW_EDGE=HOST:PORT says otherwise; BURROW_CA adds a\n"               \
	"trusted CA (the edge's ca.pem). A service token's secret belongs in a file only you\n"              \
	"can read (--secret-file, mode 0600): --secret puts it where `ps` shows it."

typedef struct access_opts {
	const char *hostname, *url, *id, *secret, *secret_file, *token, *edge, *ca, *destination, *loglevel,
	    *logfile, *login_timeout;
	bool short_lived_cert, no_browser;
} access_opts_t;

/* A person's app token for the session(s), renewed by a login when the
 * edge refuses it or it expires (tcp serves for hours). */
typedef struct access_login {
	login_req_t req;
	access_cfg_t *cfg;
	char *tok;
	size_t len;
	int64_t exp;
} access_login_t;

/* Gets a token into l (cached or from a login); rejected: the one the edge
 * refused, or NULL. 0, or 1 after a line on stderr. */
static int login_take(access_login_t *l, const char *rejected)
{
	char *tok;
	size_t len;
	int64_t exp;
	if (app_token_get(&l->req, APP_TOKEN_CACHED, rejected, &tok, &len, &exp) != 0)
		return 1;
	token_free(l->tok, l->len);
	l->tok = tok;
	l->len = len;
	l->exp = exp;
	l->cfg->app_token = tok;
	l->cfg->app_token_gen++;
	return 0;
}

/* carrier's relogin: the edge answered 401 to the current token. */
static int relogin(void *arg)
{
	access_login_t *l = arg;
	return login_take(l, l->tok);
}

static int tcp_serve(const access_cfg_t *cfg, const char *listen_addr);

static void on_stdio_done(int status, void *data)
{
	*(int *)data = status;
}

static int run_ssh(const access_cfg_t *cfg)
{
	int status = 1;
	static const conn_cbs_t none = {0}; /* the carrier takes it over */
	conn_t *c = conn_new(cfg->loop, &none, NULL);
	int r;
	if (!c)
		return 1;
	if ((r = conn_open_stdio(c)) != 0) {
		fprintf(stderr, "burrow: %s: cannot use stdin/stdout: %s (run as ssh's ProxyCommand)\n", cfg->hostname,
			err_str(r));
		conn_close(c);
		return 1;
	}
	if (carrier_start(cfg, c, on_stdio_done, &status) != 0) {
		conn_close(c);
		uv_run(cfg->loop, UV_RUN_DEFAULT);
		return 1;
	}
	uv_run(cfg->loop, UV_RUN_DEFAULT);
	stdio_pump_finish(); /* stdout may be a file fed by a pump thread */
	return status;
}

/* Appends arg to b as one word of the ProxyCommand: ssh expands %
 * tokens in it and hands the rest to the shell, so "%" is doubled and
 * anything but plain path characters is single-quoted. */
static void proxy_word(buf_t *b, const char *arg)
{
	bool plain = *arg != '\0';
	for (const char *p = arg; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-@:,=%", *p))
			plain = false;
	buf_append_str(b, plain ? " " : " '");
	for (const char *p = arg; *p; p++) {
		if (*p == '%')
			buf_append_str(b, "%%");
		else if (*p == '\'')
			buf_append_str(b, "'\\''");
		else
			buf_append(b, p, 1);
	}
	if (!plain)
		buf_append_str(b, "'");
}

/* Prints the Host block. With a service token it names the secret's file
 * (made absolute: ssh runs the command from anywhere), never the secret,
 * unless the user gave --secret itself. */
static int ssh_config(const char *hostname, const access_opts_t *o, const char *cmd)
{
	char exe[PATH_MAX], file[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "burrow: access: cannot find the path of this binary\n");
		return 1;
	}
	exe[n] = '\0';
	if (o->secret_file) {
		char err[512], *secret = NULL;
		size_t len;
		/* Checked now, so that a bad file shows here, not at every ssh. */
		if (secret_file_read(o->secret_file, "service token secret", SERVICE_SECRET_MAX, &secret,
				     &len, err, sizeof(err)) != 0) {
			fprintf(stderr, "burrow: %s: %s\n", cmd, err);
			return 1;
		}
		OPENSSL_cleanse(secret, len);
		free(secret);
		if (!realpath(o->secret_file, file)) {
			fprintf(stderr, "burrow: %s: cannot resolve %s: %s\n", cmd, o->secret_file,
				strerror(errno));
			return 1;
		}
	}
	buf_t b;
	buf_init(&b, 4 * PATH_MAX + 4096);
	buf_printf(&b, "Host %s\n  ProxyCommand", hostname);
	proxy_word(&b, exe);
	buf_printf(&b, " access ssh --hostname %%h");
	if (o->id) {
		buf_printf(&b, " --id");
		proxy_word(&b, o->id);
		buf_printf(&b, o->secret_file ? " --secret-file" : " --secret");
		proxy_word(&b, o->secret_file ? file : o->secret);
	}
	buf_printf(&b, "\n");
	const char *home = getenv("HOME");
	fprintf(stderr, "Add to your %s/.ssh/config:\n\n", home ? home : "~");
	if (o->short_lived_cert)
		fprintf(stderr, "burrow: access: --short-lived-cert is not available yet; printing the plain block\n");
	if (o->id && !o->secret_file)
		fprintf(stderr,
			"burrow: %s: warning: this block holds the secret itself, for anyone who reads the "
			"file or runs ps while ssh does; use --secret-file FILE (mode 0600) instead\n",
			cmd);
	int r = fwrite(buf_head(&b), 1, buf_used(&b), stdout) == buf_used(&b) ? 0 : 1;
	buf_free_secret(&b);
	return r;
}

/* The secret from --secret or --secret-file (or their variables). A flag
 * beats the other's variable; the two flags, or the two variables,
 * together are a mistake. Returns 0, or 2 after saying why. */
static int choose_secret(access_opts_t *o, const char *cmd)
{
	if (!o->secret || !o->secret_file)
		return 0;
	/* cli_parse hands out getenv()'s own pointer for a variable */
	bool secret_env = o->secret == getenv("BURROW_SERVICE_TOKEN_SECRET");
	bool file_env = o->secret_file == getenv("BURROW_SERVICE_TOKEN_SECRET_FILE");
	if (secret_env && !file_env) {
		o->secret = NULL;
		return 0;
	}
	if (file_env && !secret_env) {
		o->secret_file = NULL;
		return 0;
	}
	if (secret_env)
		fprintf(stderr,
			"burrow: %s: BURROW_SERVICE_TOKEN_SECRET_FILE and BURROW_SERVICE_TOKEN_SECRET are "
			"both set: "
			"unset one\n",
			cmd);
	else
		fprintf(stderr, "burrow: %s: pass --secret-file or --secret, not both\n", cmd);
	return 2;
}

static int access_run(const char *sub, int argc, char **argv)
{
	access_opts_t o = {0};
	o.loglevel = "warn";
	const cli_opt_t opts[] = {
	    {"hostname", 'T', CLI_STR, &o.hostname, "HOST", "BURROW_HOSTNAME", "application hostname",
	     "tunnel-host"},
	    {"url", 'L', CLI_STR, &o.url, "ADDR", "BURROW_ACCESS_URL",
	     "tcp: local address to listen on, e.g. 127.0.0.1:2222", "listener"},
	    {"id", 0, CLI_STR, &o.id, "ID", "BURROW_SERVICE_TOKEN_ID", "service token client id",
	     "service-token-id"},
	    {"secret-file", 0, CLI_STR, &o.secret_file, "FILE", "BURROW_SERVICE_TOKEN_SECRET_FILE",
	     "file holding the service token client secret, mode 0600", NULL},
	    {"secret", 0, CLI_STR, &o.secret, "SECRET", "BURROW_SERVICE_TOKEN_SECRET",
	     "service token client secret itself (other users see it in ps: prefer --secret-file)",
	     "service-token-secret"},
	    {"destination", 0, CLI_STR, &o.destination, "HOST:PORT", NULL,
	     "jump destination, passed to the edge", NULL},
	    {"edge", 0, CLI_STR, &o.edge, "ADDR", "BURROW_EDGE", "edge address HOST:PORT (default HOST:443)",
	     NULL},
	    {"ca", 0, CLI_STR, &o.ca, "FILE", "BURROW_CA", "PEM CA bundle trusted besides the system roots",
	     NULL},
	    {"login-timeout", 0, CLI_STR, &o.login_timeout, "DURATION", "BURROW_LOGIN_TIMEOUT",
	     "without a service token: give up a browser login after this long (default 5m)", NULL},
	    {"no-browser", 0, CLI_FLAG, &o.no_browser, NULL, "BURROW_NO_BROWSER",
	     "print the login URL only, do not open a browser", NULL},
	    {"short-lived-cert", 0, CLI_FLAG, &o.short_lived_cert, NULL, NULL,
	     "ssh-config: short-lived certificate block (not available yet)", NULL},
	    {"loglevel", 0, CLI_STR, &o.loglevel, "LEVEL", "BURROW_LOGLEVEL", "error, warn, info or debug",
	     "log-level"},
	    {"logfile", 0, CLI_STR, &o.logfile, "FILE", "BURROW_LOGFILE",
	     "append logs here instead of stderr", NULL},
	    {0},
	};
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "access %s", sub);
	int pos = 0;
	int r = cli_parse(cmd, ACCESS_USAGE, opts, argc, argv, &pos);
	if (r)
		return r == 1 ? 0 : 2;
	if (pos < argc) {
		fprintf(stderr, "burrow: %s: unexpected argument %s (see burrow access --help)\n", cmd, argv[pos]);
		return 2;
	}
	int lvl = log_parse_level(o.loglevel);
	if (lvl < 0) {
		fprintf(stderr, "burrow: %s: unknown log level %s\n", cmd, o.loglevel);
		return 2;
	}
	log_set_level(lvl);
	log_set_role("access");
	if (o.logfile && log_set_file(o.logfile) != 0) {
		fprintf(stderr, "burrow: %s: cannot open log file %s\n", cmd, o.logfile);
		return 1;
	}
	static access_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (!o.hostname) {
		fprintf(stderr, "burrow: %s: missing --hostname HOST\n", cmd);
		return 2;
	}
	/* %h from ssh arrives here unquoted: refuse anything that is not a
	 * plain hostname before it reaches a header or a log line. */
	if (hostname_normalize(o.hostname, strlen(o.hostname), cfg.hostname) != 0) {
		fprintf(stderr, "burrow: %s: invalid --hostname: expected a DNS name like ssh.example.com\n", cmd);
		return 2;
	}
	if ((r = choose_secret(&o, cmd)) != 0)
		return r;
	bool has_secret = o.secret || o.secret_file;
	if ((o.id && !has_secret) || (!o.id && has_secret)) {
		fprintf(stderr, "burrow: %s: a service token needs both --id and --secret\n", cmd);
		return 2;
	}
	if (strcmp(sub, "ssh-config") == 0)
		return ssh_config(cfg.hostname, &o, cmd);
	static access_login_t login;
	memset(&login, 0, sizeof(login));
	login.cfg = &cfg;
	login.req =
	    (login_req_t){.host = cfg.hostname, .edge = o.edge, .ca_file = o.ca, .no_browser = o.no_browser};
	if ((r = access_login_timeout(cmd, o.login_timeout, &login.req.timeout)) != 0)
		return r;
	char *secret_copy = NULL; /* read from --secret-file: wiped at the end */
	size_t secret_len = 0;
	if (o.secret_file) {
		char ferr[512];
		if (secret_file_read(o.secret_file, "service token secret", SERVICE_SECRET_MAX, &secret_copy,
				     &secret_len, ferr, sizeof(ferr)) != 0) {
			fprintf(stderr, "burrow: %s: %s\n", cmd, ferr);
			return 1;
		}
		o.secret = secret_copy;
	}
	char err[512];
	r = 1;
	/* A person, not a service: the cached app token, or a login once
	 * nothing else can fail at start (tcp: its listener is up). */
	if (!o.id) {
		cfg.relogin = relogin;
		cfg.relogin_arg = &login;
	}
	/* Deferred: the CA file is parsed while the edge answers the ClientHello. */
	cfg.ctx = tls_client_ctx(o.ca, true, (const unsigned char *)"\x08http/1.1", 9, err, sizeof(err));
	if (!cfg.ctx) {
		fprintf(stderr, "burrow: %s: %s\n", cmd, err);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	cfg.loop = uv_default_loop();
	cfg.edge = o.edge;
	cfg.token_id = o.id;
	cfg.token_secret = o.secret;
	cfg.destination = o.destination;
	if (strcmp(sub, "tcp") == 0 || o.url) {
		if (!o.url) {
			fprintf(stderr, "burrow: %s: missing --url ADDR to listen on, e.g. --url 127.0.0.1:2222\n", cmd);
			r = 2;
			goto out;
		}
		r = tcp_serve(&cfg, o.url);
	} else if (!cfg.relogin_arg || login_take(&login, NULL) == 0) {
		r = run_ssh(&cfg);
	}
out:
	SSL_CTX_free(cfg.ctx);
	token_free(login.tok, login.len);
	if (secret_copy) {
		OPENSSL_cleanse(secret_copy, secret_len);
		free(secret_copy);
	}
	return r;
}

/* ---- access tcp: a local listener, one session per connection ---- */

static void on_tcp_done(int status, void *data) {}

static void on_local_connection(uv_stream_t *server, int status)
{
	const access_cfg_t *cfg = server->data;
	if (status < 0)
		return;
	static const conn_cbs_t none = {0}; /* the carrier takes it over */
	access_login_t *l = cfg->relogin_arg;
	conn_t *c = conn_new(cfg->loop, &none, NULL);
	if (!c)
		return;
	if (conn_accept(c, server, NULL) != 0) {
		conn_close(c);
		return;
	}
	/* A token that expires before this session is set up: renew it first
	 * (a login blocks the other sessions until it is done); without one the
	 * connection is closed (the login said why). */
	if ((l && l->exp <= (int64_t)time(NULL) + TOKEN_CACHE_MARGIN && login_take(l, NULL) != 0) ||
	    carrier_start(cfg, c, on_tcp_done, NULL) != 0)
		conn_close(c);
}

static void on_stop_signal(uv_signal_t *s, int signum) { uv_stop(s->loop); }

static int tcp_serve(const access_cfg_t *cfg, const char *listen_addr)
{
	static uv_tcp_t listener;
	static uv_signal_t sig_int, sig_term;
	struct sockaddr_storage ss;
	int r;
	if (addr_parse_ip(listen_addr, &ss) != 0) {
		fprintf(stderr, "burrow: access tcp: invalid --url %s: expected IP:PORT, e.g. 127.0.0.1:2222\n",
			listen_addr);
		return 2;
	}
	uv_tcp_init(cfg->loop, &listener);
	listener.data = (void *)cfg;
	if ((r = uv_tcp_bind(&listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (r = uv_listen((uv_stream_t *)&listener, 128, on_local_connection)) != 0) {
		fprintf(stderr, "burrow: access tcp: cannot listen on %s: %s\n", listen_addr, err_str(r));
		return 1;
	}
	uv_signal_init(cfg->loop, &sig_int);
	uv_signal_init(cfg->loop, &sig_term);
	uv_signal_start(&sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&sig_term, on_stop_signal, SIGTERM);
	fprintf(stderr, "burrow: listening on %s for %s\n", listen_addr, cfg->hostname);
	if (cfg->relogin_arg && login_take(cfg->relogin_arg, NULL) != 0)
		return 1;
	uv_run(cfg->loop, UV_RUN_DEFAULT);
	return 0;
}

int access_main(int argc, char **argv)
{
	static const char *const subs[] = {"ssh", "tcp", "rdp", "smb", "ssh-config"};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("%s\n\nRun burrow access ssh --help for the options.\n", ACCESS_USAGE);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i]) == 0) {
			/* rdp and smb are tcp under another name, as in cloudflared. */
			const char *sub = (i == 2 || i == 3) ? "tcp" : subs[i];
			return access_run(sub, argc - 1, argv + 1);
		}
	static const char *const login_subs[] = {"login", "token", "logout"};
	for (size_t i = 0; i < sizeof(login_subs) / sizeof(login_subs[0]); i++)
		if (strcmp(argv[1], login_subs[i]) == 0)
			return access_login_main(login_subs[i], argc - 1, argv + 1);
	fprintf(stderr,
		"burrow: access: unknown subcommand %s: use ssh, tcp, ssh-config, login, token or logout\n",
		argv[1]);
	return 2;
}
