/* lifecycle.c — the edge's life: open (everything it needs, in an order
 * where a wrong flag or file stops it before anything is created), run (the
 * loop, until drained: edge/drain.c), close. edge_main.c only parses the
 * command line. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/hostname.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "edge/audit/audit.h"
#include "edge/auth/keys.h"
#include "edge/edge.h"
#include "edge/oidc/oidc.h"
#include "edge/sessions/sessions.h"

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

/* Names the edge mints certificates for freely: its apps' hostnames. Its
 * own names are in the default certificate already. */
static bool serves_host(void *arg, const char *host)
{
	const edge_t *e = arg;
	return model_app_by_host(e->model, host) != NULL || edge_is_admin_host(e, host) ||
	       (e->auth_host[0] && strcmp(host, e->auth_host) == 0);
}

/* --auth-domain HOST[:PORT]: the host people log in on, and the origin
 * (https://HOST[:PORT]) that every token signed here names as issuer. */
static int parse_auth_domain(edge_t *e, const char *v, char *err, size_t errlen)
{
	char host[HOSTNAME_MAX + 1];
	const char *colon = strrchr(v, ':');
	size_t hlen = colon ? (size_t)(colon - v) : strlen(v);
	long port = 443;
	if (colon) {
		char *end = NULL;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 || port > 65535)
			hlen = 0; /* (refused below) */
	}
	if (hlen == 0 || hlen > HOSTNAME_MAX || hostname_normalize(v, hlen, host) != 0) {
		snprintf(err, errlen,
			 "--auth-domain %s is not a hostname with an optional :PORT (e.g. auth.site.test)",
			 v);
		return 2;
	}
	memcpy(e->auth_host, host, strlen(host) + 1);
	if (port == 443)
		snprintf(e->auth_origin, sizeof(e->auth_origin), "https://%s", host);
	else
		snprintf(e->auth_origin, sizeof(e->auth_origin), "https://%s:%ld", host, port);
	return 0;
}

static void listen_host(const char *addr, char *out, size_t outlen)
{
	char port[8];
	if (addr_split(addr, NULL, out, outlen, port, sizeof(port)) != 0)
		out[0] = '\0';
}

/* Opens in this order, so a wrong flag or file stops the start before
 * anything is created: flags, data directory, admin token, store and model,
 * certificates, listeners, audit, session checks, sync, signals. */
