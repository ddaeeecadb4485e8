/* authn.c — credentials in, subject or refusal out (see authn.h).
 *
 * Order matters: the credential is checked first and a correct one passes
 * whatever the limiter says; only a failure consults and feeds the limiter.
 * Must never: let a wrong credential through, log or copy a secret, or
 * count a failure without answering it. */
#include "edge/auth/authn.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "edge/model.h"
#include "edge/auth/ratelimit.h"

/* Counts a failure from rq's address and, when one was presented, for
 * the client id. Returns the milliseconds until the address (*by_id false)
 * or else the id (*by_id true) is below the limit again; 0 when neither is
 * over it yet. The admin token has no id: its limit is per address. */
static uint64_t count_failure(edge_t *e, const authn_req_t *rq, const char *id, size_t idlen, bool *by_id)
{
	uint64_t now = uv_now(e->loop);
	uint64_t wa = rl_blocked_ms(e->rl, rq->peer, now);
	uint64_t wi = idlen ? rl_blocked_id_ms(e->rl, id, idlen, now) : 0;
	rl_fail(e->rl, rq->peer, now);
	if (idlen)
		rl_fail_id(e->rl, id, idlen, now);
	*by_id = !wa && wi;
	return wa ? wa : wi;
}

static unsigned long long retry_s(uint64_t wait_ms)
{
	return (unsigned long long)(wait_ms + 999) / 1000;
}

bool authn_admin(edge_t *e, const authn_req_t *rq, authn_t *out)
{
	memset(out, 0, sizeof(*out));
	const http1_header_t *h = http1_header(rq->hp, "Authorization");
	out->presented = h != NULL;
	if (h && h->value_len >= 8 && strncasecmp(h->value, "Bearer ", 7) == 0) {
		uint8_t got[32];
		model_hash_secret(h->value + 7, h->value_len - 7, got);
		bool ok = CRYPTO_memcmp(got, e->admin_hash, 32) == 0;
		OPENSSL_cleanse(got, sizeof(got));
		if (ok) {
			snprintf(out->ident, sizeof(out->ident), "admin");
			return true;
		}
	}
	bool by_id;
	uint64_t wait_ms = count_failure(e, rq, NULL, 0, &by_id);
	if (wait_ms) {
		out->status = 429;
		snprintf(out->reason, sizeof(out->reason),
			 "{\"error\":\"too many failed attempts from this address: retry in %llu s\"}",
			 retry_s(wait_ms));
	} else {
		out->status = 401;
		snprintf(out->reason, sizeof(out->reason),
			 "{\"error\":\"admin token missing or wrong: pass --token-file FILE (data-dir/admin-token "
			 "on the edge) or set BURROW_ADMIN_TOKEN_FILE\"}");
	}
	return false;
}

enum authn_token_state authn_token_state(const model_token_t *t, const char *name, time_t now, char *why,
					 size_t whylen)
{
	if (!t || t->revoked) {
		snprintf(why, whylen, "service token %.80s revoked", name);
		return AUTHN_TOKEN_REVOKED;
	}
	if (t->expires_at && t->expires_at <= (int64_t)now) {
		snprintf(why, whylen, "service token %.80s expired", name);
		return AUTHN_TOKEN_EXPIRED;
	}
	return AUTHN_TOKEN_OK;
}

/* A header's value as a C string; -1 when absent, empty or too long. */
static int header_str(const http1_parser_t *hp, const char *name, char *out, size_t outlen)
{
	const http1_header_t *h = http1_header(hp, name);
	if (!h || h->value_len == 0 || h->value_len >= outlen)
		return -1;
	memcpy(out, h->value, h->value_len);
	out[h->value_len] = '\0';
	return 0;
}

static void service_token(edge_t *e, const authn_req_t *rq, authn_t *out, const char *cid, bool has_id,
			  char *secret, bool has_secret)
{
	const model_token_t *t = has_id && has_secret ? model_token_by_id(e->model, cid) : NULL;
	bool ok = t && model_secret_ok(t->secret_hash, secret, strlen(secret));
	OPENSSL_cleanse(secret, strlen(secret));
	char why[160];
	enum authn_token_state st =
	    ok ? authn_token_state(t, t->name, time(NULL), why, sizeof(why)) : AUTHN_TOKEN_REVOKED;
	if (st == AUTHN_TOKEN_EXPIRED) { /* the right secret: no failure to count */
		snprintf(out->ident, sizeof(out->ident), "service token %s", t->name);
		out->status = 401;
		snprintf(out->reason, sizeof(out->reason),
			 "service token expired: create a new one with burrow admin service-token create");
		return;
	}
	if (st == AUTHN_TOKEN_REVOKED) {
		bool by_id;
		uint64_t wait_ms = count_failure(e, rq, has_id ? cid : "", has_id ? strlen(cid) : 0, &by_id);
		out->status = wait_ms ? 429 : 401;
		if (wait_ms && by_id)
			snprintf(out->reason, sizeof(out->reason),
				 "too many failed attempts for this client id: retry in %llu s",
				 retry_s(wait_ms));
		else if (wait_ms)
			snprintf(out->reason, sizeof(out->reason),
				 "too many failed attempts from %s: retry in %llu s", rq->peer_str,
				 retry_s(wait_ms));
		else
			snprintf(out->reason, sizeof(out->reason),
				 "service token unknown or revoked: check --id/--secret");
		return;
	}
	out->token = t;
	snprintf(out->ident, sizeof(out->ident), "service token %s", t->name);
}

void authn_client(edge_t *e, const authn_req_t *rq, authn_t *out)
{
	memset(out, 0, sizeof(*out));
	char cid[128], secret[256];
	bool has_id = header_str(rq->hp, "Cf-Access-Client-Id", cid, sizeof(cid)) == 0;
	bool has_secret = header_str(rq->hp, "Cf-Access-Client-Secret", secret, sizeof(secret)) == 0;
	/* A header present but empty or oversized is presented, and wrong. */
	out->presented = has_id || has_secret || http1_header(rq->hp, "Cf-Access-Client-Id") ||
			 http1_header(rq->hp, "Cf-Access-Client-Secret");
	if (out->presented) {
		if (!has_secret)
			secret[0] = '\0';
		service_token(e, rq, out, cid, has_id, secret, has_secret);
		OPENSSL_cleanse(secret, sizeof(secret));
		return;
	}
	/* A cf-access-token (a person's app token) is checked against the
	 * application it is for: edge/http/access.c. */
}
