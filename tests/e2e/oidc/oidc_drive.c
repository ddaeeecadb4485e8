/* oidc_drive.c — the edge's OpenID Connect relying party (edge/oidc/oidc.h)
 * on a real libuv loop with a minimal edge_t, driven line by line from
 * stdin, for t_oidc_rp.sh: no HTTP routes of the edge are involved.
 *
 *   oidc_drive --idp NAME --issuer URL --client-id ID --client-secret-file F
 *              --auth-origin https://auth.site.test:PORT [--ca-file F] [--groups-claim C]
 *
 * Commands (one per line):
 *   begin RET              -> "LOCATION <url>" and "COOKIE <value>", or "ERROR <code> <err>"
 *   callback COOKIE QUERY  -> "IDENTITY <json>" and "RET <ret>", or "ERROR <code> <err>"
 *                             (COOKIE "-": the browser sent none)
 *   cancel-begin           -> begins a login and cancels it at once: "CANCELLED" (no callback)
 * Exits at the end of stdin, after oidc_close, with every handle closed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/err.h"
#include "core/log.h"
#include "edge/oidc/oidc.h"

static int done;

static void begin_cb(void *arg, int status, const char *location, const char *cookie, const char *err)
{
	if (status == 0)
		printf("LOCATION %s\nCOOKIE %s\n", location, cookie);
	else
		printf("ERROR %s %s\n", err_str(status), err);
	fflush(stdout);
	done++;
}

static void done_cb(void *arg, int status, const identity_t *id, const char *ret, const char *err)
{
	if (status == 0) {
		json_t *g = json_array();
		for (size_t i = 0; i < id->ngroups; i++)
			json_array_append_new(g, json_string(id->groups[i]));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "email", id->email, "sub", id->sub, "idp",
				      id->idp, "login_method", id->login_method, "groups", g);
		char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		printf("IDENTITY %s\nRET %s\n", text, ret ? ret : "(none)");
		free(text);
		json_decref(o);
	} else {
		printf("ERROR %s %s\n", err_str(status), err);
	}
	fflush(stdout);
	done++;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strdup(buf);
}

static void wait_done(uv_loop_t *loop, int want)
{
	while (done < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && done < want) {
			printf("ERROR stuck no callback and nothing in flight\n");
			fflush(stdout);
			exit(1);
		}
}

int main(int argc, char **argv)
{
	const char *opt[7] = {0};
	static const char *const names[7] = {
	    "--idp",	     "--issuer",  "--client-id",   "--client-secret-file",
	    "--auth-origin", "--ca-file", "--groups-claim"};
	for (int i = 1; i + 1 < argc; i += 2)
		for (int k = 0; k < 7; k++)
			if (strcmp(argv[i], names[k]) == 0)
				opt[k] = argv[i + 1];
	if (!opt[0] || !opt[1] || !opt[2] || !opt[3] || !opt[4]) {
		fprintf(stderr,
			"usage: oidc_drive --idp NAME --issuer URL --client-id ID --client-secret-file F "
			"--auth-origin ORIGIN [--ca-file F] [--groups-claim C]\n");
		return 2;
	}
	log_set_level(L_WARN);
	model_idp_t idp = {.name = strdup(opt[0]),
			   .issuer = strdup(opt[1]),
			   .client_id = strdup(opt[2]),
			   .client_secret = slurp(opt[3]),
			   .ca_pem = opt[5] ? slurp(opt[5]) : NULL,
			   .groups_claim = strdup(opt[6] ? opt[6] : "groups"),
			   .scopes = strdup("openid email profile")};
	model_t *m = calloc(1, sizeof(*m));
	m->idps = calloc(1, sizeof(*m->idps));
	m->idps[0] = idp;
	m->nidps = 1;
	edge_t e = {0};
	uv_loop_t loop;
	uv_loop_init(&loop);
	e.loop = &loop;
	e.model = m;
	snprintf(e.auth_origin, sizeof(e.auth_origin), "%s", opt[4]);
	if (oidc_init(&e, &e.oidc) != 0) {
		fprintf(stderr, "oidc_init failed\n");
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int want = 0;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strncmp(line, "begin ", 6) == 0) {
			if (oidc_begin(e.oidc, opt[0], line + 6, begin_cb, NULL) != 0) {
				printf("ERROR start\n");
				continue;
			}
			wait_done(&loop, ++want);
		} else if (strncmp(line, "begin-idp ", 10) == 0) {
			/* begin-idp NAME: a login at another provider name */
			if (oidc_begin(e.oidc, line + 10, "/", begin_cb, NULL) != 0) {
				printf("ERROR start\n");
				continue;
			}
			wait_done(&loop, ++want);
		} else if (strncmp(line, "callback ", 9) == 0) {
			char *cookie = line + 9, *query = strchr(cookie, ' ');
			if (!query) {
				printf("ERROR usage\n");
				continue;
			}
			*query++ = '\0';
			if (oidc_callback(e.oidc, query, strcmp(cookie, "-") == 0 ? NULL : cookie, done_cb,
					  NULL) != 0) {
				printf("ERROR start\n");
				continue;
			}
			wait_done(&loop, ++want);
		} else if (strcmp(line, "cancel-begin") == 0) {
			int token;
			if (oidc_begin(e.oidc, opt[0], "/", begin_cb, &token) == 0)
				oidc_cancel(e.oidc, &token);
			for (int i = 0; i < 5; i++)
				uv_run(&loop, UV_RUN_NOWAIT);
			printf(done == want ? "CANCELLED\n" : "ERROR a cancelled login called back\n");
		} else {
			printf("ERROR unknown command\n");
		}
		fflush(stdout);
	}
	free(line);
	oidc_close(e.oidc);
	uv_run(&loop, UV_RUN_DEFAULT);
	int rc = uv_loop_close(&loop) == 0 ? 0 : 1;
	if (rc)
		fprintf(stderr, "oidc_drive: handles left open after oidc_close\n");
	model_free(m);
	return rc;
}
