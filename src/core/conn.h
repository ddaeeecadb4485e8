/* conn.h — a byte stream on libuv, optionally TLS through a BIO pair.
 *
 * One type for every socket burrow touches: the edge's client and tunnel
 * connections, the connector's edge and origin connections, the client's
 * edge connection and its stdio. TLS runs over two bounded buffers, the
 * BIO-pair design of docs/design.md "Hot path": libuv reads ciphertext straight
 * into tin, and records are decrypted into rbuf; wbuf is encrypted into
 * tout until tout is full, then one uv_write sends every record that piled
 * up. OpenSSL handshakes through a BIO of our own over tin and tout; a TLS
 * 1.3 connection's records are then ours (tlsrec.h), any other stays with
 * OpenSSL. Our own buffers (not a BIO pair's fixed rings) can be
 * released when a conn goes idle: see conn_trim().
 *
 * Input: on_data(c, in) hands the owner all unconsumed plaintext; the owner
 * buf_consume()s what it used and leaves a partial frame for next time.
 * conn_pause() stops reading (back-pressure), conn_resume() restarts it.
 * Output: conn_write() copies into a bounded buffer; the owner watches
 * conn_full() (pending output past the conn's high-water mark) and waits
 * for on_drain.
 *
 * Lifetime: conn_new() allocates; conn_close() starts an asynchronous close;
 * on_close is the last callback, after which the conn is freed by this
 * module. Callbacks may call conn_close() at any time. */
#ifndef BURROW_CONN_H
#define BURROW_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"

#define CONN_READ_CHUNK (64 * 1024)
/* Past this many conns in a process, a conn that carries one session reads
 * CONN_READ_CHUNK_MANY at a time: bench conc, 1,000 sessions x 1 MiB echoed,
 * edge peak 376 -> 272 MB in the same time (a carrier of many sessions keeps
 * full reads). */
#define CONN_MANY 256
#define CONN_READ_CHUNK_MANY (16 * 1024)
/* Ciphertext in for such a conn: one whole record (16,645 bytes at most). */
#define CONN_TLS_IN_MANY (17 * 1024)
#define CONN_RBUF_MAX (256 * 1024)
#define CONN_WBUF_MAX (8 * 1024 * 1024) /* > H2_STREAM_WINDOW_MAX + framing */
#define CONN_HIGH_WATER (512 * 1024) /* owners stop feeding us above this */
#define CONN_LOW_WATER (128 * 1024)  /* on_drain fires when pending falls below */
#define CONN_TLS_BUF (64 * 1024) /* ciphertext each way; bench: 256 KiB gave 2.5 Gbit/s and 5 ms pings under bulk, 64 KiB 3.4 and 3.7 */
/* Ciphertext out: room for four full records (4 x 16,406 bytes) so a 64 KiB
 * batch of HTTP/2 frames leaves in one write, not as 65,536 + 88 bytes. */
#define CONN_TLS_OUT (CONN_TLS_BUF + 1024)
/* Ciphertext in: a full read behind the partial record tlsrec leaves
 * (16,645 bytes at most), so reads stay 64 KiB. */
#define CONN_TLS_IN (CONN_TLS_BUF + 17 * 1024)
/* Bytes one conn may read per loop iteration before the others' turn
 * (its read_budget; a conn that multiplexes N sessions gets N shares). */
#define CONN_TURN_READ (128 * 1024)
/* Least retransmission timeout of a conn that carries many sessions (the
 * kernel's is 200 ms; it still adds the smoothed round trip). bench conc,
 * 5,100 sessions x 1 MiB echoed under kernel TCP memory pressure: 490 ->
 * 60-82 s; 10,000: 17 done in 800 s -> all in 513 s. */
#define CONN_CARRIER_RTO_MIN_US 5000
#define CONN_IDLE_MS 2000        /* buffers of a conn quiet this long are released */

typedef struct conn conn_t;

typedef struct conn_cbs {
	/* Connected (and TLS handshake done); status < 0 on failure, and the
	 * conn is then closing. */
	void (*on_open)(conn_t *c, int status);
	/* Plaintext arrived; consume what you use from in. */
	void (*on_data)(conn_t *c, buf_t *in);
	/* Peer finished sending (FIN or TLS close_notify), status 0; or the
	 * connection failed, status < 0. Writes may still be possible after a
	 * clean EOF (half-close). */
	void (*on_eof)(conn_t *c, int status);
	/* Pending output fell below the low-water mark after conn_full(). */
	void (*on_drain)(conn_t *c);
	/* Last callback; the conn is freed when it returns. */
	void (*on_close)(conn_t *c);
	/* Optional: every CONN_IDLE_MS, busy or not, so owners that multiplex
	 * (HTTP/2) can release the buffers of their own idle parts. */
	void (*on_sweep)(conn_t *c);
} conn_cbs_t;

