/* admin.h — `burrow admin …`: the command-line client of the edge's admin
 * API (docs/admin-api.md). */
#ifndef BURROW_ADMIN_H
#define BURROW_ADMIN_H

/* argv[0] is "admin". Returns the process exit code: 0 done, 1 the edge or
 * the network failed, 2 usage error. */
int admin_main(int argc, char **argv);

#endif
