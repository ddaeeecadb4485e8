/* admin.c — `burrow admin …`: parses the command line, sends one request to
 * the edge's admin API and prints the result.
 *
 * The only part of the admin client that does I/O. It must never print the
 * admin token, and prints a secret only where the command exists to show it
 * once (service-token create, tunnel create) — into a file made mode 0600
 * when stdout is a file. A password (user add) is read from stdin, never from
 * argv, and wiped with the request body once sent; so is an identity
 * provider's client secret (idp add), read from a 0600 file. */
#include "admin/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_cli.h"
#include "admin/admin_util.h"
#include "admin/http_client.h"
#include "core/err.h"
#include "core/secret_file.h"

#define ERRLEN 1024
#define PASSWORD_MIN 8 /* the edge's bounds (POST /api/v1/users) */
#define PASSWORD_MAX 1024

static void fail(const char *msg)
{
	fprintf(stderr, "burrow: admin: %s\n", msg);
}

/* A variable that is set and not empty, else NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Opens --output before the request, so a bad path fails before the edge
 * creates anything. The file is made 0600 at once, before a secret is in
 * it. *created tells the caller to remove it if the request fails. */
static int open_output(const char *path, bool *created, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0) {
		snprintf(err, errlen, "cannot make %s mode 0600 for the credentials: %s", path,
			 strerror(errno));
		close(fd);
		if (*created)
			unlink(path);
		return -1;
	}
	return fd;
}

/* A secret on stdout that goes to a regular file must not be readable by
 * others (`burrow admin tunnel create host1 > host1.json`). */
static void protect_stdout(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077) &&
	    fchmod(STDOUT_FILENO, 0600) != 0)
		fprintf(stderr,
			"burrow: admin: warning: cannot make the output file mode 0600 (%s): run chmod 600 "
			"on it\n",
			strerror(errno));
}

/* Reads one line from fd into buf (cap bytes with the NUL) byte by byte, so
 * no stdio buffer keeps a copy; the newline is dropped. *len -1: longer than
 * fits. Returns 0, or -1 at end of input before any byte. */
static int read_line(int fd, char *buf, size_t cap, ssize_t *len)
{
	size_t n = 0;
	bool any = false, over = false;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		any = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			over = true;
	}
	buf[n] = '\0';
	*len = over ? -1 : (ssize_t)n;
	return any ? 0 : -1;
}

/* The terminal's settings while a prompt has echo off, for the signal
 * handler: Ctrl-C at the prompt must not leave the terminal without echo. */
static struct termios echo_saved;

static void restore_echo(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &echo_saved); /* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One password line from the terminal on stdin, echo off, prompt on stderr. */
static int prompt_line(const char *prompt, char *buf, size_t cap, ssize_t *len)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	void (*prev[5])(int);
	struct termios quiet;
	int r;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &echo_saved) != 0)
		return -1;
	quiet = echo_saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	for (size_t i = 0; i < 5; i++)
		prev[i] = signal(sigs[i], restore_echo);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
		r = -1;
	else
		r = read_line(STDIN_FILENO, buf, cap, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &echo_saved);
	for (size_t i = 0; i < 5; i++)
		signal(sigs[i], prev[i]);
	fputc('\n', stderr); /* the user's Enter was not echoed */
	return r;
}

/* The password of inv (user add): asked twice on a terminal, else the first
 * line of stdin. Returns 0 with inv->password set (malloc'd: wipe and free),
 * or -1 after saying why. */
