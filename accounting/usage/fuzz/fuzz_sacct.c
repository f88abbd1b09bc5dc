/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sacct: libFuzzer target for the sacct --parsable2 parser and the
 * reconciliation of what it reads (outside input: files finance staff
 * import). Checks invariants, not just crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	aiss_sacct_opts o = {.zone_offset = AISS_HKT_OFFSET,
			     .cluster = size & 1 ? "aisc" : NULL};
	aiss_sacct *s = aiss_sacct_create(&o);
	aiss_error err;
	if (!s)
		return 0;
	if (aiss_sacct_parse(s, (const char *)data, size, &err) == 0) {
		size_t n, nb;
		aiss_usage_run *r = aiss_sacct_runs(s, &n);
		const aiss_sacct_stats *st = aiss_sacct_stats_get(s);
		aiss_sacct_bad(s, &nb);
		/* every data row is accounted for exactly once */
		if (st->runs + st->steps + st->pending + st->running +
			st->no_gpu + st->duplicates + st->bad !=
		    st->rows)
			abort();
		for (size_t i = 0; i < n; i++)
			if (r[i].end < r[i].start || r[i].gpus <= 0 ||
			    !r[i].cluster[0] || r[i].line < 2)
				abort();
		/* reconciling the runs with nothing: all are no-charge */
		aiss_recon *rc = aiss_reconcile(r, n, NULL, 0, NULL, &err);
		if (!rc ||
		    aiss_recon_totals_get(rc)->count[AISS_RECON_NO_CHARGE] !=
			(int64_t)n)
			abort();
		aiss_recon_destroy(rc);
		aiss_usage_sort_for_import(r, n);
		for (size_t i = 1; i < n; i++)
			if (r[i - 1].end > r[i].end)
				abort();
	}
	aiss_sacct_destroy(s);
	return 0;
}
