/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_model: the quota service's own structs (scheme, grants, prices, runs,
 * liens, charges, journal), shared by the ledger, the wire layer, the client
 * library, aissctl and the plugins. No generated protobuf types here. */
#ifndef AISS_MODEL_H
#define AISS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aiss_error.h"
#include "aiss_money.h"
#include "aiss_policy.h"
#include "aiss_time.h"

#define AISS_ID_MAX 64	   /* grant ids, accounts, users, GPU types, clusters */
#define AISS_NAME_MAX 128  /* scheme, institution, earmark names */
#define AISS_LIST_MAX 256  /* comma-separated accounts / GPU types */
#define AISS_MEMBERS_MAX 2048 /* comma-separated member users */
#define AISS_TEXT_MAX 512  /* reasons, details */
#define AISS_STATE_MAX 32  /* Slurm end states */

/* Institution types (policy item 13 reports by these). Wire values: fixed. */
typedef enum aiss_inst_type {
	AISS_INST_UNKNOWN = 0,
	AISS_INST_UNIVERSITY = 1,
	AISS_INST_RD_CENTRE = 2,
	AISS_INST_ENTERPRISE = 3,
	AISS_INST_GOVERNMENT = 4,
} aiss_inst_type;
#define AISS_INST__COUNT 5

/* "university", "rd-centre", "enterprise", "government"; "unknown". */
const char *aiss_inst_type_name(aiss_inst_type t);
/* Parses the names above (also "r&d", "rd_centre", "gov"). 0 or -1/EINVAL. */
int aiss_inst_type_parse(const char *s, aiss_inst_type *out);

typedef enum aiss_grant_state {
	AISS_GRANT_ACTIVE = 1,
	AISS_GRANT_SUSPENDED = 2,
	AISS_GRANT_CLOSED = 3,
} aiss_grant_state;
/* "active", "suspended", "closed"; parse is the inverse (0 or -1/EINVAL). */
const char *aiss_grant_state_name(aiss_grant_state s);
int aiss_grant_state_parse(const char *s, aiss_grant_state *out);

/* The scheme (one per ledger). Totals are filled in on read. */
typedef struct aiss_scheme {
	char name[AISS_NAME_MAX];
	aiss_cents_t commitment;     /* HK$3,000,000,000.00 = 300000000000 */
	aiss_time_t start, end;	     /* the scheme's three years */
	aiss_cents_t earmarked;	     /* sum of earmarks (read only) */
	aiss_cents_t approved_total; /* sum of grants' approved subsidy (read) */
	aiss_cents_t charged_total;  /* subsidy charged net of adjustments */
	aiss_cents_t held_total;     /* subsidy held by open liens */
	int64_t n_grants;
} aiss_scheme;

typedef struct aiss_earmark {
	char name[AISS_NAME_MAX];
	aiss_cents_t amount; /* >= 0; setting 0 removes it */
} aiss_earmark;

typedef struct aiss_institution {
	char name[AISS_NAME_MAX];
	aiss_inst_type type;
} aiss_institution;

/* A grant as approved by the committee. Lists are comma-separated. */
typedef struct aiss_grant {
	char id[AISS_ID_MAX];		/* e.g. "AISS-2025-0007" */
	char institution[AISS_NAME_MAX];
	aiss_inst_type inst_type;	/* filled on read */
	char accounts[AISS_LIST_MAX];	/* Slurm accounts it pays for */
	char members[AISS_MEMBERS_MAX]; /* member users */
	char gpu_types[AISS_LIST_MAX];	/* approved GPU types, e.g. "h100,h800" */
	int32_t rate_bp;		/* 0..9000, default 7000 */
	int64_t approved_gpu_seconds;	/* approved GPU-hours * 3600 */
	aiss_cents_t approved_subsidy;
	aiss_time_t window_start;	/* [window_start, window_end) */
	aiss_time_t window_end;
	int32_t max_concurrent_gpus;	/* 0 = no limit */
	aiss_grant_state state;
} aiss_grant;

