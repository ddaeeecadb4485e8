/* edge_main.c — `burrow edge`: the burrow-edge executable.
 *
 * Kept apart from the burrow binary so libraries only the edge needs
 * (SQLite now; libcurl, libpq, ldns later) never load into the client's and
 * connector's processes (docs/design.md "Client start-up"). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/cli.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "core/tls.h"
#include "edge/audit/audit.h"
#include "edge/edge.h"

#define BURROW_STR_(x) #x
#define BURROW_STR(x) BURROW_STR_(x)

#define EDGE_USAGE                                                                                           \
	"Usage: burrow edge [options]\n\n"                                                                   \
	"Runs the edge: TLS for every application hostname, the admin API, and the tunnel\n"                 \
	"listener where connectors register. The first start creates the data directory:\n"                 \
	"ca.pem (the CA clients trust through BURROW_CA), ca-key.pem, admin-token, burrow.db."

static int mkdir_p(const char *dir)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Reads the admin token, creating it (0600) on first start. A file others
 * can read, or one that holds anything but a token, stops the start with
 * one line in err saying what to do. */
static int load_admin_token(const char *dir, uint8_t hash[32], char *err, size_t errlen)
{
	char path[4096], tok[65];
	char *have = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/admin-token", dir);
	int r = secret_file_read(path, "admin token", ADMIN_TOKEN_MAX, &have, &n, err, errlen);
	if (r == 0) {
		model_hash_secret(have, n, hash);
		OPENSSL_cleanse(have, n);
		free(have);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	unsigned char rnd[32];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, errlen, "cannot create %s: no random bytes", path);
		return ERR_NOMEM;
	}
	for (int i = 0; i < 32; i++)
		snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return r;
	}
	tok[64] = '\n';
	ssize_t w = write(fd, tok, 65);
	close(fd);
	if (w != 65) {
		snprintf(err, errlen, "cannot write %s: %s", path, w < 0 ? strerror(errno) : "short write");
		OPENSSL_cleanse(tok, sizeof(tok));
		return ERR_INVAL;
	}
	model_hash_secret(tok, 64, hash);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	log_info("created admin token %s (mode 0600)", path);
	return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
	edge_t *e = s->data;
	log_info("received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
	edge_drain(e); /* a second signal stops at once */
}

/* A whole number 0..1,000,000 (0 = no cap); -1 otherwise. */
/* Names the edge mints certificates for freely: its apps' hostnames. Its
 * own names are in the default certificate already. */
static bool serves_host(void *arg, const char *host)
{
	const edge_t *e = arg;
	return model_app_by_host(e->model, host) != NULL || edge_is_admin_host(e, host);
}

static long parse_cap(const char *v)
{
	char *end = NULL;
	if (*v < '0' || *v > '9')
		return -1;
	long n = strtol(v, &end, 10);
	return *end || n > 1000000 ? -1 : n;
}

static void listen_host(const char *addr, char *out, size_t outlen)
{
	char port[8];
	if (addr_split(addr, NULL, out, outlen, port, sizeof(port)) != 0)
		out[0] = '\0';
}

