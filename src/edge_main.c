/* edge_main.c — `burrow edge`: the burrow-edge executable. Parses the
 * command line; the edge's life is edge/lifecycle.c.
 *
 * Kept apart from the burrow binary so libraries only the edge needs
 * (SQLite now; libcurl, libpq, ldns later) never load into the client's and
 * connector's processes (docs/design.md "Client start-up"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/log.h"
#include "edge/edge.h"

#define BURROW_STR_(x) #x
#define BURROW_STR(x) BURROW_STR_(x)

#define EDGE_USAGE                                                                                           \
	"Usage: burrow edge [options]\n\n"                                                                   \
	"Runs the edge: TLS for every application hostname, the admin API, and the tunnel\n"                 \
	"listener where connectors register. The first start creates the data directory:\n"                 \
	"ca.pem (the CA clients trust through BURROW_CA), ca-key.pem, admin-token, burrow.db."

/* A whole number 0..1,000,000 (0 = no cap); -1 otherwise. */
static long parse_cap(const char *v)
{
	char *end = NULL;
	if (*v < '0' || *v > '9')
		return -1;
	long n = strtol(v, &end, 10);
	return *end || n > 1000000 ? -1 : n;
}

int main(int argc, char **argv)
{
	const char *data_dir = NULL, *listen = "127.0.0.1:8443", *tunnel_listen = "127.0.0.1:7844";
	const char *metrics = NULL, *loglevel = "info", *logfile = NULL;
	const char *max_unauth = NULL, *grace = "30s", *audit_log = NULL, *audit_retention = "90d";
	const char *hb_interval = LIVENESS_HB_INTERVAL, *hb_count = LIVENESS_HB_COUNT;
	const char *keepalive = LIVENESS_KEEPALIVE, *auth_domain = NULL;
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
		{"auth-domain", 0, CLI_STR, &auth_domain, "HOST[:PORT]", "BURROW_AUTH_DOMAIN",
		 "where people log in (single sign-on): login pages, org session, token issuer; a hostname "
		 "that resolves to this edge (:PORT when it is not 443)",
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

	edge_opts_t o = {
	    .data_dir = data_dir,
	    .listen = listen,
	    .tunnel_listen = tunnel_listen,
	    .metrics = metrics,
	    .admin_hosts = (const char *const *)admin_hosts.v,
	    .nadmin_hosts = admin_hosts.n,
	    .names = (const char *const *)names.v,
	    .nnames = names.n,
	    .certs = (const char *const *)certs.v,
	    .ncerts = certs.n,
	    .keys = (const char *const *)keys.v,
	    .nkeys = keys.n,
	    .max_unauth = (uint32_t)cap,
	    .grace_ms = (long long)grace_s * 1000,
	    .audit_log = audit_log,
	    .auth_domain = auth_domain,
	    .audit_retention_s = retention_s,
	};
	char lerr[160];
	if (liveness_parse(hb_interval, hb_count, keepalive, &o.live, lerr, sizeof(lerr)) != 0) {
		fprintf(stderr, "burrow: edge: %s\n", lerr);
		return 2;
	}
	edge_t e = {0};
	char err[4096 + 512]; /* room for a path and what went wrong */
	int rc = edge_open(&e, &o, err, sizeof(err));
	if (rc == 0)
		edge_run(&e);
	else
		fprintf(stderr, "burrow: edge: %s\n", err);
	edge_close(&e, rc == 0);
	return rc;
}
