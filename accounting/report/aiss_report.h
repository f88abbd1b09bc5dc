/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_report: the fiscal-year report (policy items 10-13) and forecast,
 * computed from in-memory inputs, and its renderers (table, JSON, CSV, HTML).
 */
#ifndef AISS_REPORT_H
#define AISS_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "aiss_model.h"

/* What the report is computed from. Arrays are borrowed for the call only. */
typedef struct aiss_report_input {
	const aiss_scheme *scheme; /* commitment, earmarked, start, end */
	const aiss_grant *grants;  /* for institutions, types, approvals */
	size_t n_grants;
	const aiss_charge_rec *charges; /* settled runs, any order */
	size_t n_charges;
	const aiss_adjustment *adjustments;
	size_t n_adjustments;
} aiss_report_input;

/* Breakdown the table/CSV renderers add below the quarters. */
typedef enum aiss_report_by {
	AISS_REPORT_BY_NONE = 0,
	AISS_REPORT_BY_INST_TYPE = 1,
	AISS_REPORT_BY_GRANT = 2,
} aiss_report_by;

typedef struct aiss_report_opts {
	int fy;             /* fiscal year, e.g. 2025 for "2025-26" */
	int quarter;        /* 0 = whole year; 1..4 narrows to that quarter */
	aiss_time_t as_of;  /* forecast's "now"; 0 or later than the period
			       end = the period end */
	int64_t trailing_s; /* burn-rate window; 0 = 182 days */
	aiss_report_by by;  /* breakdown shown by table and CSV */
} aiss_report_opts;

/* Money and usage over some period. Expenditure is subsidy charged net of
 * adjustments (a credit, amount > 0, lowers it); co-payments beside it. */
typedef struct aiss_report_totals {
	aiss_cents_t expenditure;
	aiss_cents_t subsidy;     /* subsidy charged, before adjustments */
	aiss_cents_t adjustments; /* net credits (+) / debits (-) in period */
	aiss_cents_t list_cost;
	aiss_cents_t copay;
	int64_t gpu_seconds;    /* billed GPU-seconds (NODE_FAIL excluded) */
	int64_t runs;           /* runs with any second in the period */
	int64_t node_fail_runs; /* of which ended in NODE_FAIL */
} aiss_report_totals;

/* One grant's line. */
typedef struct aiss_report_grant {
	char id[AISS_ID_MAX];
	char institution[AISS_NAME_MAX];
	aiss_inst_type inst_type;
	aiss_cents_t approved_subsidy;
	aiss_cents_t spent_to_date; /* expenditure up to the period end */
	aiss_cents_t remaining;     /* approved - spent_to_date */
	aiss_report_totals period;  /* in the report's period */
	aiss_cents_t forecast_more; /* projected further spend to scheme end */
} aiss_report_grant;

/* The forecast (projected expenditure to the scheme's end). */
typedef struct aiss_report_forecast {
	aiss_time_t as_of;
	aiss_time_t scheme_end;
	aiss_cents_t spent_to_date;  /* cumulative expenditure to as_of */
	aiss_cents_t trailing_spend; /* in [as_of - trailing_s, as_of) */
	int64_t trailing_s;
	aiss_cents_t burn_projection;  /* spent + trailing rate * time left */
	aiss_cents_t grant_projection; /* spent + per-grant rate, capped by
					  approvals and windows */
	aiss_cents_t approved_total;   /* sum of grants' approved subsidy */
	aiss_cents_t available;        /* commitment - earmarked */
	int exceeds;    /* 1: a projection exceeds the available commitment */
	int underspend; /* 1: projection leaves > 25% of it unspent */
	char warning[AISS_TEXT_MAX]; /* the sentence, "" when none */
} aiss_report_forecast;

/* One quarter of the scheme's life (burn-down chart). */
typedef struct aiss_report_history {
	int fy, quarter;
	aiss_cents_t expenditure;
	aiss_cents_t remaining_after; /* commitment - cumulative at its end */
	int actual;                   /* 1 when it ended by as_of */
} aiss_report_history;

typedef struct aiss_report aiss_report;

