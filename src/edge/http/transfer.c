/* transfer.c — sealed app tokens on their way to a waiting CLI.
 *
 * `burrow access login` polls GET /cdn-cgi/access/transfer/ID on the app's
 * hostname; the person's browser finishes the login and posts the consent
 * (access.c), which seals the app token to the client's key and puts it
 * here. A poll that finds it takes it (once); one that does not waits up to
 * TRANSFER_HOLD_MS and is answered 204 (poll again). Unclaimed tokens go
 * after TRANSFER_TTL_MS. Everything is sealed to a key only the client
 * holds, so the id alone gives nothing away; it is still 256 random bits.
 *
 * Kept in this edge's memory: a client polls the edge it reached, which is
 * the edge that served the login page only when both use the same address
 * (one edge, or sticky DNS). Clustered edges will keep transfers in the
 * store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/http/front_int.h"

#define TRANSFER_TTL_MS (5 * 60 * 1000)
#define TRANSFER_MAX 4096

typedef struct transfer_ent {
	struct transfer_ent *next;
	char id[TRANSFER_ID_LEN + 1];
	int status; /* 200: sealed is the token; 403: sealed is the reason */
	char *sealed;
	uint64_t expires_ms;
} transfer_ent_t;

struct transfer_list {
	transfer_ent_t *ents;
	size_t nents;
	front_t *waiters; /* linked by tnext */
};

bool transfer_id_ok(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return n == TRANSFER_ID_LEN;
}

static struct transfer_list *list(edge_t *e)
{
	if (!e->transfers)
		e->transfers = calloc(1, sizeof(*e->transfers));
	return e->transfers;
}

static void expire(edge_t *e, struct transfer_list *l)
{
	uint64_t now = uv_now(e->loop);
	for (transfer_ent_t **p = &l->ents; *p;) {
		transfer_ent_t *t = *p;
		if (t->expires_ms <= now) {
			*p = t->next;
			free(t->sealed);
			free(t);
			l->nents--;
		} else {
			p = &t->next;
		}
	}
}

static void unlink_waiter(struct transfer_list *l, front_t *f)
{
	for (front_t **p = &l->waiters; *p; p = &(*p)->tnext)
		if (*p == f) {
			*p = f->tnext;
			break;
		}
	f->tnext = NULL;
	f->transfer[0] = '\0';
}

static void deliver(front_t *f, int status, const char *sealed)
{
	f->transfer[0] = '\0';
	if (status == 200) {
		front__send(f, 200, NULL, "text/plain; charset=utf-8", sealed, false);
	} else {
		/* (the decision was audited when the browser met it) */
		char line[640];
		snprintf(line, sizeof(line), "%s\n", sealed);
		front__send(f, status, NULL, "text/plain; charset=utf-8", line, false);
	}
}

int transfer_put(edge_t *e, const char *id, int status, char *sealed)
{
	struct transfer_list *l = list(e);
	if (!l) {
		free(sealed);
		return ERR_NOMEM;
	}
	for (front_t *f = l->waiters; f; f = f->tnext)
		if (strcmp(f->transfer, id) == 0) {
			unlink_waiter(l, f);
			deliver(f, status, sealed);
			free(sealed);
			return 0;
		}
	expire(e, l);
	transfer_ent_t *t = l->nents < TRANSFER_MAX ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		free(sealed);
		return l->nents < TRANSFER_MAX ? ERR_NOMEM : ERR_TOOBIG;
	}
	memcpy(t->id, id, TRANSFER_ID_LEN + 1);
	t->status = status;
	t->sealed = sealed;
	t->expires_ms = uv_now(e->loop) + TRANSFER_TTL_MS;
	/* one token per id: a second login for the same id replaces the first */
	for (transfer_ent_t **p = &l->ents; *p; p = &(*p)->next)
		if (strcmp((*p)->id, id) == 0) {
			transfer_ent_t *old = *p;
			*p = old->next;
			free(old->sealed);
			free(old);
			l->nents--;
			break;
		}
	t->next = l->ents;
	l->ents = t;
	l->nents++;
	return 0;
}

void transfer_get(front_t *f, const char *id)
{
	struct transfer_list *l = list(f->e);
	if (!l) {
		front__refuse(f, 503, "edge out of memory; retry");
		return;
	}
	expire(f->e, l);
	for (transfer_ent_t **p = &l->ents; *p; p = &(*p)->next)
		if (strcmp((*p)->id, id) == 0) {
			transfer_ent_t *t = *p;
			*p = t->next;
			l->nents--;
			deliver(f, t->status, t->sealed);
			free(t->sealed);
			free(t);
			return;
		}
	memcpy(f->transfer, id, TRANSFER_ID_LEN + 1);
	f->tnext = l->waiters;
	l->waiters = f;
	front__wait(f, TRANSFER_HOLD_MS);
}

void transfer_timeout(front_t *f)
{
	unlink_waiter(list(f->e), f);
	front__send(f, 204, NULL, "text/plain; charset=utf-8", NULL, false);
}

void transfer_cancel(front_t *f)
{
	if (f->transfer[0] && f->e->transfers)
		unlink_waiter(f->e->transfers, f);
}

void transfer_free_all(edge_t *e)
{
	struct transfer_list *l = e->transfers;
	if (!l)
		return;
	while (l->ents) {
		transfer_ent_t *t = l->ents;
		l->ents = t->next;
		free(t->sealed);
		free(t);
	}
	free(l);
	e->transfers = NULL;
}
