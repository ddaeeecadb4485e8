/* main.c — `burrow`: dispatches to a role. No behaviour lives here. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "admin/admin.h"
#include "core/tls.h"
#include "core/version.h"
#include "tunnel/tunnel.h"

static int edge_exec(int argc, char **argv);
static int version_main(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"edge", edge_exec, "run the edge: TLS, admin API, tunnels (burrow edge --help)"},
	{"tunnel", tunnel_main, "run a connector next to a service (burrow tunnel --help)"},
	{"access", access_main, "reach an application: ssh, tcp, ssh-config, login, token, logout (burrow access --help)"},
	{"admin", admin_main, "manage apps, policies, service tokens, tunnels (burrow admin --help)"},
	{"version", version_main, "print the version"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: burrow <command> [options]\n\n"
		     "Reach SSH and other TCP services on machines that accept no inbound connections,\n"
		     "through an edge you run yourself.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nEnvironment: BURROW_EDGE, BURROW_CA, BURROW_SERVICE_TOKEN_ID, BURROW_SERVICE_TOKEN_SECRET,\n"
		     "BURROW_ADMIN_URL, BURROW_ADMIN_TOKEN, BURROW_HOME (default ~/.burrow).\n");
}

static int version_main(int argc, char **argv)
{
	printf("burrow %s\n", BURROW_VERSION);
	return 0;
}

/* The edge is its own executable beside this one, so the client and the
 * connector never load the edge's libraries. */
static int edge_exec(int argc, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	if (n <= 0) {
		fprintf(stderr, "burrow: edge: cannot find the burrow binary's directory\n");
		return 1;
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	size_t at = slash ? (size_t)(slash + 1 - exe) : 0;
	snprintf(exe + at, sizeof(exe) - at, "burrow-edge");
	argv[0] = exe;
	execv(exe, argv);
	fprintf(stderr, "burrow: edge: cannot run %s: %s (is burrow-edge installed beside burrow?)\n", exe,
		strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return version_main(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (commands[i].fn != edge_exec) /* burrow-edge sets OpenSSL up itself */
			tls_init_short_lived();
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "burrow: unknown command %s (see burrow --help)\n", argv[1]);
	return 2;
}