int main(int argc, char **argv)
{
	const char *data_dir = NULL, *listen = "127.0.0.1:8443", *tunnel_listen = "127.0.0.1:7844";
	const char *metrics = NULL, *loglevel = "info", *logfile = NULL;
	const char *max_unauth = NULL, *grace = "30s", *audit_log = NULL, *audit_retention = "90d";
	const char *hb_interval = LIVENESS_HB_INTERVAL, *hb_count = LIVENESS_HB_COUNT;
	const char *keepalive = LIVENESS_KEEPALIVE;
	cli_list_t names = {0}, certs = {0}, keys = {0}, admin_hosts = {0};
	const cli_opt_t opts[] = {
		{"data-dir", 0, CLI_STR, &data_dir, "DIR", "BURROW_DATA_DIR",
		 "state: CA, keys, admin token, database (default $BURROW_HOME/edge); edges sharing it share state", NULL},
		{"listen", 0, CLI_STR, &listen, "ADDR", "BURROW_LISTEN",
		 "apps and admin API, TLS (default 127.0.0.1:8443)", NULL},
		{"tunnel-listen", 0, CLI_STR, &tunnel_listen, "ADDR", "BURROW_TUNNEL_LISTEN",
		 "connectors' tunnels, TLS + HTTP/2 (default 127.0.0.1:7844)", NULL},
		{"admin-hostname", 0, CLI_LIST, &admin_hosts, "HOST", NULL,
		 "a hostname the admin API answers on, besides the edge's IP addresses (never on an app's "
		 "hostname)",
		 NULL},
		{"name", 0, CLI_LIST, &names, "HOST", NULL,
		 "a DNS name or IP clients use to reach the edge without SNI, added to its certificate", NULL},
		{"tls-cert", 0, CLI_LIST, &certs, "FILE", NULL,
		 "PEM certificate chain to serve for the names it covers (pair with --tls-key)", NULL},
		{"tls-key", 0, CLI_LIST, &keys, "FILE", NULL, "PEM private key of the matching --tls-cert", NULL},
		{"max-unauth-per-addr", 0, CLI_STR, &max_unauth, "N", "BURROW_MAX_UNAUTH_PER_ADDR",
		 "connections one address (IPv4, or IPv6 /64) may hold on each listener before they "
		 "authenticate; more are reset at once (default " BURROW_STR(EDGE_MAX_UNAUTH_PER_ADDR)
		 ", 0 = no cap)",
		 NULL},
		{"audit-log", 0, CLI_STR, &audit_log, "FILE", "BURROW_AUDIT_LOG",
		 "also append every audit record to FILE as a JSON line (for log shippers; mode 0600)", NULL},
		{"audit-retention", 0, CLI_STR, &audit_retention, "DUR", "BURROW_AUDIT_RETENTION",
		 "how long the audit log keeps records (default 90d; burrow admin audit reads them)", NULL},
		{"grace-period", 0, CLI_STR, &grace, "DUR", "BURROW_GRACE_PERIOD",
		 "on SIGTERM, how long open sessions may finish while connectors move to other edges "
		 "(default 30s; a second signal stops at once)",
		 NULL},
		{"heartbeat-interval", 0, CLI_STR, &hb_interval, "DUR", "BURROW_HEARTBEAT_INTERVAL",
		 "a tunnel connection quiet this long is sent a heartbeat (default " LIVENESS_HB_INTERVAL ")", NULL},
		{"heartbeat-count", 0, CLI_STR, &hb_count, "N", "BURROW_HEARTBEAT_COUNT",
		 "heartbeats missed in a row before a tunnel connection is dead: its sessions end, new ones go "
		 "elsewhere (default " LIVENESS_HB_COUNT ")",
		 NULL},
		{"tcp-keepalive", 0, CLI_STR, &keepalive, "DUR", "BURROW_TCP_KEEPALIVE",
		 "TCP keepalive: a client or connector silent this long is given up and its sessions freed "
		 "(default " LIVENESS_KEEPALIVE ", 0 = off)",
		 NULL},
		{"metrics", 0, CLI_STR, &metrics, "ADDR", "BURROW_METRICS", "Prometheus metrics, plain HTTP", NULL},
		{"loglevel", 0, CLI_STR, &loglevel, "LEVEL", "BURROW_LOGLEVEL", "error, warn, info or debug",
		 NULL},
		{"logfile", 0, CLI_STR, &logfile, "FILE", "BURROW_LOGFILE", "append logs here instead of stderr",
		 NULL},
		{0},
	};
	int pos = 0;
	int r = cli_parse("edge", EDGE_USAGE, opts, argc, argv, &pos);
	if (r)
		return r == 1 ? 0 : 2;
	if (pos < argc) {
		fprintf(stderr, "burrow: edge: unexpected argument %s (see burrow edge --help)\n", argv[pos]);
		return 2;
	}
	long cap = max_unauth ? parse_cap(max_unauth) : EDGE_MAX_UNAUTH_PER_ADDR;
	if (cap < 0) {
		fprintf(stderr,
			"burrow: edge: --max-unauth-per-addr must be a whole number from 0 (no cap) to "
			"1000000, not %s\n",
			max_unauth);
		return 2;
	}
	int64_t grace_s = 0, retention_s = 0;
	if (duration_parse(grace, &grace_s) != 0) {
		fprintf(stderr, "burrow: edge: invalid --grace-period %s (e.g. 30s, 2m)\n", grace);
		return 2;
	}
	if (duration_parse(audit_retention, &retention_s) != 0 || retention_s <= 0) {
		fprintf(stderr, "burrow: edge: invalid --audit-retention %s (e.g. 90d, 720h)\n", audit_retention);
		return 2;
	}
	int lvl = log_parse_level(loglevel);
	if (lvl < 0) {
		fprintf(stderr, "burrow: edge: unknown log level %s: use error, warn, info or debug\n", loglevel);
		return 2;
	}
	log_set_level(lvl);
	log_set_role("edge");
	if (logfile && (r = log_set_file(logfile)) != 0) {
		fprintf(stderr, "burrow: edge: cannot open log file %s: %s\n", logfile, err_str(r));
		return 1;
	}
	char defdir[4096];
	if (!data_dir) {
		const char *home = getenv("BURROW_HOME");
		if (home && *home)
			snprintf(defdir, sizeof(defdir), "%s/edge", home);
		else
			snprintf(defdir, sizeof(defdir), "%s/.burrow/edge", getenv("HOME") ? getenv("HOME") : ".");
		data_dir = defdir;
	}
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (or a full quota) must fail the write, which the
	 * store reports, not kill the edge. */
	signal(SIGXFSZ, SIG_IGN);

	edge_t e = {0};
	int rc = 1; /* until the loop runs: a start-up failure frees what it made, and exits 1 */
	char err[4096 + 512]; /* room for a path and what went wrong */
	e.loop = uv_default_loop();
	e.data_dir = data_dir;
	e.grace_ms = (long long)grace_s * 1000;
	char lerr[160];
	if (liveness_parse(hb_interval, hb_count, keepalive, &e.live, lerr, sizeof(lerr)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", lerr);
		return 2;
	}
	static ratelimit_t rl; /* one per process, lives as long as it */
	e.rl = &rl;
	/* flags first: a wrong one must not create or open the data directory */
	for (int i = 0; i < admin_hosts.n; i++) {
		const char *h = admin_hosts.v[i];
		if (hostname_normalize(h, strlen(h), e.admin_hosts[e.nadmin_hosts]) != 0) {
			fprintf(stderr, "burrow: edge: --admin-hostname %s is not a valid hostname\n", h);
			rc = 2;
			goto out;
		}
		e.nadmin_hosts++;
	}
	if ((r = mkdir_p(data_dir)) != 0) {
		fprintf(stderr, "burrow: edge: cannot create data directory %s: %s\n", data_dir, err_str(r));
		goto out;
	}
	/* before the store: a token file others can read stops the start first */
	if (load_admin_token(data_dir, e.admin_hash, err, sizeof(err)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", err);
		goto out;
	}
	char dbpath[4096];
	snprintf(dbpath, sizeof(dbpath), "%s/burrow.db", data_dir);
	if (store_open(dbpath, &e.store, err, sizeof(err)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", err);
		goto out;
	}
	if ((r = store_load_model(e.store, &e.model)) != 0) {
		fprintf(stderr, "burrow: edge: cannot load configuration from %s: %s\n", dbpath, err_str(r));
		goto out;
	}
	e.sync_version = e.model->version;
	e.sync_seen = true;
	if (pki_open(data_dir, &e.pki, err, sizeof(err)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", err);
		goto out;
	}
	pki_set_known(e.pki, serves_host, &e);
	if (edge_unauth_init(&e, (uint32_t)cap) != 0) {
		fprintf(stderr, "burrow: edge: out of memory\n");
		goto out;
	}
	if (certs.n != keys.n) {
		fprintf(stderr, "burrow: edge: give each --tls-cert its --tls-key\n");
		rc = 2;
		goto out;
	}
	for (int i = 0; i < certs.n; i++)
		if (pki_add_user_cert(e.pki, certs.v[i], keys.v[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "burrow: edge: %s\n", err);
			goto out;
		}
	const char *san[CLI_LIST_MAX + 2];
	size_t nsan = 0;
	char lh[256], th[256];
	listen_host(listen, lh, sizeof(lh));
	listen_host(tunnel_listen, th, sizeof(th));
	if (lh[0] && strcmp(lh, "0.0.0.0") != 0 && strcmp(lh, "::") != 0)
		san[nsan++] = lh;
	if (th[0] && strcmp(th, lh) != 0 && strcmp(th, "0.0.0.0") != 0 && strcmp(th, "::") != 0)
		san[nsan++] = th;
	for (int i = 0; i < names.n; i++)
		san[nsan++] = names.v[i];
	e.app_ctx = pki_default_ctx(e.pki, san, nsan, 0);
	e.tunnel_ctx = pki_default_ctx(e.pki, san, nsan, 1);
	if (!e.app_ctx || !e.tunnel_ctx) {
		fprintf(stderr, "burrow: edge: cannot create TLS contexts\n");
		goto out;
	}
	if ((r = front_listen(&e, listen)) != 0) {
		fprintf(stderr, "burrow: edge: cannot listen on %s: %s\n", listen, err_str(r));
		goto out;
	}
	if ((r = tunnels_listen(&e, tunnel_listen)) != 0) {
		fprintf(stderr, "burrow: edge: cannot listen for tunnels on %s: %s\n", tunnel_listen, err_str(r));
		goto out;
	}
	if (metrics && (r = metrics_listen(&e, metrics)) != 0) {
		fprintf(stderr, "burrow: edge: cannot serve metrics on %s: %s\n", metrics, err_str(r));
		goto out;
	}
	char host[64], edge_name[160];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "edge");
	host[sizeof(host) - 1] = '\0';
	snprintf(edge_name, sizeof(edge_name), "%s/%s", host, listen);
	audit_opts_t ao = {.file = audit_log, .retention_s = retention_s, .edge_name = edge_name};
	if (audit_start(&e, &ao, err, sizeof(err)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", err);
		goto out;
	}
	if ((r = sessions_start(&e)) != 0) {
		fprintf(stderr, "burrow: edge: cannot start the session check: %s\n", err_str(r));
		goto out;
	}
	sync_start(&e);
	uv_signal_init(e.loop, &e.sigint);
	uv_signal_init(e.loop, &e.sigterm);
	e.sigint.data = e.sigterm.data = &e;
	uv_signal_start(&e.sigint, on_signal, SIGINT);
	uv_signal_start(&e.sigterm, on_signal, SIGTERM);
	log_info("edge ready: apps and admin API on %s, tunnels on %s, data in %s", listen, tunnel_listen,
		 data_dir);
	uv_run(e.loop, UV_RUN_DEFAULT);
	audit_stop(&e);
	rc = 0;
	/* Stopping: outstanding sessions end with the process; the store is
	 * consistent after every job (transactions). */
out:
	edge_unauth_free(&e);
	metrics_http_free(&e.metrics);
	store_close(e.store);
	model_free(e.model);
	pki_free(e.pki);
	SSL_CTX_free(e.app_ctx);
	SSL_CTX_free(e.tunnel_ctx);
	if (rc == 0)
		log_info("edge stopped");
	return rc;
}