static int read_password(admin_inv_t *inv)
{
	char prompt[320], user[280];
	char *pw = malloc(PASSWORD_MAX + 2), *again = NULL;
	ssize_t len = 0, len2 = 0;
	int r = -1;

	if (!pw) {
		fail("out of memory");
		return -1;
	}
	if (isatty(STDIN_FILENO)) {
		admin_sanitize(inv->pos, user, sizeof(user));
		snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
		if (!(again = malloc(PASSWORD_MAX + 2))) {
			fail("out of memory");
			goto out;
		}
		if (prompt_line(prompt, pw, PASSWORD_MAX + 2, &len) != 0 ||
		    prompt_line("Again: ", again, PASSWORD_MAX + 2, &len2) != 0) {
			fail("no password read from the terminal; nothing was sent");
			goto out;
		}
		if (len != len2 || CRYPTO_memcmp(pw, again, (size_t)(len < 0 ? 0 : len)) != 0) {
			fail("the two passwords differ; nothing was sent");
			goto out;
		}
	} else if (read_line(STDIN_FILENO, pw, PASSWORD_MAX + 2, &len) != 0) {
		fail("no password on stdin: give it as the first line, e.g. from a file with '< FILE'");
		goto out;
	}
	if (len < PASSWORD_MIN || len > PASSWORD_MAX) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the password must be %d to %d bytes long; nothing was sent",
			 PASSWORD_MIN, PASSWORD_MAX);
		fail(msg);
		goto out;
	}
	inv->password = pw;
	inv->password_len = (size_t)len;
	pw = NULL;
	r = 0;
out:
	if (pw) {
		OPENSSL_cleanse(pw, PASSWORD_MAX + 2);
		free(pw);
	}
	if (again) {
		OPENSSL_cleanse(again, PASSWORD_MAX + 2);
		free(again);
	}
	return r;
}

/* The admin token: --token-file, --token, then BURROW_ADMIN_TOKEN_FILE or
 * BURROW_ADMIN_TOKEN. Returns 0 with *tok (a file's copy also in *owned:
 * wipe and free it), or -1 after saying why. */
static int admin_token(const admin_inv_t *inv, const char **tok, char **owned)
{
	const char *file = inv->token_file, *direct = inv->token;
	char err[ERRLEN];
	size_t n;

	*tok = NULL;
	*owned = NULL;
	if (file && direct) {
		fail("pass --token-file or --token, not both");
		return -1;
	}
	if (!file && !direct) {
		file = env("BURROW_ADMIN_TOKEN_FILE");
		direct = env("BURROW_ADMIN_TOKEN");
		if (file && direct) {
			fail("BURROW_ADMIN_TOKEN_FILE and BURROW_ADMIN_TOKEN are both set: unset one");
			return -1;
		}
	}
	if (!file) {
		*tok = direct;
		return 0;
	}
	if (secret_file_read(file, "admin token", ADMIN_TOKEN_MAX, owned, &n, err, sizeof(err)) != 0) {
		fail(err);
		return -1;
	}
	*tok = *owned;
	return 0;
}

/* A CA file's PEM text (idp add --ca-file), NUL-terminated, at most
 * ADMIN_CA_PEM_MAX bytes. Returns a malloc'd copy, or NULL after saying why. */
