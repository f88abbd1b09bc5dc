/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report_int.h: the report's private layout, shared by compute and renderers.
 */
#ifndef AISS_REPORT_INT_H
#define AISS_REPORT_INT_H

#include "aiss_report.h"

/* Per-grant working data used while computing (not rendered). */
typedef struct grant_meta {
	aiss_time_t window_start, window_end;
	int closed;
	aiss_cents_t trailing;    /* subsidy in the trailing window */
	aiss_cents_t spent_as_of; /* expenditure to the forecast's as_of */
} grant_meta;

struct aiss_report {
	aiss_report_summary sum;
	aiss_report_totals quarters[4];
	aiss_report_totals types[AISS_INST__COUNT];
	aiss_cents_t q_type[4][AISS_INST__COUNT];
	aiss_report_grant *grants;
	size_t n_grants, grants_cap;
	grant_meta *gmeta;
	int32_t *gmap;
	size_t gmap_cap;
	aiss_report_history *hist;
	size_t n_hist;
	int hist_lo;
	aiss_report_forecast fc;
	aiss_report_by by;
	char scheme_name[AISS_NAME_MAX];
};

/* Chinese and English names of institution type @t. */
const char *report_type_zh(aiss_inst_type t);
const char *report_type_en(aiss_inst_type t);

#endif
