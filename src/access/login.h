/* login.h — the CLI login: a browser logs the person in at the edge, and
 * the edge hands the app token to this process sealed to a key only this
 * process holds (docs: README "Logging in from the command line").
 *
 *   1. an ephemeral X25519 key pair and a random transfer id;
 *   2. the person opens https://HOST[:PORT]/cdn-cgi/access/cli?transfer=ID&key=KEY
 *      (printed on stderr, and opened in a browser when one is found), and
 *      allows the login when the page shows this login's code;
 *   3. GET /cdn-cgi/access/transfer/ID on HOST, held by the edge up to ~20 s:
 *      200 base64url(crypto_box_seal(token, KEY)) / 204 not yet / anything
 *      else a refusal whose first body line is the reason;
 *   4. crypto_box_seal_open with the secret key: the app token (a JWT). */
#ifndef BURROW_ACCESS_LOGIN_H
#define BURROW_ACCESS_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGIN_TIMEOUT_DEFAULT 300 /* seconds: 5m */
#define LOGIN_ID_LEN 43		  /* base64url of 32 bytes, unpadded */
#define LOGIN_CODE_LEN 9	  /* "1a2b-3c4d" */
#define LOGIN_URL_MAX 512

typedef struct login_req {
	const char *host;    /* normalised application hostname */
	const char *edge;    /* "HOST:PORT" to connect to; NULL: host:443 */
	const char *ca_file; /* PEM trusted besides the system roots, or NULL */
	int64_t timeout;     /* seconds for the whole login */
	bool no_browser;     /* print the URL only */
} login_req_t;

/* Runs the login. 0 with the app token in *tok (malloc'd, NUL-terminated:
 * token_free it) and its exp; 1 after one line on stderr saying why. */
int login_run(const login_req_t *r, char **tok, size_t *len, int64_t *exp);

/* The pieces, for tests. */

/* base64url (unpadded) of 32 random bytes: LOGIN_ID_LEN chars + NUL. */
int login_transfer_id(char out[LOGIN_ID_LEN + 1]);
/* The code the login page shows: the first 4 bytes of SHA-256(pk) in hex,
 * "1a2b-3c4d". */
void login_code(const uint8_t pk[32], char out[LOGIN_CODE_LEN + 1]);
/* The login page's URL on host; ":PORT" when edge names a port other than
 * 443. ERR_INVAL for a malformed edge address, ERR_TOOBIG when out is too
 * small. */
int login_url(const char *host, const char *edge, const char *id, const char *key, char *out, size_t outlen);

#endif