/* The figures of policy item 13 for the report's period. */
typedef struct aiss_report_summary {
	int fy;
	int quarter;              /* 0 = whole year */
	aiss_time_t period_start; /* FY start, or the quarter's start */
	aiss_time_t period_end;   /* exclusive */
	aiss_cents_t commitment;
	aiss_cents_t earmarked;
	aiss_cents_t approved_total;    /* sum of grants' approved subsidy */
	aiss_cents_t cumulative_before; /* expenditure to 31 March before FY */
	aiss_cents_t fy_expenditure;    /* in the FY up to the period end */
	aiss_cents_t balance;           /* commitment - cumulative - fy */
	aiss_report_totals period;      /* in the period (year or quarter) */
	aiss_report_totals fy_total;    /* FY up to the period end */
} aiss_report_summary;

/*
 * Computes the report for @opts->fy (and quarter) from @in. Every charge is
 * split into fiscal quarters by aiss_policy_split() (policy item 10);
 * adjustments count in the quarter of their date. Returns a report the
 * caller frees with aiss_report_destroy(), or NULL with @err
 * (AISS_E_INVALID for a bad year/quarter or a malformed charge).
 */
aiss_report *aiss_report_compute(const aiss_report_input *in,
				 const aiss_report_opts *opts, aiss_error *err);

/* Frees @r; NULL is accepted. */
void aiss_report_destroy(aiss_report *r);

/* Borrowed views, valid until aiss_report_destroy(). */
const aiss_report_summary *aiss_report_summary_get(const aiss_report *r);
/* Quarter @q (1..4) of the FY, or NULL for another @q. With a quarter
 * selected, the earlier ones are filled too (they make up the year to
 * date) and the later ones are zero; table/JSON show only the selected. */
const aiss_report_totals *aiss_report_quarter(const aiss_report *r, int q);
/* Period totals of institution type @t (0..AISS_INST__COUNT-1). */
const aiss_report_totals *aiss_report_by_type(const aiss_report *r,
					      aiss_inst_type t);
/* Expenditure of type @t in quarter @q (1..4) of the FY. */
aiss_cents_t aiss_report_quarter_type(const aiss_report *r, int q,
				      aiss_inst_type t);
/* Grants sorted by period expenditure (largest first, then id); *n set. */
const aiss_report_grant *aiss_report_grants(const aiss_report *r, size_t *n);
const aiss_report_forecast *aiss_report_forecast_get(const aiss_report *r);
/* Quarters from the scheme's start to its end; *n set. */
const aiss_report_history *aiss_report_history_get(const aiss_report *r,
						   size_t *n);

/*
 * Renderers. Each writes the whole document to @out and returns 0, or -1
 * with errno (write error). @by picks the breakdown for table and CSV;
 * JSON and HTML always carry all breakdowns.
 */
int aiss_report_write_table(const aiss_report *r, aiss_report_by by, FILE *out);
int aiss_report_write_json(const aiss_report *r, FILE *out);
/* UTF-8 with a byte-order mark, CRLF line ends, RFC 4180 quoting. Columns:
 * section,key,name,expenditure_hkd,list_cost_hkd,copay_hkd,gpu_hours,runs */
int aiss_report_write_csv(const aiss_report *r, aiss_report_by by, FILE *out);
/* One self-contained HTML page with inline SVG charts. */
int aiss_report_write_html(const aiss_report *r, FILE *out);

/* Writes @s as an RFC 4180 CSV field (quoted when it holds , " CR or LF). */
void aiss_csv_field(FILE *out, const char *s);

/* @c in thousands of dollars as the Estimates print them (HK$'000,
 * rounded half up, grouped): 90500000000 -> "905,000"; 0 -> "nil".
 * Returns @buf (AISS_MONEY_BUFSZ). */
char *aiss_report_thousands(aiss_cents_t c, char *buf, size_t len);

/* GPU-seconds as hours with two decimals, "1234.50" (exact, rounded half
 * up). Returns @buf. */
char *aiss_report_gpu_hours(int64_t gpu_seconds, char *buf, size_t len);

#endif
