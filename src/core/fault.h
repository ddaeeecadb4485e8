/* fault.h — injected failures, for tests of error paths that real
 * resources rarely take (an allocation that fails in session set-up).
 *
 * Only the test build has them (make test compiles with -DBURROW_FAULTS);
 * elsewhere fault_hit is a constant false and costs nothing. In the test
 * build, BURROW_FAULTS="site:N,site:N" makes every Nth call of fault_hit
 * for that site return true; the caller then behaves as if its allocation
 * had failed. Sites are named where fault_hit is called. */
#ifndef BURROW_FAULT_H
#define BURROW_FAULT_H

#include <stdbool.h>

#ifdef BURROW_FAULTS
bool fault_hit(const char *site);
#else
static inline bool fault_hit(const char *site)
{
	(void)site;
	return false;
}
#endif

#endif
