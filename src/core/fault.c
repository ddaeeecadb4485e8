/* fault.c — BURROW_FAULTS parsing and counting (see fault.h). One loop
 * thread calls it; the counters need no lock. */
#include "core/fault.h"

#ifdef BURROW_FAULTS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_SITES 16

static struct {
	char name[32];
	unsigned every, calls;
} sites[FAULT_SITES];
static int nsites = -1; /* -1: BURROW_FAULTS not read yet */

static void load(void)
{
	nsites = 0;
	const char *v = getenv("BURROW_FAULTS");
	char buf[512];
	if (!v || strlen(v) >= sizeof(buf))
		return;
	memcpy(buf, v, strlen(v) + 1);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t && nsites < FAULT_SITES; t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		unsigned every = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 1;
		if (colon)
			*colon = '\0';
		if (!every || strlen(t) >= sizeof(sites[0].name))
			continue;
		memcpy(sites[nsites].name, t, strlen(t) + 1);
		sites[nsites].every = every;
		nsites++;
	}
}

bool fault_hit(const char *site)
{
	if (nsites < 0)
		load();
	for (int i = 0; i < nsites; i++)
		if (strcmp(sites[i].name, site) == 0)
			return ++sites[i].calls % sites[i].every == 0;
	return false;
}
#else
typedef int fault_unused_t; /* (ISO C wants something in a translation unit) */
#endif
