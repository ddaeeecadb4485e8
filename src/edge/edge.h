/* edge.h — the edge process's one context, passed explicitly everywhere. */
#ifndef BURROW_EDGE_EDGE_H
#define BURROW_EDGE_EDGE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/addrcap.h"
#include "core/cli.h"
#include "core/conn.h"
#include "core/h2.h"
#include "core/hostname.h"
#include "core/liveness.h"
#include "core/metrics_http.h"
#include "edge/model.h"
#include "edge/pki.h"
#include "edge/auth/ratelimit.h"
#include "edge/sessions/sessions.h"
#include "edge/store/store.h"

/* Listen backlog of the front and tunnel listeners (the kernel caps it at
 * net.core.somaxconn): a flood of connects that outruns accept() for a
 * moment queues instead of having its handshakes dropped and retried a
 * second later (t_load_halfopen: 1% of 5,000 refusals took 1 s with 1024). */
#define EDGE_LISTEN_BACKLOG 4096

typedef struct edge_tconn edge_tconn_t;
typedef struct edge_job edge_job_t;
typedef struct audit audit_t;

/* The two listeners: clients (front.c) and connectors (tunnels.c). */
enum edge_listener { EDGE_CLIENT, EDGE_TUNNEL, EDGE_LISTENERS };

/* Default --max-unauth-per-addr. Our own tools stay below it: bench conc
 * keeps 200 handshakes in flight, bench idle/scale and t_load_idle 100. A
 * NAT whose users each take 100 ms from connect to credentials (TLS round
 * trips included) stays below it up to ~2,500 new connections a second;
 * it is a quarter of the common 1024 descriptor limit. The edge accepts a
 * whole burst before it handshakes any, so a burst of more than this many
 * from one address at once is cut, not queued. */
#define EDGE_MAX_UNAUTH_PER_ADDR 256

typedef struct edge_metrics {
	uint64_t sessions_total;
	uint64_t sessions_active;
	uint64_t refused[6]; /* 401, 403, 404, 502, 503, 400 */
	uint64_t bytes_up;
	uint64_t bytes_down;
	uint64_t tunnel_conns;
	uint64_t registrations_refused;
	uint64_t tunnel_conns_dead;	/* declared dead: heartbeats unanswered */
	uint64_t tunnel_dead_silent_ms; /* their silences, summed */
	uint64_t connect_retries;	/* sessions moved to another connection */
	uint64_t accept_errors;
	uint64_t unauth_refused[EDGE_LISTENERS]; /* over --max-unauth-per-addr */
} edge_metrics_t;

typedef struct edge {
	uv_loop_t *loop;
	const char *data_dir;
	store_t *store;
	model_t *model;
	pki_t *pki;
	SSL_CTX *app_ctx;
	SSL_CTX *tunnel_ctx;
	uint8_t admin_hash[32];
	uv_tcp_t app_listener;
	uv_tcp_t tunnel_listener;
	metrics_http_t metrics;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	edge_tconn_t *tconns; /* every tunnel connection, registered or not */
	liveness_t live;      /* heartbeats and keepalive (core/liveness.h) */
	uint64_t next_pick;
	edge_job_t *jobs; /* store jobs, run one at a time in order */
	edge_job_t *jobs_tail;
	bool job_running;
	bool stopping;
	uv_timer_t sync_timer; /* edge/sync.c */
	bool sync_pending;
	bool sync_seen;	      /* store jobs only: sync_version is set */
	int64_t sync_version; /* store jobs only: the model's change version */
	edge_metrics_t m;
	uint64_t accept_warned_ms; /* last "cannot accept" warning */
	ratelimit_t *rl; /* failed credentials per client address */
	addrcap_t *unauth[EDGE_LISTENERS]; /* unauthenticated connections per address */
	uint64_t unauth_warned_ms;	   /* last "too many unauthenticated" warning */
	uint64_t unauth_unlogged;	   /* refusals since that warning */
	/* --admin-hostname, normalised: with the edge's IP literals, the only
	 * hosts the admin API answers on (never an application hostname). */
	char admin_hosts[CLI_LIST_MAX][HOSTNAME_MAX + 1];
	int nadmin_hosts;
	edge_session_t *sessions; /* live sessions (edge/sessions/sessions.c) */
	uv_timer_t sessions_timer;
	long long grace_ms; /* --grace-period: how long a drain may take */
	uv_timer_t grace;   /* edge/drain.c */
	bool draining;
	audit_t *audit; /* edge/audit/audit.c; NULL before audit_start */
	/* --auth-domain: where people log in (edge/http/access.c); "" without.
	 * auth_origin is its URL's origin, the iss of every token signed here. */
	char auth_host[HOSTNAME_MAX + 1];
	char auth_origin[HOSTNAME_MAX + 16];
	struct transfer_list *transfers; /* edge/http/transfer.c */
	struct login_limits *logins;	 /* failed logins per user and address */
	struct oidc *oidc;		 /* OpenID Connect relying party (edge/oidc/oidc.h) */
} edge_t;

/* Whether HOST (normalised) is one of the --admin-hostname names. */
bool edge_is_admin_host(const edge_t *e, const char *host);

/* ---- store jobs (edge/jobs.c) ---- */

