/* stdio_pump.c — threads that bridge non-pollable stdio to socketpairs. */
#include "core/stdio_pump.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pump {
	int from;
	int to;
	int sock;     /* our socketpair end, closed when done */
	bool reading; /* file -> socket (stdin) */
} pump_t;

static pthread_t writer_thread;
static bool writer_started;

static void *pump_main(void *arg)
{
	pump_t *p = arg;
	char buf[65536];
	for (;;) {
		ssize_t n = read(p->from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(p->to, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	close(p->sock); /* EOF for the loop's end (stdin), or done (stdout) */
	free(p);
	return NULL;
}

static bool pollable(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd));
}

int stdio_pollable(int fd, bool reading)
{
	if (pollable(fd))
		return fd;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return -errno;
	pump_t *p = malloc(sizeof(*p));
	if (!p) {
		close(sp[0]);
		close(sp[1]);
		return -ENOMEM;
	}
	/* reading: file -> sp[1] -> loop reads sp[0]; writing: loop writes sp[0] -> sp[1] -> file */
	p->from = reading ? fd : sp[1];
	p->to = reading ? sp[1] : fd;
	p->sock = sp[1];
	p->reading = reading;
	pthread_t t;
	if (pthread_create(&t, NULL, pump_main, p) != 0) {
		free(p);
		close(sp[0]);
		close(sp[1]);
		return -EAGAIN;
	}
	if (reading) {
		pthread_detach(t); /* its input may never end; nothing to wait for */
	} else {
		writer_thread = t;
		writer_started = true;
	}
	return sp[0];
}

void stdio_pump_finish(void)
{
	if (writer_started)
		pthread_join(writer_thread, NULL);
	writer_started = false;
}
