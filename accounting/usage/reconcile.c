/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reconcile.c: matches Slurm's runs with the ledger's charges on the run
 * key and lists the exceptions (a pure function over arrays). */
#include "aiss_usage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct aiss_recon {
	aiss_recon_item *items;
	size_t n_items, cap;
	aiss_recon_totals t;
};

static const char *const kind_names[AISS_RECON__COUNT] = {
    "matched", "no-charge", "no-run", "gpu-mismatch", "amount-mismatch",
};

const char *aiss_recon_kind_name(aiss_recon_kind k)
{
	return (int)k >= 0 && (int)k < AISS_RECON__COUNT ? kind_names[k] : "?";
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t key_hash(uint64_t cluster_hash, uint64_t job, aiss_time_t start)
{
	uint64_t h = cluster_hash;
	h ^= job * 0xC2B2AE3D27D4EB4FULL;
	h ^= (uint64_t)start * 0x165667B19E3779F9ULL;
	h ^= h >> 31;
	return h;
}

/* A hash slot carries the key's numbers, so probing touches no charge
 * record until job id and start agree. */
typedef struct key_slot {
	uint64_t job;
	aiss_time_t start;
	int64_t idx; /* -1: empty */
} key_slot;

/* Hash of a cluster name, remembering the last one asked for. */
typedef struct cluster_cache {
	const char *name;
	uint64_t hash;
} cluster_cache;

static uint64_t cluster_hash(cluster_cache *c, const char *name)
{
	if (!c->name || (c->name != name && strcmp(c->name, name))) {
		c->name = name;
		c->hash = str_hash(name);
	}
	return c->hash;
}

static int add_item(aiss_recon *r, aiss_recon_kind k, const aiss_usage_run *run,
		    const aiss_charge_rec *c, aiss_cents_t expected)
{
	r->t.count[k]++;
	if (k == AISS_RECON_MATCHED)
		return 0;
	r->t.exceptions++;
	if (r->n_items == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		aiss_recon_item *n = realloc(r->items, cap * sizeof(*n));
		if (!n)
			return -1;
		r->items = n;
		r->cap = cap;
	}
	r->items[r->n_items++] = (aiss_recon_item){k, run, c, expected};
	return 0;
}

static int in_scope(const aiss_charge_rec *c, const aiss_recon_opts *o)
{
	return c->end >= o->from && (o->to == 0 || c->end < o->to);
}

aiss_recon *aiss_reconcile(const aiss_usage_run *runs, size_t n_runs,
			   const aiss_charge_rec *charges, size_t n_charges,
			   const aiss_recon_opts *opts, aiss_error *err)
{
	aiss_recon_opts o = {INT64_MIN, 0, 0};
	aiss_recon *r = calloc(1, sizeof(*r));
	key_slot *slot = NULL;
	cluster_cache cc = {NULL, 0};
	unsigned char *used = NULL;
	const char **clusters = NULL;
	size_t n_clusters = 0, cap = 16;

	if (opts)
		o = *opts;
	if (!r)
		goto nomem;
	used = calloc(n_charges ? n_charges : 1, 1);
	if (!used)
		goto nomem;
	while (cap < n_charges * 2 + 2)
		cap *= 2;
	slot = malloc(cap * sizeof(*slot));
	if (!slot)
		goto nomem;
	for (size_t i = 0; i < cap; i++)
		slot[i].idx = -1;

	/* The clusters the records cover (few: a linear list). */
	if (o.only_run_clusters) {
		clusters = malloc(8 * sizeof(*clusters));
		size_t ccap = 8;
		if (!clusters)
			goto nomem;
		for (size_t i = 0; i < n_runs; i++) {
			size_t k;
			for (k = 0; k < n_clusters; k++)
				if (clusters[k] == runs[i].cluster ||
				    !strcmp(clusters[k], runs[i].cluster))
					break;
			if (k < n_clusters)
				continue;
			if (n_clusters == ccap) {
				const char **nc =
				    realloc(clusters, 2 * ccap * sizeof(*nc));
				if (!nc)
					goto nomem;
				clusters = nc;
				ccap *= 2;
			}
			clusters[n_clusters++] = runs[i].cluster;
		}
	}

	for (size_t i = 0; i < n_charges; i++) {
		const aiss_charge_rec *c = &charges[i];
		if (!in_scope(c, &o)) {
			used[i] = 2; /* out of scope */
			continue;
		}
		if (o.only_run_clusters) {
			size_t k;
			for (k = 0; k < n_clusters; k++)
				if (!strcmp(clusters[k], c->key.cluster))
					break;
			if (k == n_clusters) {
				used[i] = 2;
				continue;
			}
		}
		r->t.charges++;
		r->t.charged_gpu_seconds += c->charge.gpu_seconds;
		r->t.charged_list += c->charge.list_cost;
		r->t.charged_subsidy += c->charge.subsidy;
		r->t.charged_copay += c->charge.copay;
		size_t j = key_hash(cluster_hash(&cc, c->key.cluster),
				    c->key.job_id, c->key.run_start) &
			   (cap - 1);
		while (slot[j].idx >= 0)
			j = (j + 1) & (cap - 1);
		slot[j] =
		    (key_slot){c->key.job_id, c->key.run_start, (int64_t)i};
	}

	for (size_t i = 0; i < n_runs; i++) {
		const aiss_usage_run *u = &runs[i];
		const aiss_charge_rec *c = NULL;
		size_t j = key_hash(cluster_hash(&cc, u->cluster), u->job_id,
				    u->start) &
			   (cap - 1);
		r->t.runs++;
		r->t.run_gpu_seconds += u->gpus * (u->end - u->start);
		for (; slot[j].idx >= 0; j = (j + 1) & (cap - 1)) {
			if (slot[j].job != u->job_id ||
			    slot[j].start != u->start || used[slot[j].idx])
				continue;
			const aiss_charge_rec *x = &charges[slot[j].idx];
			if (!strcmp(x->key.cluster, u->cluster)) {
				c = x;
				used[slot[j].idx] = 1;
				break;
			}
		}
		if (!c) {
			if (add_item(r, AISS_RECON_NO_CHARGE, u, NULL, 0) < 0)
				goto nomem;
			continue;
		}
		aiss_cents_t expected = 0;
		int nf = !strcmp(u->state, "NODE_FAIL");
		if (!nf && aiss_muldiv_round(u->gpus * (u->end - u->start),
					     c->price, 3600, &expected) < 0)
			expected = -1;
		aiss_recon_kind k = AISS_RECON_MATCHED;
		if (c->gpus != u->gpus)
			k = AISS_RECON_GPU_MISMATCH;
		else if (c->charge.list_cost != expected || c->end != u->end)
			k = AISS_RECON_AMOUNT_MISMATCH;
		if (k == AISS_RECON_MATCHED)
			r->t.matched_subsidy += c->charge.subsidy;
		if (add_item(r, k, u, c, expected) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < n_charges; i++)
		if (!used[i] &&
		    add_item(r, AISS_RECON_NO_RUN, NULL, &charges[i], 0) < 0)
			goto nomem;
	free(slot);
	free(used);
	free(clusters);
	return r;
nomem:
	aiss_error_set(err, AISS_E_INTERNAL, "reconcile: out of memory");
	free(slot);
	free(used);
	free(clusters);
	aiss_recon_destroy(r);
	return NULL;
}

void aiss_recon_destroy(aiss_recon *r)
{
	if (!r)
		return;
	free(r->items);
	free(r);
}

const aiss_recon_item *aiss_recon_items(const aiss_recon *r, size_t *n)
{
	*n = r->n_items;
	return r->items;
}

const aiss_recon_totals *aiss_recon_totals_get(const aiss_recon *r)
{
	return &r->t;
}

/* ---- output ---- */

static void csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* What a person should do about each kind of exception. */
static const char *const kind_action[AISS_RECON__COUNT] = {
    "",
    "run not charged: import it with aissctl usage import",
    "charge without a Slurm record: check the cluster and the period "
    "exported; if the job never ran, credit the grant with aissctl adjust",
    "GPU count differs: correct with aissctl adjust and report to the "
    "operators",
    "amount differs from Slurm's record (end time, state or price): "
    "correct with aissctl adjust",
};

static int finish(FILE *out)
{
	if (fflush(out) != 0 || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int aiss_recon_write_csv(const aiss_recon *r, FILE *out)
{
	char t1[AISS_TIME_BUFSZ], t2[AISS_TIME_BUFSZ], t3[AISS_TIME_BUFSZ];
	char m1[AISS_MONEY_BUFSZ], m2[AISS_MONEY_BUFSZ], m3[AISS_MONEY_BUFSZ];

	fputs("\xEF\xBB\xBF"
	      "kind,cluster,job_id,run_start,slurm_end,charged_end,account,"
	      "user,grant,slurm_gpus,charged_gpus,slurm_state,"
	      "expected_list_hkd,charged_list_hkd,charged_subsidy_hkd,line,"
	      "action\r\n",
	      out);
	for (size_t i = 0; i < r->n_items; i++) {
		const aiss_recon_item *it = &r->items[i];
		const aiss_usage_run *u = it->run;
		const aiss_charge_rec *c = it->charge;
		char job[32], ug[32], cg[32], line[32];
		snprintf(job, sizeof(job), "%" PRIu64,
			 u ? u->job_id : c->key.job_id);
		aiss_time_format_hkt(u ? u->start : c->key.run_start, t1,
				     sizeof(t1));
		fprintf(out, "%s,", aiss_recon_kind_name(it->kind));
		csv_field(out, u ? u->cluster : c->key.cluster);
		fprintf(out, ",%s,%s,%s,%s,", job, t1,
			u ? aiss_time_format_hkt(u->end, t2, sizeof(t2)) : "",
			c ? aiss_time_format_hkt(c->end, t3, sizeof(t3)) : "");
		csv_field(out, u ? u->account : c->account);
		fputc(',', out);
		csv_field(out, u ? u->user : c->user);
		fputc(',', out);
		csv_field(out, c ? c->grant_id : "");
		snprintf(ug, sizeof(ug), "%" PRId64, u ? u->gpus : 0);
		snprintf(cg, sizeof(cg), "%" PRId64, c ? c->gpus : 0);
		snprintf(line, sizeof(line), "%" PRId64, u ? u->line : 0);
		fprintf(out, ",%s,%s,", u ? ug : "", c ? cg : "");
		csv_field(out, u ? u->state : "");
		fprintf(out, ",%s,%s,%s,%s,",
			u && c ? aiss_money_format(it->expected_list, false, m1,
						   sizeof(m1))
			       : "",
			c ? aiss_money_format(c->charge.list_cost, false, m2,
					      sizeof(m2))
			  : "",
			c ? aiss_money_format(c->charge.subsidy, false, m3,
					      sizeof(m3))
			  : "",
			u ? line : "");
		csv_field(out, kind_action[it->kind]);
		fputs("\r\n", out);
	}
	return finish(out);
}

int aiss_recon_write_text(const aiss_recon *r, FILE *out)
{
	const aiss_recon_totals *t = &r->t;
	char m[AISS_MONEY_BUFSZ], t1[AISS_TIME_BUFSZ];
	int64_t h = 0;

	fprintf(out, "Reconciliation of Slurm's records with the ledger\n");
	fprintf(out, "  runs in Slurm's records   %12" PRId64 "\n", t->runs);
	fprintf(out, "  charges in the ledger     %12" PRId64 "\n", t->charges);
	for (int k = 0; k < AISS_RECON__COUNT; k++)
		fprintf(out, "  %-25s %12" PRId64 "\n",
			aiss_recon_kind_name((aiss_recon_kind)k), t->count[k]);
	aiss_muldiv_round(t->run_gpu_seconds, 1, 3600, &h);
	fprintf(out, "  GPU-hours (Slurm)         %12" PRId64 "\n", h);
	aiss_muldiv_round(t->charged_gpu_seconds, 1, 3600, &h);
	fprintf(out, "  GPU-hours (charged)       %12" PRId64 "\n", h);
	fprintf(out, "  list cost charged    HK$ %s\n",
		aiss_money_format(t->charged_list, true, m, sizeof(m)));
	fprintf(out, "  subsidy charged      HK$ %s\n",
		aiss_money_format(t->charged_subsidy, true, m, sizeof(m)));
	fprintf(out, "  co-payments charged  HK$ %s\n",
		aiss_money_format(t->charged_copay, true, m, sizeof(m)));
	if (!t->exceptions) {
		fputs(
		    "No exceptions: every run is charged once, as recorded.\n",
		    out);
		return finish(out);
	}
	fprintf(out, "%" PRId64 " exception(s):\n", t->exceptions);
	size_t shown = r->n_items < 50 ? r->n_items : 50;
	for (size_t i = 0; i < shown; i++) {
		const aiss_recon_item *it = &r->items[i];
		const aiss_usage_run *u = it->run;
		const aiss_charge_rec *c = it->charge;
		aiss_time_format_short(u ? u->start : c->key.run_start, t1,
				       sizeof(t1));
		fprintf(out, "  %-16s %s/%" PRIu64 " started %s",
			aiss_recon_kind_name(it->kind),
			u ? u->cluster : c->key.cluster,
			u ? u->job_id : c->key.job_id, t1);
		if (u)
			fprintf(out, " (line %" PRId64 ")", u->line);
		if (it->kind == AISS_RECON_GPU_MISMATCH)
			fprintf(out,
				": Slurm %" PRId64 " GPUs, charged %" PRId64,
				u->gpus, c->gpus);
		else if (it->kind == AISS_RECON_AMOUNT_MISMATCH)
			fprintf(out,
				": list cost charged %s, Slurm's record "
				"implies %s",
				aiss_money_format(c->charge.list_cost, true, m,
						  sizeof(m)),
				aiss_money_format(it->expected_list, true, t1,
						  sizeof(t1)));
		fputc('\n', out);
	}
	if (r->n_items > shown)
		fprintf(out, "  ... and %zu more (use --csv FILE for all)\n",
			r->n_items - shown);
	return finish(out);
}

int aiss_recon_write_json(const aiss_recon *r, FILE *out)
{
	const aiss_recon_totals *t = &r->t;
	char t1[AISS_TIME_BUFSZ];
	fprintf(out,
		"{\"runs\":%" PRId64 ",\"charges\":%" PRId64
		",\"exceptions\":%" PRId64,
		t->runs, t->charges, t->exceptions);
	for (int k = 0; k < AISS_RECON__COUNT; k++)
		fprintf(out, ",\"%s\":%" PRId64,
			aiss_recon_kind_name((aiss_recon_kind)k), t->count[k]);
	fprintf(out,
		",\"run_gpu_seconds\":%" PRId64
		",\"charged_gpu_seconds\":%" PRId64
		",\"charged_list_cents\":%" PRId64
		",\"charged_subsidy_cents\":%" PRId64
		",\"charged_copay_cents\":%" PRId64 ",\"items\":[",
		t->run_gpu_seconds, t->charged_gpu_seconds, t->charged_list,
		t->charged_subsidy, t->charged_copay);
	for (size_t i = 0; i < r->n_items; i++) {
		const aiss_recon_item *it = &r->items[i];
		const aiss_usage_run *u = it->run;
		const aiss_charge_rec *c = it->charge;
		/* cluster names are Slurm identifiers: no quoting needed
		 * beyond what Slurm allows, but escape quotes anyway */
		fprintf(out, "%s{\"kind\":\"%s\",\"cluster\":\"", i ? "," : "",
			aiss_recon_kind_name(it->kind));
		for (const char *p = u ? u->cluster : c->key.cluster; *p; p++)
			fprintf(out, *p == '"' || *p == '\\' ? "\\%c" : "%c",
				*p);
		fprintf(out, "\",\"job_id\":%" PRIu64 ",\"run_start\":\"%s\"",
			u ? u->job_id : c->key.job_id,
			aiss_time_format_hkt(u ? u->start : c->key.run_start,
					     t1, sizeof(t1)));
		if (u)
			fprintf(out,
				",\"line\":%" PRId64 ",\"slurm_gpus\":%" PRId64,
				u->line, u->gpus);
		if (c)
			fprintf(out,
				",\"charged_gpus\":%" PRId64
				",\"charged_list_cents\":%" PRId64,
				c->gpus, c->charge.list_cost);
		if (u && c)
			fprintf(out, ",\"expected_list_cents\":%" PRId64,
				it->expected_list);
		fputc('}', out);
	}
	fputs("]}\n", out);
	return finish(out);
}
