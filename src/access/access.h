/* access.h — the client role (`burrow access ...`). */
#ifndef BURROW_ACCESS_H
#define BURROW_ACCESS_H

int access_main(int argc, char **argv);

#endif