static char *read_pem(const char *path)
{
	char err[ERRLEN], *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t n = 0;

	if (fd < 0) {
		snprintf(err, sizeof(err), "cannot read the CA file %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!(text = malloc(ADMIN_CA_PEM_MAX + 2))) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, text + n, ADMIN_CA_PEM_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, sizeof(err), "cannot read the CA file %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > ADMIN_CA_PEM_MAX) {
			snprintf(err, sizeof(err), "the CA file %s is larger than %d bytes", path,
				 ADMIN_CA_PEM_MAX);
			goto fail;
		}
	}
	text[n] = '\0';
	if (n == 0 || strlen(text) != n || !strstr(text, "-----BEGIN CERTIFICATE-----")) {
		snprintf(err, sizeof(err),
			 "the CA file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path);
		goto fail;
	}
	close(fd);
	return text;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	fail(err);
	return NULL;
}

/* The files a command names (idp add): the client secret, through the same
 * checks as every secret file (mode 0600, visible ASCII), and the CA PEM.
 * 0, or -1 after saying why. */
static int read_files(admin_inv_t *inv)
{
	const char *sf = admin_inv_get(inv, AOPT_CLIENT_SECRET_FILE), *cf = admin_inv_get(inv, AOPT_CA_FILE);
	char err[ERRLEN], *secret = NULL;
	size_t n = 0;

	if (sf) {
		if (secret_file_read(sf, "client secret", ADMIN_CLIENT_SECRET_MAX, &secret, &n, err,
				     sizeof(err)) != 0) {
			fail(err);
			return -1;
		}
		inv->client_secret = secret;
		inv->client_secret_len = n;
	}
	if (cf && !(inv->ca_pem = read_pem(cf)))
		return -1;
	return 0;
}

/* Sends the request for inv and prints the outcome. Returns the exit code. */
static int run(admin_inv_t *inv)
{
	const admin_cmd_t *cmd = inv->cmd;
	const char *url_s = inv->url ? inv->url : env("BURROW_ADMIN_URL");
	const char *tok = NULL;
	char *tok_copy = NULL; /* read from a file: wiped at the end */
	const char *ca = inv->ca ? inv->ca : env("BURROW_CA");
	const char *file = admin_inv_get(inv, AOPT_OUTPUT);
	admin_request_t rq = {0};
	http_client_req_t hr;
	http_client_resp_t resp;
	admin_out_t out;
	admin_url_t url;
	json_t *j = NULL;
	char err[ERRLEN];
	bool created = false;
	size_t toklen = 0;
	int code = ADMIN_EXIT_FAIL, fd = -1, r;

	buf_init(&resp.body, 0);
	buf_init(&out.out, HTTP_CLIENT_MAX_BODY * 4);
	buf_init(&out.info, 64 * 1024);
	out.now = (int64_t)time(NULL);

	if (!url_s) {
		fail("no admin URL: pass --url or set BURROW_ADMIN_URL (e.g. https://127.0.0.1:8443)");
		code = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (admin_parse_url(url_s, &url, err, sizeof(err)) != 0) {
		fail(err);
		code = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (admin_token(inv, &tok, &tok_copy) != 0) {
		code = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (!tok) {
		fail("no admin token: pass --token-file FILE or set BURROW_ADMIN_TOKEN_FILE (the edge keeps it in "
		     "<data-dir>/admin-token), or set BURROW_ADMIN_TOKEN");
		code = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (admin_token_check(tok, &toklen) != 0) {
		fail("the admin token is empty or contains spaces or control characters: pass it exactly as "
		     "in the edge's <data-dir>/admin-token");
		code = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (file && (fd = open_output(file, &created, err, sizeof(err))) < 0) {
		fail(err);
		goto out;
	}
	if (cmd->password && read_password(inv) != 0)
		goto out;
	if (read_files(inv) != 0)
		goto out;
again: /* --follow comes back here for what is new */
	if ((r = cmd->build(inv, &rq)) != 0) {
		snprintf(err, sizeof(err), "cannot build the request: %s", err_str(r));
		fail(err);
		goto out;
	}

	hr = (http_client_req_t){
	    .url = &url,
	    .ca_file = ca,
	    .token = tok,
	    .token_len = toklen,
	    .method = rq.method,
	    .path = rq.path,
	    .body = rq.body,
	    .body_len = rq.body ? strlen(rq.body) : 0,
	};
	if (http_client_request(&hr, &resp, err, sizeof(err)) != 0) {
		fail(err);
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		admin_api_error(cmd, resp.status, (const char *)buf_head(&resp.body), buf_used(&resp.body),
				err, sizeof(err));
		fail(err);
		goto out;
	}

	/* --json alone passes the body through; the credentials file is built
	 * from the parsed response even then. */
	if (!inv->json || file || cmd->stream) {
		json_error_t je;
		j = json_loadb((const char *)buf_head(&resp.body), buf_used(&resp.body), 0, &je);
		if (!json_is_object(j)) {
			fail("the edge's response is not a JSON object: is --url the edge's admin listener?");
			goto out;
		}
		if (cmd->render(inv, j, &out, err, sizeof(err)) != 0) {
			fail(err[0] ? err : "cannot format the response");
			goto out;
		}
	}
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0 ||
		    write_all(fd, buf_head(&out.out), buf_used(&out.out)) != 0 || fsync(fd) != 0) {
			snprintf(
			    err, sizeof(err),
			    "cannot write the credentials to %s: %s; the tunnel exists now, so delete it "
			    "('burrow admin tunnel delete %s') and create it again",
			    file, strerror(errno), inv->pos);
			fail(err);
			goto out;
		}
		close(fd);
		fd = -1;
		created = false;
	}
	if (cmd->secret && (inv->json || !file))
		protect_stdout();
	bool raw = inv->json && !cmd->stream;
	if (raw)
		r = write_all(STDOUT_FILENO, buf_head(&resp.body), buf_used(&resp.body));
	else
		r = file ? 0 : write_all(STDOUT_FILENO, buf_head(&out.out), buf_used(&out.out));
	if (r == 0 && raw &&
	    (buf_used(&resp.body) == 0 || buf_head(&resp.body)[buf_used(&resp.body) - 1] != '\n'))
		r = write_all(STDOUT_FILENO, "\n", 1);
	if (r != 0) {
		snprintf(err, sizeof(err), "cannot write to stdout: %s", strerror(-r));
		fail(err);
		goto out;
	}
	if (buf_used(&out.info))
		write_all(STDERR_FILENO, buf_head(&out.info), buf_used(&out.info));
	if (cmd->stream && admin_inv_count(inv, AOPT_FOLLOW)) {
		inv->after = (long long)json_integer_value(json_object_get(j, "next"));
		json_decref(j);
		j = NULL;
		free(rq.body);
		rq = (admin_request_t){0};
		buf_free_secret(&resp.body);
		buf_reset(&out.out);
		buf_reset(&out.info);
		sleep(1);
		goto again;
	}
	code = ADMIN_EXIT_OK;
out:
	if (fd >= 0) {
		close(fd);
		if (created)
			unlink(file);
	}
	if (tok_copy) {
		OPENSSL_cleanse(tok_copy, strlen(tok_copy));
		free(tok_copy);
	}
	json_decref(j);
	if (rq.body) /* may hold a password */
		OPENSSL_cleanse(rq.body, strlen(rq.body));
	free(rq.body);
	if (inv->password) {
		OPENSSL_cleanse((char *)inv->password, PASSWORD_MAX + 2);
		free((char *)inv->password);
		inv->password = NULL;
		inv->password_len = 0;
	}
	if (inv->client_secret) {
		OPENSSL_cleanse((char *)inv->client_secret, inv->client_secret_len);
		free((char *)inv->client_secret);
		inv->client_secret = NULL;
	}
	free((char *)inv->ca_pem);
	inv->ca_pem = NULL;
	buf_free_secret(&resp.body);
	buf_free_secret(&out.out);
	buf_free(&out.info);
	return code;
}

int admin_main(int argc, char **argv)
{
	admin_inv_t inv;
	char err[ERRLEN];
	buf_t help;
	int code, r = admin_cli_parse(argc, argv, &inv, err, sizeof(err));

	switch (r) {
	case ADMIN_PARSE_RUN: code = run(&inv); break;
	case ADMIN_PARSE_HELP:
	case ADMIN_PARSE_HELP_USAGE:
		buf_init(&help, 1 << 20);
		if (admin_cli_help(&inv, &help) == 0)
			write_all(r == ADMIN_PARSE_HELP ? STDOUT_FILENO : STDERR_FILENO, buf_head(&help),
				  buf_used(&help));
		buf_free(&help);
		code = r == ADMIN_PARSE_HELP ? ADMIN_EXIT_OK : ADMIN_EXIT_USAGE;
		break;
	default:
		fail(err);
		code = ADMIN_EXIT_USAGE;
		break;
	}
	admin_inv_free(&inv);
	return code;
}
