/* admin_api_int.h — shared by the admin_api*.c files only; not for other
 * modules. The admin__ prefix marks these as internal to the admin API. */
#ifndef BURROW_EDGE_ADMIN_API_INT_H
#define BURROW_EDGE_ADMIN_API_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/hostname.h"
#include "edge/admin/admin_api.h"

#define ADMIN_NAME_MAX STORE_NAME_MAX
#define ADMIN_ID_MAX STORE_ID_MAX
#define ADMIN_SECRET_HEX 64 /* service-token and tunnel secrets */
#define ADMIN_LIST_MAX 64   /* hostnames per app, selectors per list */

typedef struct admin_ctx {
	store_t *st;
	json_t *body; /* the request body (an object) on POST; NULL otherwise */
	admin_resp_t *resp;
} admin_ctx_t;

typedef void (*admin_handler_fn)(admin_ctx_t *c, const char *arg);

/* Responses. admin__reply takes ownership of obj; every one of these fills
 * c->resp exactly once and is the last thing a handler does. */
void admin__reply(admin_ctx_t *c, int status, json_t *obj);
/* Like admin__reply, with "key":"secret" appended; the secret (hex only)
 * never passes through jansson, so it exists in one buffer we own. */
void admin__reply_secret(admin_ctx_t *c, int status, json_t *obj, const char *key, const char *secret);
void admin__error(admin_ctx_t *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 500 for a failed store call; the detail goes to the log, what to the client. */
void admin__store_error(admin_ctx_t *c, const char *what);

/* Request body fields. Absent and null are the same. On a bad value these
 * set a 400 response and return ERR_INVAL. */
int admin__check_fields(admin_ctx_t *c, const char *const *allowed);
int admin__get_string(admin_ctx_t *c, const char *key, const char **out);
int admin__get_int(admin_ctx_t *c, const char *key, int64_t min, int64_t max, bool *present, int64_t *out);
/* A borrowed array of at most max strings, or NULL when absent. */
int admin__get_strings(admin_ctx_t *c, const char *key, size_t max, json_t **out);
/* Normalises one hostname (core/hostname.h) into out; 400 naming it when it
 * is not a DNS name. */
int admin__hostname(admin_ctx_t *c, const char *in, size_t len, char out[HOSTNAME_MAX + 1]);
/* The array of hostnames under key, normalised, without duplicates, as a new
 * array (caller frees; empty when absent and not required). On a bad value
 * sets 400 (500 when out of memory) and returns non-zero. */
int admin__get_hostnames(admin_ctx_t *c, const char *key, bool required, json_t **out);
/* Checks an object name; sets 400 naming the field when it is bad. */
int admin__check_name(admin_ctx_t *c, const char *field, const char *name);
bool admin__name_ok(const char *s);
/* s when it is short printable ASCII, else a placeholder: for error texts. */
const char *admin__echo(const char *s);

/* Emails (users, revocations): 1..STORE_EMAIL_MAX printable ASCII
 * characters, one '@' with a non-empty part on each side, none of
 * space / ? # % \ ". admin__email checks in (400 naming it when bad or NULL)
 * and lowercases it into out. */
bool admin__email_ok(const char *s);
int admin__email(admin_ctx_t *c, const char *in, char out[STORE_EMAIL_MAX + 1]);

/* Between the body's JSON and the store's records. strv_from copies the
 * strings of arr (an array of strings) into out, which the caller clears
 * with store_strv_clear; strv_json makes a new array (NULL on failure). */
int admin__strv_from(json_t *arr, store_strv_t *out);
json_t *admin__strv_json(const store_strv_t *sv);

/* Randomness from the OS CSPRNG: 0 or ERR_UNAVAIL. */
int admin__random_hex(char *out, size_t nbytes); /* out holds 2 * nbytes + 1 */
int admin__uuid4(char out[37]);

/* Resource handlers (admin_api_apps.c, admin_api_creds.c, admin_api_sso.c,
 * admin_api_idps.c). */
void admin__apps_list(admin_ctx_t *c, const char *arg);
void admin__apps_create(admin_ctx_t *c, const char *arg);
void admin__apps_delete(admin_ctx_t *c, const char *arg);
void admin__policies_list(admin_ctx_t *c, const char *arg);
void admin__policies_list_app(admin_ctx_t *c, const char *arg);
void admin__policies_create(admin_ctx_t *c, const char *arg);
void admin__policies_delete(admin_ctx_t *c, const char *arg);
void admin__tokens_list(admin_ctx_t *c, const char *arg);
void admin__tokens_create(admin_ctx_t *c, const char *arg);
void admin__tokens_revoke(admin_ctx_t *c, const char *arg);
void admin__tunnels_list(admin_ctx_t *c, const char *arg);
void admin__tunnels_create(admin_ctx_t *c, const char *arg);
void admin__tunnels_delete(admin_ctx_t *c, const char *arg);
void admin__routes_list(admin_ctx_t *c, const char *arg);
void admin__routes_add(admin_ctx_t *c, const char *arg);
void admin__routes_delete(admin_ctx_t *c, const char *arg);
void admin__users_list(admin_ctx_t *c, const char *arg);
void admin__users_create(admin_ctx_t *c, const char *arg);
void admin__users_delete(admin_ctx_t *c, const char *arg);
void admin__keys_list(admin_ctx_t *c, const char *arg);
void admin__keys_rotate(admin_ctx_t *c, const char *arg);
void admin__sessions_revoke(admin_ctx_t *c, const char *arg);
void admin__idps_list(admin_ctx_t *c, const char *arg);
void admin__idps_create(admin_ctx_t *c, const char *arg);
void admin__idps_delete(admin_ctx_t *c, const char *arg);

#endif
