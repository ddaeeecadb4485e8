/* login_cmd.h — `burrow access login|token|logout`, and the login options
 * access ssh and tcp share with them. */
#ifndef BURROW_ACCESS_LOGIN_CMD_H
#define BURROW_ACCESS_LOGIN_CMD_H

#include <stdint.h>

#define ACCESS_LOGIN_USAGE                                                                                   \
	"       burrow access login https://HOST [--login-timeout 5m] [--no-browser]\n"                      \
	"       burrow access token --app https://HOST\n"                                                    \
	"       burrow access logout https://HOST\n"

/* sub is "login", "token" or "logout"; argv[0] is sub. Returns the exit
 * status. */
int access_login_main(const char *sub, int argc, char **argv);

/* --login-timeout's value (NULL: the default, 5m) in seconds: 0, or 2 after
 * a line on stderr. */
int access_login_timeout(const char *cmd, const char *s, int64_t *secs);

#endif