/* work runs on a worker thread with the store; done runs on the loop
 * afterwards. When work reports a change, the model is reloaded before done
 * runs. */
typedef void (*edge_job_work)(edge_t *e, void *arg, bool *changed);
typedef void (*edge_job_done)(edge_t *e, void *arg);
int edge_job_submit(edge_t *e, edge_job_work work, edge_job_done done, void *arg);

/* ---- shared store: changes other edges commit (edge/sync.c) ---- */
void sync_start(edge_t *e);

/* Counts and (at most every 10 s) logs a failed accept (edge/metrics.c). */
void edge_accept_failed(edge_t *e, const char *listener, int status);
/* After an accept: warns (as above) when the descriptor limit is near. */
void edge_accepted(edge_t *e, const char *listener, uv_stream_t *client);

/* ---- unauthenticated connections per address (edge/auth/unauth.c) ---- */
int edge_unauth_init(edge_t *e, uint32_t limit);
void edge_unauth_free(edge_t *e);
/* A connection just accepted on a listener and counted against its source
 * address's cap. */
typedef struct edge_accept {
	conn_t *c;
	char peer[64]; /* address as text */
	struct sockaddr_storage peer_ss;
	addrcap_entry_t *unauth; /* release with edge_unauth_release */
} edge_accept_t;
/* A listener's connection callback: accepts from server (TLS with ctx),
 * tells the metrics (edge_accept_failed / edge_accepted) and counts the
 * connection as unauthenticated for its address. False when the accept
 * failed or the address is at its cap; the refusal is then reset at once,
 * counted and logged (at most every 10 s), and the conn is closing. The
 * conn has no callbacks yet: the caller sets c->cbs and c->data. */
bool edge_unauth_accept(edge_t *e, enum edge_listener l, uv_stream_t *server, int status, SSL_CTX *ctx,
			edge_accept_t *a);
/* Once the connection authenticated or closed; safe to call again (*ent is
 * NULL afterwards). */
void edge_unauth_release(edge_t *e, enum edge_listener l, addrcap_entry_t **ent);

/* ---- front door: TLS + HTTP/1 + WebSocket (edge/http/front.c) ---- */
int front_listen(edge_t *e, const char *addr);
/* CLI logins' sealed tokens not yet fetched (edge/http/transfer.c). */
void transfer_free_all(edge_t *e);

/* ---- tunnels: connector connections and routing (edge/tunnels/tunnels.c) ---- */
int tunnels_listen(edge_t *e, const char *addr);
/* A registered connection serving host, or NULL; *why explains a NULL. */
/* The live connection for host's tunnel with the fewest streams, other than
 * the one of session exclude (NULL: any); one that a session found silent
 * (tunnels_suspect) only when no other is left. */
edge_tconn_t *tunnels_pick(edge_t *e, const char *host, h2_session_t *exclude, const char **why, char *whybuf,
			   size_t whylen);
/* A session's CONNECT on h met silence, a PING included: until h is heard
 * from again, new sessions go to its tunnel's other connections. */
void tunnels_suspect(h2_session_t *h);
/* For log lines: "connection N of tunnel T" of a tunnel session. */
int tunnels_conn_index(h2_session_t *h);
h2_session_t *tunnels_session(edge_tconn_t *t);
/* Drops connections of tunnels that no longer exist (after a model reload). */
void tunnels_model_changed(edge_t *e);
/* GOAWAY on every connector connection: open streams finish, none start. */
void tunnels_drain_all(edge_t *e);

/* ---- metrics (edge/metrics.c) ---- */
int metrics_listen(edge_t *e, const char *addr);

/* ---- lifecycle (edge/lifecycle.c) ---- */
typedef struct edge_opts {
	const char *data_dir, *listen, *tunnel_listen, *metrics; /* metrics: NULL for none */
	const char *const *admin_hosts;				 /* --admin-hostname */
	int nadmin_hosts;
	const char *const *names; /* --name: more names for the default certificate */
	int nnames;
	const char *const *certs, *const *keys; /* --tls-cert / --tls-key pairs */
	int ncerts, nkeys;
	uint32_t max_unauth; /* --max-unauth-per-addr (0: no cap) */
	long long grace_ms;  /* --grace-period */
	const char *audit_log;
	int64_t audit_retention_s;
	const char *auth_domain; /* --auth-domain HOST[:PORT], or NULL */
	liveness_t live;
} edge_opts_t;

/* Opens what the edge needs, in an order where a wrong flag or file stops
 * it before anything is created. Returns 0, or the exit status (2 for a
 * usage error, 1 otherwise) with one line in err. edge_close frees what was
 * opened either way. */
int edge_open(edge_t *e, const edge_opts_t *o, char *err, size_t errlen);
/* The loop, until the edge has drained (SIGTERM) or a second signal. */
void edge_run(edge_t *e);
void edge_close(edge_t *e, bool ran);

/* ---- lifecycle: draining on SIGTERM (edge/drain.c) ---- */
/* Stops accepting, sends every connector connection GOAWAY (connectors
 * move to other edges) and lets open sessions finish for e->grace_ms; the
 * loop stops when the last tunnel connection has closed, or at the grace
 * period's end. A second call stops at once. */
void edge_drain(edge_t *e);
/* A tunnel connection closed: during a drain, maybe the last. */
void edge_drain_check(edge_t *e);

#endif
