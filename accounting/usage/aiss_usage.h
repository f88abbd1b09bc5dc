/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_usage: Slurm's own job records (`sacct --parsable2`) read into runs,
 * and their reconciliation against the ledger's charges (pure functions). */
#ifndef AISS_USAGE_H
#define AISS_USAGE_H

#include <stdint.h>
#include <stdio.h>

#include "aiss_model.h"

/* ---- sacct parsing ---- */

/* One run (policy item 4) found in Slurm's records. Strings point into the
 * parser's pool and live until aiss_sacct_destroy(). */
typedef struct aiss_usage_run {
	const char *cluster;
	uint64_t job_id;
	aiss_time_t start, end; /* UTC seconds */
	int64_t gpus;           /* across all nodes (AllocTRES totals) */
	const char *account;
	const char *user;
	const char *gpu_type; /* from gres/gpu:TYPE=N; "" when untyped */
	const char *state;    /* first word: COMPLETED, NODE_FAIL, ... */
	int64_t line;         /* 1-based line in the input */
} aiss_usage_run;

/* A row that could not be read, with its line number and why. */
typedef struct aiss_usage_bad {
	int64_t line;
	char reason[200];
} aiss_usage_bad;

typedef struct aiss_sacct_opts {
	int zone_offset;     /* seconds east of UTC the times are in;
				AISS_HKT_OFFSET for Asia/Hong_Kong */
	const char *cluster; /* for rows with no Cluster column/value; NULL:
				"default" is refused as a bad row */
} aiss_sacct_opts;

/* What the parse found, row by row. */
typedef struct aiss_sacct_stats {
	int64_t rows;       /* data rows (header and blank lines excluded) */
	int64_t runs;       /* distinct runs kept */
	int64_t steps;      /* job steps skipped (JobIDRaw with '.') */
	int64_t pending;    /* never started (Start Unknown/None) skipped */
	int64_t running;    /* still running (End Unknown) skipped */
	int64_t no_gpu;     /* runs with no GPUs skipped */
	int64_t duplicates; /* identical rows of a run already seen */
	int64_t bad;        /* rows reported as bad */
} aiss_sacct_stats;

typedef struct aiss_sacct aiss_sacct;

/* Creates an empty parser. Returns NULL with errno ENOMEM. Free with
 * aiss_sacct_destroy(). @o may be NULL (Hong Kong time, no cluster). */
aiss_sacct *aiss_sacct_create(const aiss_sacct_opts *o);
/* Frees @s and every string its runs point to; NULL is accepted. */
void aiss_sacct_destroy(aiss_sacct *s);

/*
 * Parses a whole `sacct --parsable2` document (header line first; columns
 * found by name: Cluster (optional), JobIDRaw (or JobID), Account, User,
 * Start, End, State, AllocTRES). Bad rows are recorded with their line
 * numbers and the rest still read. Returns 0, or -1 with @err when the
 * document cannot be read at all (no header, a needed column missing:
 * AISS_E_INVALID; out of memory: AISS_E_INTERNAL).
 */
int aiss_sacct_parse(aiss_sacct *s, const char *buf, size_t len,
		     aiss_error *err);
/* aiss_sacct_parse() over the file at @path ("-" = stdin). */
int aiss_sacct_parse_file(aiss_sacct *s, const char *path, aiss_error *err);

/* The runs in input order (duplicates removed); *n set. Borrowed. */
aiss_usage_run *aiss_sacct_runs(aiss_sacct *s, size_t *n);
const aiss_usage_bad *aiss_sacct_bad(const aiss_sacct *s, size_t *n);
const aiss_sacct_stats *aiss_sacct_stats_get(const aiss_sacct *s);

/*
 * GPUs in an AllocTRES string ("cpu=16,gres/gpu:h100=8,gres/gpu=8,node=1"):
 * the typed entries' sum when any (the untyped total repeats them), else
 * the untyped count; 0 when none. The first typed entry's type goes to
 * @type (room @tlen; "" when untyped). Returns 0, or -1 with errno EINVAL
 * when a GPU count is not a number.
 */
