/* cmd.c — `burrow tunnel [run]`: flags, credentials, start-up, signals. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/addr.h"
#include "core/cli.h"
#include "core/duration.h"
#include "core/err.h"
#include "core/log.h"
#include "core/regmsg.h"
#include "core/tls.h"
#include "tunnel/tunnel.h"

#define TUNNEL_USAGE                                                                                         \
	"Usage: burrow tunnel run --credentials-file FILE --hostname HOST --url URL --edge ADDR [options]\n" \
	"       burrow tunnel --hostname HOST --url URL --credentials-file FILE --edge ADDR [options]\n\n"   \
	"Runs a connector: keeps outbound TLS+HTTP/2 connections to the edge and opens a\n"                  \
	"connection to the origin (--url) for every session the edge sends for --hostname.\n"                \
	"Create credentials on the edge with: burrow admin tunnel create NAME --hostname HOST > NAME.json\n" \
	"The edge serves only hostnames routed to the tunnel (burrow admin route add NAME HOST)\n"           \
	"and says which it does not; with none routed, the connector exits saying so.\n\n"                   \
	"Origins: ssh://HOST[:22], tcp://HOST:PORT, rdp://HOST[:3389]. Give --hostname/--url\n"              \
	"pairs to serve several hostnames."

static int load_credentials(connector_t *cn, const char *path)
{
	json_error_t je;
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		log_warn("credentials file %s is readable by others; chmod 600 it", path);
	json_t *j = json_load_file(path, 0, &je);
	if (!j) {
		fprintf(stderr, "burrow: tunnel: cannot read credentials file %s: %s\n", path, je.text);
		return ERR_INVAL;
	}
	const char *id = NULL, *secret = NULL, *name = "";
	if (json_unpack(j, "{s:s,s:s,s?s}", "tunnel_id", &id, "tunnel_secret", &secret, "tunnel_name", &name) !=
	    0) {
		fprintf(stderr,
			"burrow: tunnel: %s is not a tunnel credentials file (needs tunnel_id and tunnel_secret)\n",
			path);
		json_decref(j);
		return ERR_INVAL;
	}
	size_t secret_len = strlen(secret);
	if (secret_len > REG_MAX_SECRET) {
		fprintf(
		    stderr,
		    "burrow: tunnel: the tunnel secret in %s is %zu characters long; a tunnel secret has at "
		    "most %d (use the file that burrow admin tunnel create wrote)\n",
		    path, secret_len, REG_MAX_SECRET);
		OPENSSL_cleanse((void *)secret, secret_len);
		json_decref(j);
		return ERR_INVAL;
	}
	snprintf(cn->tunnel_id, sizeof(cn->tunnel_id), "%s", id);
	snprintf(cn->tunnel_name, sizeof(cn->tunnel_name), "%s", *name ? name : id);
	cn->secret = strdup(secret);
	OPENSSL_cleanse((void *)secret, secret_len);
	json_decref(j);
	return cn->secret ? 0 : ERR_NOMEM;
}

static size_t render_metrics(void *data, char *out, size_t cap)
{
	const connector_t *cn = data;
	int registered = 0;
	for (int i = 0; i < cn->nslots; i++)
		registered += cn->slots[i].registered;
	int n = snprintf(out, cap,
			 "# TYPE burrow_tunnel_connections gauge\nburrow_tunnel_connections %d\n"
			 "# TYPE burrow_tunnel_streams_total counter\nburrow_tunnel_streams_total %llu\n"
			 "# TYPE burrow_tunnel_streams_active gauge\nburrow_tunnel_streams_active %llu\n"
			 "# TYPE burrow_tunnel_origin_failures_total counter\nburrow_tunnel_origin_failures_total %llu\n"
			 "# TYPE burrow_tunnel_reconnects_total counter\nburrow_tunnel_reconnects_total %llu\n"
			 "# TYPE burrow_tunnel_connections_dead_total counter\nburrow_tunnel_connections_dead_total %llu\n"
			 "# TYPE burrow_tunnel_metrics_refused_total counter\nburrow_tunnel_metrics_refused_total %llu\n",
			 registered, (unsigned long long)cn->m.streams_total, (unsigned long long)cn->m.streams_active,
			 (unsigned long long)cn->m.origin_failures, (unsigned long long)cn->m.reconnects, (unsigned long long)cn->m.dead,
			 (unsigned long long)metrics_http_refused(&cn->metrics));
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

static void on_grace(uv_timer_t *t)
{
	connector_t *cn = t->data;
	log_warn("grace period over; closing remaining sessions");
	uv_stop(cn->loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
	connector_t *cn = s->data;
	if (cn->stopping) {
		log_info("second signal: stopping now");
		uv_stop(cn->loop);
		return;
	}
	log_info("received %s: no new sessions; open ones may finish for %llds", signum == SIGINT ? "SIGINT" : "SIGTERM",
		 cn->grace_ms / 1000);
	uv_timer_init(cn->loop, &cn->grace);
	cn->grace.data = cn;
	uv_timer_start(&cn->grace, on_grace, (uint64_t)cn->grace_ms, 0);
	uv_unref((uv_handle_t *)&cn->grace);
	supervisor_stop(cn);
}

static int run(int argc, char **argv, const char *cmdname)
{
	const char *creds = NULL, *ca = NULL, *ha = "4", *grace = "30s", *loglevel = "info", *logfile = NULL;
	const char *metrics = NULL, *hb_interval = LIVENESS_HB_INTERVAL, *hb_count = LIVENESS_HB_COUNT;
	const char *keepalive = LIVENESS_KEEPALIVE;
	cli_list_t hosts = {0}, urls = {0}, edges = {0};
	const cli_opt_t opts[] = {
		{"credentials-file", 0, CLI_STR, &creds, "FILE", "BURROW_TUNNEL_CREDENTIALS",
		 "tunnel credentials from burrow admin tunnel create", "cred-file"},
		{"hostname", 0, CLI_LIST, &hosts, "HOST", "BURROW_TUNNEL_HOSTNAME", "public hostname to serve",
		 NULL},
		{"url", 0, CLI_LIST, &urls, "URL", "BURROW_TUNNEL_URL", "origin for the matching --hostname",
		 NULL},
		{"edge", 0, CLI_LIST, &edges, "ADDR", "BURROW_TUNNEL_EDGE",
		 "edge tunnel address HOST:PORT (the edge's --tunnel-listen); several spread the connections", NULL},
		{"ca", 0, CLI_STR, &ca, "FILE", "BURROW_CA", "PEM CA bundle trusted besides the system roots", NULL},
		{"ha-connections", 0, CLI_STR, &ha, "N", "BURROW_HA_CONNECTIONS",
		 "connections to keep to the edge (default 4)", NULL},
		{"grace-period", 0, CLI_STR, &grace, "DUR", "BURROW_GRACE_PERIOD",
		 "on SIGTERM, how long open sessions may finish (default 30s)", NULL},
		{"heartbeat-interval", 0, CLI_STR, &hb_interval, "DUR", "BURROW_HEARTBEAT_INTERVAL",
		 "a connection to the edge quiet this long is sent a heartbeat (default " LIVENESS_HB_INTERVAL ")",
		 NULL},
		{"heartbeat-count", 0, CLI_STR, &hb_count, "N", "BURROW_HEARTBEAT_COUNT",
		 "heartbeats missed in a row before a connection is dead and redialled (default "
		 LIVENESS_HB_COUNT ")", NULL},
		{"tcp-keepalive", 0, CLI_STR, &keepalive, "DUR", "BURROW_TCP_KEEPALIVE",
		 "TCP keepalive: an origin or edge silent this long is given up (default " LIVENESS_KEEPALIVE
		 ", 0 = off)", NULL},
		{"metrics", 0, CLI_STR, &metrics, "ADDR", "BURROW_METRICS", "Prometheus metrics, plain HTTP",
		 NULL},
		{"loglevel", 0, CLI_STR, &loglevel, "LEVEL", "BURROW_LOGLEVEL", "error, warn, info or debug", NULL},
		{"logfile", 0, CLI_STR, &logfile, "FILE", "BURROW_LOGFILE", "append logs here instead of stderr",
		 NULL},
		{0},
	};
	int pos = 0;
	int r = cli_parse(cmdname, TUNNEL_USAGE, opts, argc, argv, &pos);
	if (r)
		return r == 1 ? 0 : 2;
	if (pos < argc) {
		fprintf(stderr, "burrow: tunnel: unexpected argument %s (see burrow tunnel --help)\n", argv[pos]);
		return 2;
	}
	int lvl = log_parse_level(loglevel);
	if (lvl < 0) {
		fprintf(stderr, "burrow: tunnel: unknown log level %s: use error, warn, info or debug\n", loglevel);
		return 2;
	}
	log_set_level(lvl);
	log_set_role("tunnel");
	if (logfile && (r = log_set_file(logfile)) != 0) {
		fprintf(stderr, "burrow: tunnel: cannot open log file %s: %s\n", logfile, err_str(r));
		return 1;
	}
	if (!creds) {
		fprintf(stderr, "burrow: tunnel: no tunnel credentials: pass --credentials-file FILE "
				"(create it on the edge with burrow admin tunnel create NAME)\n");
		return 2;
	}
	if (hosts.n == 0 || hosts.n != urls.n) {
		fprintf(stderr, "burrow: tunnel: give each --hostname its --url, e.g. --hostname ssh.site.test --url "
				"ssh://localhost:22\n");
		return 2;
	}
	if (edges.n == 0) {
		fprintf(stderr, "burrow: tunnel: no edge address: pass --edge HOST:PORT (the edge's --tunnel-listen)\n");
		return 2;
	}
	char *end = NULL;
	long nha = strtol(ha, &end, 10);
	if (*end || nha < 1 || nha > TUNNEL_MAX_HA) {
		fprintf(stderr, "burrow: tunnel: --ha-connections must be 1..%d\n", TUNNEL_MAX_HA);
		return 2;
	}
	static connector_t cn;
	memset(&cn, 0, sizeof(cn));
	int64_t grace_s = 0;
	if (duration_parse(grace, &grace_s) != 0) {
		fprintf(stderr, "burrow: tunnel: invalid --grace-period %s (e.g. 30s, 2m)\n", grace);
		return 2;
	}
	cn.grace_ms = (long long)grace_s * 1000;
	char err[512];
	if (liveness_parse(hb_interval, hb_count, keepalive, &cn.live, err, sizeof(err)) != 0) {
		fprintf(stderr, "burrow: tunnel: %s\n", err);
		return 2;
	}
	for (int i = 0; i < hosts.n; i++)
		if (ingress_add(&cn.ingress, hosts.v[i], urls.v[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "burrow: tunnel: %s\n", err);
			return 2;
		}
	for (int i = 0; i < edges.n; i++) {
		char h[256], p[8];
		if (addr_split(edges.v[i], NULL, h, sizeof(h), p, sizeof(p)) != 0) {
			fprintf(stderr, "burrow: tunnel: invalid --edge %s: expected HOST:PORT\n", edges.v[i]);
			return 2;
		}
	}
	if (load_credentials(&cn, creds) != 0)
		return 1;
	static const unsigned char alpn[] = "\x02h2";
	/* A daemon: a bad CA file is told at start, not at the first dial. */
	cn.ctx = tls_client_ctx(ca, false, alpn, 3, err, sizeof(err));
	if (!cn.ctx) {
		fprintf(stderr, "burrow: tunnel: %s\n", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	cn.loop = uv_default_loop();
	cn.edges = edges.v;
	cn.nedges = edges.n;
	cn.nslots = (int)nha;
	uv_signal_init(cn.loop, &cn.sigint);
	uv_signal_init(cn.loop, &cn.sigterm);
	cn.sigint.data = cn.sigterm.data = &cn;
	uv_signal_start(&cn.sigint, on_signal, SIGINT);
	uv_signal_start(&cn.sigterm, on_signal, SIGTERM);
	if (metrics && (r = metrics_http_listen(cn.loop, &cn.metrics, metrics, render_metrics, &cn)) != 0) {
		fprintf(stderr, "burrow: tunnel: cannot serve metrics on %s: %s\n", metrics, err_str(r));
		return 1;
	}
	log_info("connector for tunnel %s starting: %d connection%s to %s", cn.tunnel_name, cn.nslots,
		 cn.nslots == 1 ? "" : "s", edges.v[0]);
	supervisor_start(&cn);
	uv_run(cn.loop, UV_RUN_DEFAULT);
	log_info("connector stopped");
	OPENSSL_cleanse(cn.secret, strlen(cn.secret));
	free(cn.secret);
	SSL_CTX_free(cn.ctx);
	return cn.exit_code;
}

int tunnel_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run(argc - 1, argv + 1, "tunnel run");
	if (argc >= 2 && argv[1][0] != '-') {
		fprintf(stderr,
			"burrow: tunnel: unknown subcommand %s: use burrow tunnel run, or burrow tunnel --hostname H "
			"--url U\n",
			argv[1]);
		return 2;
	}
	return run(argc, argv, "tunnel");
}
