/* stdio_pump.h — makes stdin/stdout usable by the event loop whatever they are.
 *
 * epoll cannot watch regular files or /dev/null, yet `burrow access ssh
 * < file > out` should work. For such a descriptor a thread copies between
 * it and one end of a socketpair, and the loop gets the other end. Pipes,
 * sockets and terminals are used as they are. */
#ifndef BURROW_STDIO_PUMP_H
#define BURROW_STDIO_PUMP_H

#include <stdbool.h>

/* Returns a pollable descriptor standing for fd (fd itself, or a
 * socketpair end fed by a pump thread), or a negative error. reading: the
 * loop reads from it (stdin); else the loop writes to it (stdout). */
int stdio_pollable(int fd, bool reading);

/* Waits until every pump writing to a file has written all it was given
 * (call before exiting, after the loop has closed its ends). */
void stdio_pump_finish(void);

#endif