struct conn {
	uv_loop_t *loop;
	const conn_cbs_t *cbs;
	void *data; /* owner's */
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	uv_pipe_t *out_pipe; /* stdio: fd 1 (h.pipe is fd 0); NULL otherwise */
	uv_stream_t *in;    /* the stream we read */
	uv_stream_t *out;   /* the stream we write */
	SSL *ssl;	    /* the handshake, and the records tlsrec does not take */
	struct tlsrec *rec; /* TLS 1.3 records after the handshake */
	struct conn_tls_keys *keys; /* traffic secrets, while handshaking */
	char *sni;		    /* server name the TLS client sent */
	buf_t tin;    /* TLS: ciphertext received, not yet decrypted */
	buf_t tout;   /* TLS: ciphertext produced, not yet on the wire */
	buf_t rbuf;   /* received plaintext not yet consumed */
	buf_t wbuf;   /* plaintext waiting to be encrypted/sent */
	buf_t wflight; /* bytes of the uv_write in flight (swapped with tout or wbuf) */
	size_t lent;   /* bytes queued by conn_write_borrow, not yet sent or copied */
	uv_write_t wreq;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	int handles_open;
	int err; /* first fatal error */
	int tls_verify;		 /* X509_V_ result of a failed handshake */
	unsigned long tls_error; /* OpenSSL error of a failed handshake; 0 none */
	uint8_t alpn_len;
	char alpn[15]; /* protocol ALPN chose; empty when none (or longer) */
	bool tls;      /* TLS, in any of its stages */
	bool tls_server;
	bool rec_closed; /* our close_notify is sealed */
	bool handshaking;
	bool opened;
	bool writing;
	bool paused;
	bool reading;
	bool eof_in;       /* peer EOF seen at the socket */
	bool eof_reported; /* on_eof called */
	bool shut_req;     /* owner asked for half-close */
	bool shut_started;
	bool shut_done;
	bool close_after;  /* close once flushed */
	bool closing;
	bool above_high;
	bool in_pump;
	bool stdio;
	size_t high_water; /* conn_full() at or above; CONN_HIGH_WATER unless set */
	size_t low_water;  /* on_drain below, after having been full */
	int notsent_lowat; /* TCP_NOTSENT_LOWAT to apply once connected; 0: none */
	bool carrier;      /* carries many sessions: conn_set_carrier */
	bool dirty;        /* on the flush list */
	bool busy;         /* did I/O since the last idle sweep */
	bool trimmed;      /* buffers released, no I/O since */
	uint64_t read_turn; /* loop iteration of the last read */
	size_t turn_read;   /* bytes read in it */
	size_t read_budget; /* bytes it may read per iteration (CONN_TURN_READ) */
	conn_t *dirty_next;
	conn_t *dirty_prev;
	conn_t *all_next; /* every live conn, for the idle sweep */
	conn_t *all_prev;
};

conn_t *conn_new(uv_loop_t *loop, const conn_cbs_t *cbs, void *data);
/* Hands c to another owner: its callbacks and data from now on (a front
 * connection becomes a relay's, a dialled one an HTTP/2 session's). */
void conn_set_owner(conn_t *c, const conn_cbs_t *cbs, void *data);

/* Server side: accepts from a listening stream. With ctx, runs the TLS
 * handshake (server role) and calls on_open when done. */
int conn_accept(conn_t *c, uv_stream_t *server, SSL_CTX *ctx);
/* Client side: connects to addr. With ctx, handshakes as a TLS client,
 * sending SNI and verifying the certificate against host (a DNS name or IP
 * literal). ALPN comes from ctx. */
int conn_connect(conn_t *c, const struct sockaddr *addr, SSL_CTX *ctx, const char *host);
/* Plain conn over this process's stdin (read) and stdout (write). */
int conn_open_stdio(conn_t *c);

int conn_write(conn_t *c, const void *p, size_t n);
/* Like conn_write, but a TLS conn with nothing queued encrypts p straight
 * into its ciphertext buffer, skipping the copy into wbuf; p must hold
 * whole records' worth (callers pass one frame with its header). */
