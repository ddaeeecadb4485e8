/* fuzz_token_cache.c — the client's cached app token: whatever is in
 * $BURROW_HOME/access/HOST.token (a file the user's other programs, or a
 * bad disk, may have written) is read by token_exp before any use. It must
 * never crash, leak or read past the bytes; a token it accepts has an exp. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access/token_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees an over-read */
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	int64_t exp = -1;
	if (token_exp(copy, size, &exp) == 0 && exp < 0)
		abort(); /* (an exp is a time: never negative) */
	free(copy);
	return 0;
}