/* 1 when @item is an element of comma-separated @list (exact match). */
int aiss_list_contains(const char *list, const char *item);

/* A list price: cents per GPU-hour for @gpu_type from @effective_from on. */
typedef struct aiss_price {
	char gpu_type[AISS_ID_MAX];
	int64_t cents_per_gpu_hour;
	aiss_time_t effective_from;
} aiss_price;

/* A run: one execution of a job (policy item 4). */
typedef struct aiss_run_key {
	char cluster[AISS_ID_MAX];
	uint64_t job_id;
	aiss_time_t run_start;
} aiss_run_key;

/* "cluster/jobid@start" into buf (>= AISS_ID_MAX + 48). Returns buf. */
char *aiss_run_key_format(const aiss_run_key *k, char *buf, size_t len);

/* A job shape to quote or hold for. */
typedef struct aiss_job_shape {
	char account[AISS_ID_MAX];
	char user[AISS_ID_MAX];
	char gpu_type[AISS_ID_MAX]; /* "" = the grant's first approved type */
	int64_t gpus;		    /* total GPUs, all nodes */
	int64_t time_limit;	    /* seconds */
	int64_t count;		    /* job-array elements; 0 or 1 = one run */
	aiss_time_t start;	    /* 0 = now */
} aiss_job_shape;

/* The answer to a quote. verdict is AISS_OK when it would be admitted now. */
typedef struct aiss_quote {
	aiss_status verdict;
	char grant_id[AISS_ID_MAX];
	char gpu_type[AISS_ID_MAX];  /* resolved type */
	int64_t price;		     /* cents per GPU-hour in force */
	int32_t rate_bp;
	aiss_charge worst;	     /* worst case of one element (uncapped) */
	aiss_cents_t worst_subsidy_total; /* worst.subsidy * count */
	aiss_cents_t available;	     /* approved - charged - held + adjustments */
	int64_t fit_time_limit;	     /* longest time limit that fits now (s) */
	int64_t fit_gpus;	     /* most GPUs that fit at this time limit */
	int64_t fit_count;	     /* array elements that fit */
	char reason[AISS_TEXT_MAX];  /* why not, naming grant, numbers and fix */
} aiss_quote;

typedef struct aiss_reserve_req {
	aiss_run_key key;     /* key.run_start is the run's start ("now") */
	aiss_job_shape shape; /* shape.start ignored: key.run_start is used */
} aiss_reserve_req;

typedef enum aiss_lien_state {
	AISS_LIEN_HELD = 1,
	AISS_LIEN_SETTLED = 2,
	AISS_LIEN_RELEASED = 3,
	AISS_LIEN_EXPIRED = 4, /* stale, released by lien expiry */
} aiss_lien_state;

typedef struct aiss_lien {
	aiss_run_key key;
	char grant_id[AISS_ID_MAX];
	char gpu_type[AISS_ID_MAX];
	int64_t gpus;
	int64_t time_limit;
	int64_t price;
	aiss_cents_t held_subsidy; /* worst-case subsidy held */
	aiss_lien_state state;
} aiss_lien;

/* An open lien as listed for operators (aissctl lien list): the lien, who
 * ran it, and whether it is stale: the run started more than its time limit
 * plus the ledger's lien grace ago, so Slurm must have ended it and its
 * settle (or release) has not arrived. */
typedef struct aiss_lien_info {
	aiss_lien lien;
	char account[AISS_ID_MAX];
	char user[AISS_ID_MAX];
	aiss_time_t created_at; /* when the reserve stored it */
	aiss_time_t stale_at;	/* run_start + time_limit + grace */
	aiss_time_t as_of;	/* the ledger's "now" when it was read */
	int32_t stale;		/* 1 when as_of > stale_at */
} aiss_lien_info;

typedef struct aiss_settle_req {
	aiss_run_key key;	    /* run start = key.run_start */
	char account[AISS_ID_MAX];  /* needed when no lien exists (import) */
	char user[AISS_ID_MAX];
	char gpu_type[AISS_ID_MAX];
	int64_t gpus;		    /* GPUs actually allocated, all nodes */
	aiss_time_t end;	    /* >= key.run_start */
	char end_state[AISS_STATE_MAX]; /* Slurm's: COMPLETED, NODE_FAIL, ... */
} aiss_settle_req;