int conn_write_direct(conn_t *c, const void *p, size_t n);
/* The same for a frame header h (hn bytes) and its payload p, sealed as one
 * piece straight from both; copied into wbuf where they cannot be. */
int conn_write_frame(conn_t *c, const void *h, size_t hn, const void *p, size_t n);
/* conn_write of n bytes would succeed now (not closing, within the cap):
 * for callers that must change their bytes before writing them. */
bool conn_can_write(const conn_t *c, size_t n);
/* Like conn_write, but without the copy where it can: p must point into
 * the input of an on_data callback now running (any conn's), and stays
 * unchanged until it returns. Before it returns, every plain conn written
 * this way sends those bytes with one writev and copies only what the
 * socket did not take. TLS conns, and conns with output already queued,
 * copy at once. */
int conn_write_borrow(conn_t *c, const void *p, size_t n);
/* Reserve n bytes in the output buffer to build a frame in place; commit
 * with conn_write_commit. NULL when the cap would be passed. */
uint8_t *conn_write_reserve(conn_t *c, size_t n);
void conn_write_commit(conn_t *c, size_t n);
size_t conn_pending(const conn_t *c);
/* True when pending output reached the high-water mark: stop feeding the
 * conn until on_drain. */
static inline bool conn_full(const conn_t *c) { return conn_pending(c) >= c->high_water; }

void conn_pause(conn_t *c);
void conn_resume(conn_t *c);
/* Half-close: after pending output, send close_notify (TLS) and FIN. */
void conn_shutdown(conn_t *c);
/* Flush pending output, half-close, then close. */
void conn_finish(conn_t *c);
/* Close now, dropping pending output. Safe to call twice. */
void conn_close(conn_t *c);

/* Keeps at most n unsent bytes in the kernel's send buffer
 * (TCP_NOTSENT_LOWAT): the rest waits with us, where a multiplexer can still
 * put a small frame in front of it. Applied now or once connected. */
void conn_set_notsent_lowat(conn_t *c, int n);
/* Marks c as carrying many sessions (a tunnel connection): a lost segment
 * on it stalls all of them, so it is retransmitted after a short timeout
 * (TCP_RTO_MIN_US, Linux 6.15+; elsewhere the kernel's 200 ms). Applied now
 * or once connected. */
void conn_set_carrier(conn_t *c);
/* TCP keepalive, a backstop for long-lived sockets whose peer may vanish
 * without a word (a laptop that slept, a NAT that forgot the flow): a peer
 * silent for about secs is given up (probes after secs/2, three of them
 * secs/6 apart), and so is unacknowledged data after secs
 * (TCP_USER_TIMEOUT), since keepalive does not probe while data is in
 * flight. 0: nothing. Needs the socket (after accept or conn_connect). */
void conn_set_keepalive(conn_t *c, unsigned secs);
/* TCP_USER_TIMEOUT alone: data unacknowledged for ms closes the
 * connection (ETIMEDOUT) instead of being retransmitted for minutes. */
void conn_set_user_timeout(conn_t *c, unsigned ms);
/* How much c may read per loop iteration before other conns get their turn
 * (default CONN_TURN_READ). */
void conn_set_read_budget(conn_t *c, size_t n);
/* Sets the high- and low-water marks. Output already at or above the new
 * high mark counts as full: on_drain follows when it falls below low. */
void conn_set_water(conn_t *c, size_t high, size_t low);
/* The server name a TLS client sent (server role); NULL when none. */
const char *conn_tls_sni(const conn_t *c);
/* What a failed TLS handshake stumbled on, so that a message can say what
 * to do: trust (the issuer is not a CA we were given), name (the
 * certificate is for another host), time (expired or not yet valid: a
 * clock), another certificate check, or the handshake itself. */
enum conn_tls_fail {
	CONN_TLS_FAIL_HANDSHAKE,
	CONN_TLS_FAIL_TRUST,
	CONN_TLS_FAIL_NAME,
	CONN_TLS_FAIL_TIME,
	CONN_TLS_FAIL_CERT,
};
/* Why c's TLS handshake failed, in OpenSSL's words: the peer certificate
 * check's reason, else the handshake's error; NULL when the peer just
 * closed. *kind says which. */
const char *conn_tls_failure(const conn_t *c, enum conn_tls_fail *kind);
/* True when the TLS handshake chose ALPN protocol proto. */
bool conn_tls_alpn_is(const conn_t *c, const char *proto);
/* Peer address as "ip" text (no port); "" when unknown. */
void conn_peer_ip(conn_t *c, char *out, size_t outlen, struct sockaddr_storage *ss);

#endif