int edge_open(edge_t *e, const edge_opts_t *o, char *err, size_t errlen)
{
	int r;
	e->loop = uv_default_loop();
	e->data_dir = o->data_dir;
	e->grace_ms = o->grace_ms;
	e->live = o->live;
	static ratelimit_t rl; /* one per process, lives as long as it */
	e->rl = &rl;
	/* flags first: a wrong one must not create or open the data directory */
	for (int i = 0; i < o->nadmin_hosts; i++) {
		const char *h = o->admin_hosts[i];
		if (hostname_normalize(h, strlen(h), e->admin_hosts[e->nadmin_hosts]) != 0) {
			snprintf(err, errlen, "--admin-hostname %s is not a valid hostname", h);
			return 2;
		}
		e->nadmin_hosts++;
	}
	if (o->auth_domain && (r = parse_auth_domain(e, o->auth_domain, err, errlen)) != 0)
		return r;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return 1;
	}
	if ((r = mkdir_p(o->data_dir)) != 0) {
		snprintf(err, errlen, "cannot create data directory %s: %s", o->data_dir, err_str(r));
		return 1;
	}
	/* before the store: a token file others can read stops the start first */
	if (load_admin_token(o->data_dir, e->admin_hash, err, errlen) != 0)
		return 1;
	char dbpath[4096];
	snprintf(dbpath, sizeof(dbpath), "%s/burrow.db", o->data_dir);
	if (store_open(dbpath, &e->store, err, errlen) != 0)
		return 1;
	if (keys_ensure(e->store, err, errlen) != 0)
		return 1;
	if ((r = store_load_model(e->store, &e->model)) != 0) {
		snprintf(err, errlen, "cannot load configuration from %s: %s", dbpath, err_str(r));
		return 1;
	}
	e->sync_version = e->model->version;
	e->sync_seen = true;
	if (pki_open(o->data_dir, &e->pki, err, errlen) != 0)
		return 1;
	pki_set_known(e->pki, serves_host, e);
	if (edge_unauth_init(e, o->max_unauth) != 0) {
		snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (o->ncerts != o->nkeys) {
		snprintf(err, errlen, "give each --tls-cert its --tls-key");
		return 2;
	}
	for (int i = 0; i < o->ncerts; i++)
		if (pki_add_user_cert(e->pki, o->certs[i], o->keys[i], err, errlen) != 0)
			return 1;
	const char *san[CLI_LIST_MAX + 2];
	size_t nsan = 0;
	char lh[256], th[256];
	listen_host(o->listen, lh, sizeof(lh));
	listen_host(o->tunnel_listen, th, sizeof(th));
	if (lh[0] && strcmp(lh, "0.0.0.0") != 0 && strcmp(lh, "::") != 0)
		san[nsan++] = lh;
	if (th[0] && strcmp(th, lh) != 0 && strcmp(th, "0.0.0.0") != 0 && strcmp(th, "::") != 0)
		san[nsan++] = th;
	for (int i = 0; i < o->nnames && nsan < sizeof(san) / sizeof(san[0]); i++)
		san[nsan++] = o->names[i];
	e->app_ctx = pki_default_ctx(e->pki, san, nsan, 0);
	e->tunnel_ctx = pki_default_ctx(e->pki, san, nsan, 1);
	if (!e->app_ctx || !e->tunnel_ctx) {
		snprintf(err, errlen, "cannot create TLS contexts");
		return 1;
	}
	if ((r = front_listen(e, o->listen)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->listen, err_str(r));
		return 1;
	}
	if ((r = tunnels_listen(e, o->tunnel_listen)) != 0) {
		snprintf(err, errlen, "cannot listen for tunnels on %s: %s", o->tunnel_listen, err_str(r));
		return 1;
	}
	if (o->metrics && (r = metrics_listen(e, o->metrics)) != 0) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", o->metrics, err_str(r));
		return 1;
	}
	char host[64], edge_name[160];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "edge");
	host[sizeof(host) - 1] = '\0';
	snprintf(edge_name, sizeof(edge_name), "%s/%s", host, o->listen);
	audit_opts_t ao = {.file = o->audit_log, .retention_s = o->audit_retention_s, .edge_name = edge_name};
	if (audit_start(e, &ao, err, errlen) != 0)
		return 1;
	if ((r = sessions_start(e)) != 0) {
		snprintf(err, errlen, "cannot start the session check: %s", err_str(r));
		return 1;
	}
	sync_start(e);
	uv_signal_init(e->loop, &e->sigint);
	uv_signal_init(e->loop, &e->sigterm);
	e->sigint.data = e->sigterm.data = e;
	uv_signal_start(&e->sigint, on_signal, SIGINT);
	uv_signal_start(&e->sigterm, on_signal, SIGTERM);
	if (e->auth_host[0] && (r = oidc_init(e, &e->oidc)) != 0) {
		snprintf(err, errlen, "cannot start the OpenID Connect client: %s", err_str(r));
		return 1;
	}
	log_info("edge ready: apps and admin API on %s, tunnels on %s, data in %s", o->listen,
		 o->tunnel_listen, o->data_dir);
	return 0;
}

void edge_run(edge_t *e)
{
	uv_run(e->loop, UV_RUN_DEFAULT);
	/* Store jobs may still run on a worker thread (an audit flush comes
	 * every second) or wait in the queue: the store must outlive them, so
	 * they finish first; sync and the audit log start no new ones. */
	e->stopping = true;
	if (e->oidc) { /* logins in flight end with the process */
		oidc_close(e->oidc);
		e->oidc = NULL;
	}
	audit_hold(e);
	while (e->job_running || e->jobs)
		uv_run(e->loop, UV_RUN_ONCE);
	/* Stopped (drained, or a second signal): what the audit log still
	 * holds goes to the store; sessions end with the process, and the
	 * store is consistent after every job (transactions). */
	audit_stop(e);
	uv_run(e->loop, UV_RUN_NOWAIT); /* (handles closed above free themselves) */
}

void edge_close(edge_t *e, bool ran)
{
	if (e->oidc) { /* (a start that failed after oidc_init) */
		oidc_close(e->oidc);
		e->oidc = NULL;
		uv_run(e->loop, UV_RUN_NOWAIT);
	}
	edge_unauth_free(e);
	metrics_http_free(&e->metrics);
	store_close(e->store);
	model_free(e->model);
	pki_free(e->pki);
	transfer_free_all(e);
	SSL_CTX_free(e->app_ctx);
	SSL_CTX_free(e->tunnel_ctx);
	if (ran)
		log_info("edge stopped");
}