/* A settled run, as stored, returned by settle and exported to finance. */
typedef struct aiss_charge_rec {
	aiss_run_key key;
	char grant_id[AISS_ID_MAX];
	char account[AISS_ID_MAX];
	char user[AISS_ID_MAX];
	char gpu_type[AISS_ID_MAX];
	char institution[AISS_NAME_MAX];
	aiss_inst_type inst_type;
	int64_t gpus;
	aiss_time_t start, end;
	char end_state[AISS_STATE_MAX];
	int64_t price;	 /* cents per GPU-hour in force at start */
	int32_t rate_bp;
	aiss_charge charge; /* gpu_seconds, list, in-window, subsidy, copay */
	aiss_time_t settled_at;
	int64_t journal_seq;
} aiss_charge_rec;

/* An adjustment: amount > 0 credits the grant (adds to its remaining
 * subsidy and lowers expenditure), amount < 0 debits it. */
typedef struct aiss_adjustment {
	char grant_id[AISS_ID_MAX];
	aiss_cents_t amount;
	char reason[AISS_TEXT_MAX];
	char actor[AISS_ID_MAX];
	aiss_time_t at;
	int64_t journal_seq;
} aiss_adjustment;

/* A grant's balance. remaining = approved - charged - held + adjustments. */
typedef struct aiss_balance {
	char grant_id[AISS_ID_MAX];
	aiss_grant_state state;
	aiss_cents_t approved_subsidy;
	aiss_cents_t charged_subsidy;
	aiss_cents_t held_subsidy;
	aiss_cents_t adjustments;
	aiss_cents_t remaining;
	aiss_cents_t list_cost;
	aiss_cents_t copay;
	int64_t approved_gpu_seconds;
	int64_t used_gpu_seconds;
	int64_t held_gpus;	/* GPUs of open liens (concurrency) */
	int32_t max_concurrent_gpus;
	int64_t n_runs;
	int64_t n_liens;
	aiss_time_t window_start, window_end;
} aiss_balance;

/* One hash-chained journal entry (policy item 14). */
typedef struct aiss_journal_entry {
	int64_t seq;
	aiss_time_t at;
	char actor[AISS_ID_MAX];
	char kind[AISS_ID_MAX];	     /* grant.add, lien, charge, adjust, ... */
	char grant_id[AISS_ID_MAX];
	aiss_cents_t amount;	     /* subsidy effect, signed */
	char detail[AISS_TEXT_MAX];  /* canonical text of the entry's content */
	char prev_hash[65];
	char hash[65];
} aiss_journal_entry;

typedef struct aiss_verify_result {
	int ok;		     /* 1 when the whole chain verifies */
	int64_t n_entries;
	int64_t first_bad_seq; /* 0 when ok */
	char reason[AISS_TEXT_MAX];
} aiss_verify_result;

/* aissd's own state (SERVER_STATUS), for operators. */
typedef struct aiss_server_status {
	int32_t pid;
	aiss_time_t started_at, as_of;
	char ledger[AISS_TEXT_MAX];       /* the database file */
	int writes_ok;                    /* 0: every change is refused */
	char writes_error[AISS_TEXT_MAX]; /* why, and what to do */
	uint64_t requests, group_commits, replays;
	uint64_t connections_open, connections, protocol_errors;
} aiss_server_status;

/* A node's last GPU capacity check (from aiss-gpucheck). */
typedef struct aiss_capacity {
	char node[AISS_ID_MAX];
	aiss_time_t at;
	int32_t pass;		/* 1 pass, 0 fail */
	int32_t n_gpus;
	int64_t bf16_gflops;	/* measured dense BF16, whole node */
	char summary[AISS_TEXT_MAX]; /* e.g. failure reason */
} aiss_capacity;

#endif