int aiss_tres_gpus(const char *tres, size_t len, int64_t *gpus, char *type,
		   size_t tlen);

/* Parses a zone: "+08:00", "-05:30", "+8", "UTC", "Z", "HKT",
 * "Asia/Hong_Kong". Returns 0 with *offset (seconds east), or -1/EINVAL. */
int aiss_zone_parse(const char *s, int *offset);

/* Sorts @runs by end, then run key (cluster, job id, start): the order
 * runs are charged in (policy item 8). */
void aiss_usage_sort_for_import(aiss_usage_run *runs, size_t n);

/* ---- reconciliation ---- */

typedef enum aiss_recon_kind {
	AISS_RECON_MATCHED = 0,
	AISS_RECON_NO_CHARGE = 1,    /* run in Slurm's records, not charged */
	AISS_RECON_NO_RUN = 2,       /* charge with no run in the records */
	AISS_RECON_GPU_MISMATCH = 3, /* GPU counts differ */
	AISS_RECON_AMOUNT_MISMATCH = 4, /* list cost differs from the record */
} aiss_recon_kind;
#define AISS_RECON__COUNT 5

/* "matched", "no-charge", "no-run", "gpu-mismatch", "amount-mismatch". */
const char *aiss_recon_kind_name(aiss_recon_kind k);

/* One exception (matched runs are counted, not listed). */
typedef struct aiss_recon_item {
	aiss_recon_kind kind;
	const aiss_usage_run *run;     /* NULL for no-run */
	const aiss_charge_rec *charge; /* NULL for no-charge */
	aiss_cents_t expected_list;    /* list cost Slurm's record implies at
					  the charge's price (mismatches) */
} aiss_recon_item;

typedef struct aiss_recon_totals {
	int64_t count[AISS_RECON__COUNT]; /* runs/charges per kind */
	int64_t runs, charges;            /* inputs considered */
	int64_t run_gpu_seconds;          /* Slurm: GPUs x duration, all runs */
	int64_t charged_gpu_seconds;      /* ledger: all charges considered */
	aiss_cents_t charged_list, charged_subsidy, charged_copay;
	aiss_cents_t matched_subsidy; /* of charges that matched exactly */
	int64_t exceptions;           /* everything but matched */
} aiss_recon_totals;

/* Which charges take part: those whose run ended in [from, to) (to == 0:
 * no bound), and, with only_run_clusters, of a cluster the runs name. */
typedef struct aiss_recon_opts {
	aiss_time_t from, to;
	int only_run_clusters;
} aiss_recon_opts;

typedef struct aiss_recon aiss_recon;

/*
 * Matches @runs with @charges on the run key (cluster, job id, run start),
 * so requeued runs and job ids reused after wrap-around stay apart. A
 * matched pair is an exception when the GPU counts differ, or when the
 * charged list cost differs from gpus x (end - start) x price (zero for
 * NODE_FAIL) computed from Slurm's record. Both arrays are borrowed and
 * must outlive the result. Returns a result freed with
 * aiss_recon_destroy(), or NULL with @err (AISS_E_INTERNAL: no memory).
 */
aiss_recon *aiss_reconcile(const aiss_usage_run *runs, size_t n_runs,
			   const aiss_charge_rec *charges, size_t n_charges,
			   const aiss_recon_opts *opts, aiss_error *err);
void aiss_recon_destroy(aiss_recon *r);
/* Exceptions: runs' in input order, then charges with no run. */
const aiss_recon_item *aiss_recon_items(const aiss_recon *r, size_t *n);
const aiss_recon_totals *aiss_recon_totals_get(const aiss_recon *r);

/* The exceptions as CSV (UTF-8 BOM, CRLF, RFC 4180). Returns 0 or -1. */
int aiss_recon_write_csv(const aiss_recon *r, FILE *out);
/* A readable summary and the exceptions list. Returns 0 or -1. */
int aiss_recon_write_text(const aiss_recon *r, FILE *out);
/* The totals and exceptions as one JSON object. Returns 0 or -1. */
int aiss_recon_write_json(const aiss_recon *r, FILE *out);

#endif
