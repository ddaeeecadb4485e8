/* browser.h — opens a URL in the user's browser for a CLI login. */
#ifndef BURROW_ACCESS_BROWSER_H
#define BURROW_ACCESS_BROWSER_H

/* Starts `$BROWSER url` when BROWSER is set, else `xdg-open url` when it is
 * on PATH: detached (its own session, not our child once this returns),
 * stdin/stdout/stderr on /dev/null, never through a shell (url is one
 * argument). 0 when a program was started; a negative code otherwise (the
 * caller has printed the URL anyway, so failures need no message). */
int browser_open(const char *url);

#endif
