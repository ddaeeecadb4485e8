/* fuzz_regmsg.c — registration request and result parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/regmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static reg_request_t q;
	char err[256];
	if (reg_request_parse(data, size, &q, err, sizeof(err)) == 0) {
		/* Whatever parses must encode and parse back to the same request. */
		char *txt = reg_request_encode(&q);
		if (txt) {
			static reg_request_t back;
			if (reg_request_parse((const uint8_t *)txt, strlen(txt), &back, err, sizeof(err)) != 0 ||
			    back.nhosts != q.nhosts || strcmp(back.tunnel_id, q.tunnel_id) != 0)
				abort();
			free(txt);
		}
	}
	reg_result_t r;
	reg_result_parse(data, size, &r);
	return 0;
}
