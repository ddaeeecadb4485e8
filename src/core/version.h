/* version.h — the one place the version lives. */
#ifndef BURROW_VERSION_H
#define BURROW_VERSION_H
#define BURROW_VERSION "0.1.0"
#endif
