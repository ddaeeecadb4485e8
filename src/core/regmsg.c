/* regmsg.c — registration messages as JSON (jansson). */
#include "core/regmsg.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* Copies a JSON string into out when it fits and has no NUL. */
static int copy_str(json_t *v, char *out, size_t outlen, size_t *len)
{
	if (!json_is_string(v))
		return ERR_PROTO;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n == 0 || n >= outlen || memchr(s, '\0', n))
		return ERR_PROTO;
	memcpy(out, s, n);
	out[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

static void wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		OPENSSL_cleanse((void *)json_string_value(v), json_string_length(v));
}

int reg_request_parse(const uint8_t *p, size_t n, reg_request_t *out, char *err, size_t errlen)
{
	json_error_t je;
	int r = ERR_PROTO;
	memset(out, 0, sizeof(*out));
	if (n > REG_MAX_BODY) {
		snprintf(err, errlen, "registration too large");
		return ERR_PROTO;
	}
	json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "malformed registration: not a JSON object");
		goto out;
	}
	json_t *hosts = json_object_get(j, "hostnames");
	json_t *idx = json_object_get(j, "conn_index");
	json_t *ver = json_object_get(j, "version");
	if (copy_str(json_object_get(j, "tunnel_id"), out->tunnel_id, sizeof(out->tunnel_id), NULL) ||
	    copy_str(json_object_get(j, "tunnel_secret"), out->secret, sizeof(out->secret), &out->secret_len)) {
		snprintf(err, errlen, "malformed registration: tunnel_id and tunnel_secret must be strings");
		goto out;
	}
	if (ver && copy_str(ver, out->version, sizeof(out->version), NULL)) {
		snprintf(err, errlen, "malformed registration: bad version");
		goto out;
	}
	if (!ver)
		snprintf(out->version, sizeof(out->version), "unknown");
	if (idx && (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 1000)) {
		snprintf(err, errlen, "malformed registration: conn_index must be 0..1000");
		goto out;
	}
	out->conn_index = idx ? (int)json_integer_value(idx) : 0;
	if (!json_is_array(hosts)) {
		snprintf(err, errlen, "malformed registration: hostnames must be an array");
		goto out;
	}
	if (json_array_size(hosts) > REG_MAX_HOSTS) {
		snprintf(err, errlen, "too many hostnames (at most %d)", REG_MAX_HOSTS);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		json_t *h = json_array_get(hosts, i);
		if (!json_is_string(h) ||
		    hostname_normalize(json_string_value(h), json_string_length(h), out->hosts[out->nhosts]) != 0) {
			snprintf(err, errlen, "invalid hostname in registration");
			goto out;
		}
		out->nhosts++;
	}
	r = 0;
out:
	if (j)
		wipe_json_string(json_object_get(j, "tunnel_secret"));
	json_decref(j);
	if (r)
		reg_request_wipe(out);
	return r;
}

char *reg_request_encode(const reg_request_t *r)
{
	if (r->secret_len > REG_MAX_SECRET)
		return NULL;
	json_t *hosts = json_array();
	for (size_t i = 0; hosts && i < r->nhosts; i++)
		json_array_append_new(hosts, json_string(r->hosts[i]));
	json_t *j = json_pack("{s:s,s:s%,s:s,s:i,s:o}", "tunnel_id", r->tunnel_id, "tunnel_secret", r->secret,
			      r->secret_len, "version", r->version, "conn_index", r->conn_index, "hostnames", hosts);
	if (!j)
		return NULL;
	char *txt = json_dumps(j, JSON_COMPACT);
	wipe_json_string(json_object_get(j, "tunnel_secret"));
	json_decref(j);
	return txt;
}

void reg_request_wipe(reg_request_t *r) { OPENSSL_cleanse(r->secret, sizeof(r->secret)); }

int reg_result_parse(const uint8_t *p, size_t n, reg_result_t *out)
{
	json_error_t je;
	memset(out, 0, sizeof(*out));
	if (n > REG_MAX_BODY)
		return ERR_PROTO;
	json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &je);
	json_t *ok = json_object_get(j, "ok");
	int r = ERR_PROTO;
	if (!json_is_boolean(ok))
		goto out;
	out->ok = json_is_true(ok);
	if (out->ok) {
		json_t *idx = json_object_get(j, "conn_index");
		copy_str(json_object_get(j, "tunnel_name"), out->tunnel_name, sizeof(out->tunnel_name), NULL);
		out->conn_index = json_is_integer(idx) ? (int)json_integer_value(idx) : 0;
		if (copy_str(json_object_get(j, "warning"), out->warning, sizeof(out->warning), NULL) != 0)
			out->warning[0] = '\0'; /* (optional: an older edge sends none) */
	} else if (copy_str(json_object_get(j, "error"), out->error, sizeof(out->error), NULL) != 0) {
		snprintf(out->error, sizeof(out->error), "no reason given");
	}
	/* Reasons are printed on the operator's terminal: no control bytes. */
	for (char *c = out->error; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	for (char *c = out->warning; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	r = 0;
out:
	json_decref(j);
	return r;
}

char *reg_result_encode(const reg_result_t *r)
{
	json_t *j = r->ok ? json_pack("{s:b,s:s,s:i}", "ok", 1, "tunnel_name", r->tunnel_name, "conn_index",
				      r->conn_index)
			  : json_pack("{s:b,s:s}", "ok", 0, "error", r->error);
	if (j && r->ok && r->warning[0] && json_object_set_new(j, "warning", json_string(r->warning)) != 0) {
		json_decref(j);
		j = NULL;
	}
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return txt;
}
