/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_plugin_text: libFuzzer target over the plugins' text parsers that
 * read outside input: spool records, tres_per_* lists, --array specs and
 * formatted TRES strings. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_slurm.h"
#include "aiss_spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, type[AISS_ID_MAX] = "";
	aiss_settle_req req;
	aiss_error err;
	int64_t n = 0;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		if (aiss_spool_parse(s, &req) == 0) {
			char buf[4096];
			aiss_settle_req again;

			/* what parses must format and parse back the same */
			if (aiss_spool_format(&req, buf, sizeof(buf)) > 0 &&
			    (aiss_spool_parse(buf, &again) != 0 ||
			     memcmp(&req, &again, sizeof(req)) != 0))
				abort();
		}
		break;
	case 1: {
		aiss_gpu_request r = {
		    .tres_per_node = s, .min_nodes = 3, .num_tasks = 5};
		aiss_gpu_need need;

		(void)aiss_tres_gpus(s, &n, type, &err);
		(void)aiss_gpu_request_worst(&r, &need, &err);
		break;
	}
	case 2:
		(void)aiss_array_count(s);
		break;
	default:
		(void)aiss_tres_alloc_gpus(s, type, sizeof(type));
		break;
	}
	free(s);
	return 0;
}
