/* browser.c — opens the login page in a browser (browser.h).
 *
 * Must never: run a shell (the URL and $BROWSER are data, not commands),
 * let the browser inherit our stdin/stdout (under ssh's ProxyCommand they
 * are ssh's channel) or a lock, or leave a child for us to wait on. */
#include "access/browser.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"

/* The executable prog names: itself when it holds a '/', else the first
 * PATH entry that has it. Done before fork: the child only calls
 * async-signal-safe functions. */
static int find_program(const char *prog, char *out, size_t outlen)
{
	if (!*prog)
		return ERR_NOTFOUND;
	if (strchr(prog, '/')) {
		if (access(prog, X_OK) != 0 || (size_t)snprintf(out, outlen, "%s", prog) >= outlen)
			return ERR_NOTFOUND;
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct stat st;
		if (n > 0 && (size_t)snprintf(out, outlen, "%.*s/%s", (int)n, p, prog) < outlen &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (!end)
			break;
		p = end;
	}
	return ERR_NOTFOUND;
}

int browser_open(const char *url)
{
	char exe[PATH_MAX];
	const char *browser = getenv("BROWSER");
	const char *prog = browser && *browser ? browser : "xdg-open";
	if (find_program(prog, exe, sizeof(exe)) != 0)
		return ERR_NOTFOUND;
	char *const argv[] = {(char *)prog, (char *)url, NULL};
	/* Double fork: the browser's parent exits at once and init adopts it,
	 * so it outlives us and is never our zombie. */
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setsid();
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execv(exe, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}
