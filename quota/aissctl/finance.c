/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finance.c: aissctl report / usage import / reconcile, over aiss_client
 * and the accounting libraries (aiss_report, aiss_usage). */
#include "finance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aiss_report.h"
#include "aiss_usage.h"

#define EXIT_OK 0
#define EXIT_FOUND 1 /* exceptions, bad rows or refusals found */
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3
#define DEFAULT_PROGRESS 10000
#define MAX_REFUSALS_SHOWN 20 /* the rest are counted by reason */
#define MAX_BAD_SHOWN 1000    /* bad rows listed; the rest counted */
/* Settles usage import keeps in flight on its connection (--window). */
#define IMPORT_WINDOW 64
#define IMPORT_WINDOW_MAX 256

static const char *const usage_lines[] = {
    "report fy YYYY-YY [--quarter Q1..Q4] [--by institution-type|grant] "
    "[--as-of WHEN] [--json | --csv | --html FILE]",
    "usage import FILE [--zone +08:00] [--cluster NAME] [--progress N] "
    "[--window N] [--dry-run]",
    "reconcile FILE [--csv EXCEPTIONS.csv] [--zone +08:00] "
    "[--cluster NAME] [--from WHEN] [--to WHEN]",
};

void aissctl_finance_usage(FILE *out)
{
	for (size_t i = 0; i < sizeof(usage_lines) / sizeof(*usage_lines); i++)
		fprintf(out, "  %s\n", usage_lines[i]);
}

__attribute__((format(printf, 2, 3))) static int
usage_error(int which, const char *fmt, ...)
{
	va_list ap;
	fputs("aissctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: aissctl %s\n", usage_lines[which]);
	return EXIT_USAGE;
}

static int service_error(const char *what, const aiss_error *err)
{
	int rc = aiss_status_exit_code(err->code);
	fprintf(stderr, "aissctl: %s failed (%s): %s\n", what,
		aiss_status_name(err->code),
		err->text[0] ? err->text : "no detail given");
	return rc ? rc : EXIT_FOUND;
}

/* ---- options: "--name value" / "--name=value" / flags ---- */

typedef struct opt {
	const char *name;
	int takes_value;
	const char *value; /* NULL: not given; "" for a flag given */
} opt;

/* Fills @o from @argv (from index 1), positionals into @pos. 0 or usage
 * error status. */
static int parse_opts(int which, int argc, char **argv, opt *o, size_t no,
		      const char **pos, int *npos, int maxpos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			if (*npos >= maxpos)
				return usage_error(which, "unexpected '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		size_t k;
		for (k = 0; k < no; k++)
			if (strlen(o[k].name) == nl &&
			    !strncmp(o[k].name, name, nl))
				break;
		if (k == no)
			return usage_error(which, "unknown option '%s'", a);
		if (o[k].value)
			return usage_error(which, "--%s given twice",
					   o[k].name);
		if (!o[k].takes_value) {
			if (eq)
				return usage_error(which, "--%s takes no value",
						   o[k].name);
			o[k].value = "";
		} else if (eq) {
			o[k].value = eq + 1;
		} else if (i + 1 < argc) {
			o[k].value = argv[++i];
		} else {
			return usage_error(which, "--%s needs a value",
					   o[k].name);
		}
	}
	return 0;
}

/* ---- growing arrays filled by the client's callbacks ---- */

typedef struct vec {
	void *v;
	size_t n, cap, size;
	int oom;
} vec;

static int vec_push(vec *a, const void *item)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		void *nv = realloc(a->v, cap * a->size);
		if (!nv) {
			a->oom = 1;
			return 1; /* stops the listing */
		}
		a->v = nv;
		a->cap = cap;
	}
	memcpy((char *)a->v + a->n * a->size, item, a->size);
	a->n++;
	return 0;
}

static int push_grant(const aiss_grant *g, void *arg)
{
	return vec_push(arg, g);
}

static int push_charge(const aiss_charge_rec *c, void *arg)
{
	return vec_push(arg, c);
}

static int push_adj(const aiss_adjustment *a, void *arg)
{
	return vec_push(arg, a);
}

/* Fetches charges whose run ended in [from, to) into @out. 0 or exit code. */
static int fetch_charges(aiss_client *c, aiss_time_t from, aiss_time_t to,
			 vec *out)
{
	aiss_error err;
	aiss_error_clear(&err);
	out->size = sizeof(aiss_charge_rec);
	if (aiss_client_charge_export(c, from, to, push_charge, out, &err) < 0)
		return service_error("charge export", &err);
	if (out->oom) {
		fprintf(stderr, "aissctl: out of memory reading charges\n");
		return 4;
	}
	return 0;
}

/* ---- report ---- */

static int cmd_report(aiss_client *c, int json, int argc, char **argv)
{
	opt o[] = {{"quarter", 1, NULL}, {"by", 1, NULL},   {"json", 0, NULL},
		   {"csv", 0, NULL},     {"html", 1, NULL}, {"as-of", 1, NULL}};
	const char *pos[2];
	int npos, rc;
	aiss_report_opts ro;
	aiss_error err;
	aiss_scheme scheme;
	vec grants = {.size = sizeof(aiss_grant)};
	vec charges = {.size = sizeof(aiss_charge_rec)};
	vec adjs = {.size = sizeof(aiss_adjustment)};
	aiss_report *r = NULL;

	memset(&ro, 0, sizeof(ro));
	if ((rc = parse_opts(0, argc, argv, o, 6, pos, &npos, 2)))
		return rc;
	if (npos != 2 || strcmp(pos[0], "fy"))
		return usage_error(0, "say which fiscal year: report fy "
				      "2025-26");
	if (aiss_fy_parse(pos[1], &ro.fy) < 0)
		return usage_error(0,
				   "'%s' is not a fiscal year (e.g. "
				   "2025-26)",
				   pos[1]);
	if (o[0].value) {
		const char *q = o[0].value;
		if ((q[0] == 'Q' || q[0] == 'q') && q[1] >= '1' &&
		    q[1] <= '4' && !q[2])
			ro.quarter = q[1] - '0';
		else
			return usage_error(0, "--quarter is Q1, Q2, Q3 or Q4 "
					      "(Apr-Jun, Jul-Sep, Oct-Dec, "
					      "Jan-Mar)");
	}
	if (o[1].value) {
		if (!strcmp(o[1].value, "institution-type") ||
		    !strcmp(o[1].value, "type"))
			ro.by = AISS_REPORT_BY_INST_TYPE;
		else if (!strcmp(o[1].value, "grant"))
			ro.by = AISS_REPORT_BY_GRANT;
		else
			return usage_error(0, "--by is institution-type or "
					      "grant");
	}
	if ((o[2].value != NULL) + (o[3].value != NULL) + (o[4].value != NULL) >
	    1)
		return usage_error(0, "choose one of --json, --csv, --html");
	if (o[5].value && aiss_time_parse(o[5].value, &ro.as_of) < 0)
		return usage_error(0, "--as-of '%s' is not a time", o[5].value);
	if (!ro.as_of)
		ro.as_of = (aiss_time_t)time(NULL);
	if (o[2].value)
		json = 1;
	if (o[3].value || o[4].value)
		json = 0;

	aiss_error_clear(&err);
	if (aiss_client_scheme_get(c, &scheme, &err) < 0)
		return service_error("reading the scheme", &err);
	if (aiss_client_grant_list(c, push_grant, &grants, &err) < 0) {
		rc = service_error("listing grants", &err);
		goto out;
	}
	if ((rc = fetch_charges(c, 0, 0, &charges)))
		goto out;
	if (aiss_client_adjustment_export(c, 0, 0, push_adj, &adjs, &err) < 0) {
		rc = service_error("adjustment export", &err);
		goto out;
	}
	if (grants.oom || adjs.oom) {
		fprintf(stderr, "aissctl: out of memory\n");
		rc = 4;
		goto out;
	}
	aiss_report_input in = {.scheme = &scheme,
				.grants = grants.v,
				.n_grants = grants.n,
				.charges = charges.v,
				.n_charges = charges.n,
				.adjustments = adjs.v,
				.n_adjustments = adjs.n};
	r = aiss_report_compute(&in, &ro, &err);
	if (!r) {
		rc = service_error("computing the report", &err);
		goto out;
	}
	if (o[4].value) {
		FILE *f =
		    strcmp(o[4].value, "-") ? fopen(o[4].value, "w") : stdout;
		if (!f) {
			fprintf(stderr, "aissctl: cannot write %s: %s\n",
				o[4].value, strerror(errno));
			rc = EXIT_USAGE;
			goto out;
		}
		int wr = aiss_report_write_html(r, f);
		if (f != stdout && fclose(f) != 0)
			wr = -1;
		if (wr < 0) {
			fprintf(stderr, "aissctl: writing %s failed: %s\n",
				o[4].value, strerror(errno));
			rc = 4;
			goto out;
		}
		if (f != stdout)
			fprintf(stderr, "aissctl: report written to %s\n",
				o[4].value);
	} else if (o[3].value) {
		rc = aiss_report_write_csv(r, ro.by, stdout) < 0 ? 4 : 0;
	} else if (json) {
		rc = aiss_report_write_json(r, stdout) < 0 ? 4 : 0;
	} else {
		rc = aiss_report_write_table(r, ro.by, stdout) < 0 ? 4 : 0;
	}
out:
	aiss_report_destroy(r);
	free(grants.v);
	free(charges.v);
	free(adjs.v);
	return rc;
}

/* ---- shared by usage import and reconcile ---- */

static int read_sacct(int which, const char *path, const char *zone,
		      const char *cluster, aiss_sacct **out)
{
	aiss_sacct_opts so = {.zone_offset = AISS_HKT_OFFSET,
			      .cluster = cluster};
	aiss_error err;
	if (zone && aiss_zone_parse(zone, &so.zone_offset) < 0)
		return usage_error(which,
				   "--zone '%s' is not a zone (e.g. "
				   "+08:00, UTC, Asia/Hong_Kong)",
				   zone);
	aiss_sacct *s = aiss_sacct_create(&so);
	if (!s) {
		fprintf(stderr, "aissctl: out of memory\n");
		return 4;
	}
	aiss_error_clear(&err);
	if (aiss_sacct_parse_file(s, path, &err) < 0) {
		fprintf(stderr, "aissctl: %s: %s\n", path, err.text);
		aiss_sacct_destroy(s);
		return err.code == AISS_E_INTERNAL ? 4 : EXIT_USAGE;
	}
	size_t nb;
	const aiss_usage_bad *b = aiss_sacct_bad(s, &nb);
	for (size_t i = 0; i < nb && i < MAX_BAD_SHOWN; i++)
		fprintf(stderr, "%s:%" PRId64 ": bad row: %s\n", path,
			b[i].line, b[i].reason);
	if (nb > MAX_BAD_SHOWN)
		fprintf(stderr, "%s: ... %" PRId64 " bad rows in all\n", path,
			aiss_sacct_stats_get(s)->bad);
	*out = s;
	return 0;
}

/* The span of run ends in @runs: [lo, hi + 1). */
static void run_span(const aiss_usage_run *r, size_t n, aiss_time_t *lo,
		     aiss_time_t *hi)
{
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (r[i].end < *lo)
			*lo = r[i].end;
		if (r[i].end > *hi)
			*hi = r[i].end;
	}
	if (n == 0)
		*lo = *hi = 0;
	else
		*hi += 1;
}

/* ---- usage import ---- */

static void settle_req_of(const aiss_usage_run *u, aiss_settle_req *req)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->key.cluster, sizeof(req->key.cluster), "%s", u->cluster);
	req->key.job_id = u->job_id;
	req->key.run_start = u->start;
	snprintf(req->account, sizeof(req->account), "%s", u->account);
	snprintf(req->user, sizeof(req->user), "%s", u->user);
	snprintf(req->gpu_type, sizeof(req->gpu_type), "%s", u->gpu_type);
	req->gpus = u->gpus;
	req->end = u->end;
	snprintf(req->end_state, sizeof(req->end_state), "%s", u->state);
}

/* A settle sent and not yet answered: which run, and the request's id. */
typedef struct import_slot {
	size_t run;
	uint64_t id;
} import_slot;

/* Import stopped half way (aissd gone or speaking nonsense): says how far
 * it got and that a rerun charges the rest; the exit status. */
static int import_stopped(int64_t imported, size_t nt, const aiss_error *err)
{
	int rc;

	fprintf(stderr,
		"aissctl: the service stopped answering after %" PRId64
		" of %zu runs: %s\n  Run the same import again: runs already "
		"charged are skipped.\n",
		imported, nt, err->text);
	rc = aiss_status_exit_code(err->code);
	return rc ? rc : EXIT_UNAVAILABLE;
}

static int cmd_usage(aiss_client *c, int json, int argc, char **argv)
{
	opt o[] = {{"zone", 1, NULL},
		   {"cluster", 1, NULL},
		   {"progress", 1, NULL},
		   {"dry-run", 0, NULL},
		   {"window", 1, NULL}};
	const char *pos[2];
	int npos, rc;
	aiss_sacct *s = NULL;
	vec charges = {.size = sizeof(aiss_charge_rec)};
	aiss_recon *rc_match = NULL;
	aiss_usage_run *todo = NULL;
	aiss_error err;
	long every = DEFAULT_PROGRESS, window = IMPORT_WINDOW;
	int64_t imported = 0, refused = 0, already = 0, zero = 0;
	import_slot *ring = NULL;
	int64_t refused_by[AISS_E__COUNT] = {0};

	if ((rc = parse_opts(1, argc, argv, o, 5, pos, &npos, 2)))
		return rc;
	if (npos != 2 || strcmp(pos[0], "import"))
		return usage_error(1, "say what to import: usage import FILE");
	if (o[2].value) {
		char *e;
		every = strtol(o[2].value, &e, 10);
		if (*e || every < 0)
			return usage_error(1, "--progress is a row count");
	}
	if (o[4].value) {
		char *e;
		errno = 0;
		window = strtol(o[4].value, &e, 10);
		if (errno || !*o[4].value || *e || window < 1 ||
		    window > IMPORT_WINDOW_MAX)
			return usage_error(1,
					   "--window is the number of settles "
					   "in flight, 1..%d (default %d)",
					   IMPORT_WINDOW_MAX, IMPORT_WINDOW);
	}
	if ((rc = read_sacct(1, pos[1], o[0].value, o[1].value, &s)))
		return rc;
	const aiss_sacct_stats *st = aiss_sacct_stats_get(s);
	size_t n;
	aiss_usage_run *runs = aiss_sacct_runs(s, &n);

	/* What is already charged (by the plugins or an earlier import):
	 * the runs that reconcile finds no charge for are the ones to do. */
	aiss_time_t lo, hi;
	run_span(runs, n, &lo, &hi);
	/* a week either side: a plugin may have settled with another end */
	if (n &&
	    (rc = fetch_charges(c, lo - 7 * 86400, hi + 7 * 86400, &charges)))
		goto out;
	aiss_error_clear(&err);
	rc_match = aiss_reconcile(runs, n, charges.v, charges.n, NULL, &err);
	if (!rc_match) {
		rc = service_error("matching", &err);
		goto out;
	}
	size_t ni;
	const aiss_recon_item *it = aiss_recon_items(rc_match, &ni);
	const aiss_recon_totals *t = aiss_recon_totals_get(rc_match);
	already = (int64_t)n - t->count[AISS_RECON_NO_CHARGE];
	todo = malloc((size_t)(t->count[AISS_RECON_NO_CHARGE] + 1) *
		      sizeof(*todo));
	if (!todo) {
		fprintf(stderr, "aissctl: out of memory\n");
		rc = 4;
		goto out;
	}
	size_t nt = 0;
	for (size_t i = 0; i < ni; i++)
		if (it[i].kind == AISS_RECON_NO_CHARGE)
			todo[nt++] = *it[i].run;
	/* Charged in the order the runs ended (policy item 8). */
	aiss_usage_sort_for_import(todo, nt);

	ring = malloc((size_t)window * sizeof(*ring));
	if (!ring) {
		fprintf(stderr, "aissctl: out of memory\n");
		rc = 4;
		goto out;
	}
	/*
	 * Pipelined: up to @window settles in flight on the one connection.
	 * aissd takes a connection's requests in the order sent and answers
	 * them in that order, each in its own savepoint, so the runs are
	 * still charged in the order they ended and a refusal touches only
	 * its own run; the replies name their runs by position (and id).
	 */
	size_t next = 0, head = 0, inflight = 0;
	while (!o[3].value && (next < nt || inflight)) {
		aiss_settle_req req;
		aiss_charge_rec out;
		uint64_t id = 0;
		if (next < nt && inflight < (size_t)window) {
			settle_req_of(&todo[next], &req);
			aiss_error_clear(&err);
			if (aiss_client_send_settle(c, &req, &id, &err) < 0) {
				rc = import_stopped(imported, nt, &err);
				goto summary;
			}
			ring[(head + inflight) % (size_t)window] =
			    (import_slot){.run = next, .id = id};
			inflight++;
			next++;
			continue;
		}
		const import_slot slot = ring[head];
		const aiss_usage_run *u = &todo[slot.run];
		head = (head + 1) % (size_t)window;
		inflight--;
		aiss_error_clear(&err);
		int got = aiss_client_recv_settle(c, &id, &out, &err);
		if (got == 0 && id != slot.id)
			got = aiss_error_set(&err, AISS_E_PROTOCOL,
					     "reply %" PRIu64 " came for "
					     "request %" PRIu64,
					     id, slot.id);
		if (got < 0) {
			if (err.code == AISS_E_UNAVAILABLE ||
			    err.code == AISS_E_PROTOCOL) {
				rc = import_stopped(imported, nt, &err);
				goto summary;
			}
			if (refused < MAX_REFUSALS_SHOWN)
				fprintf(stderr,
					"%s:%" PRId64 ": job %" PRIu64
					" not charged (%s): %s\n",
					pos[1], u->line, u->job_id,
					aiss_status_name(err.code), err.text);
			if ((int)err.code >= 0 && err.code < AISS_E__COUNT)
				refused_by[err.code]++;
			refused++;
			continue;
		}
		imported++;
		if (out.charge.subsidy == 0 && out.charge.list_cost == 0)
			zero++;
		if (every > 0 && imported % every == 0)
			fprintf(stderr,
				"usage import: %" PRId64 "/%zu runs "
				"charged\n",
				imported, nt);
	}
	rc = (refused || st->bad) ? EXIT_FOUND : EXIT_OK;
summary:
	if (refused > MAX_REFUSALS_SHOWN) {
		fprintf(stderr,
			"... %" PRId64 " runs refused in all:", refused);
		for (int k = 0; k < AISS_E__COUNT; k++)
			if (refused_by[k])
				fprintf(stderr, " %s %" PRId64,
					aiss_status_name((aiss_status)k),
					refused_by[k]);
		fputc('\n', stderr);
	}
	if (json) {
		printf("{\"file\":\"");
		for (const char *p = pos[1]; *p; p++)
			printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		printf("\",\"rows\":%" PRId64
		       ",\"runs\":%zu,\"imported\":%" PRId64
		       ",\"to_import\":%zu,\"already_charged\":%" PRId64
		       ",\"refused\":%" PRId64 ",\"bad\":%" PRId64
		       ",\"steps\":%" PRId64 ",\"pending\":%" PRId64
		       ",\"running\":%" PRId64 ",\"no_gpu\":%" PRId64
		       ",\"duplicates\":%" PRId64 ",\"dry_run\":%s}\n",
		       st->rows, n, imported, nt, already, refused, st->bad,
		       st->steps, st->pending, st->running, st->no_gpu,
		       st->duplicates, o[3].value ? "true" : "false");
	} else {
		printf("usage import %s%s\n", pos[1],
		       o[3].value ? " (dry run: nothing charged)" : "");
		printf("  rows read            %10" PRId64 "\n", st->rows);
		printf("  runs found           %10zu\n", n);
		printf("  imported (charged)   %10" PRId64 "%s\n", imported,
		       o[3].value ? "" : "");
		if (o[3].value)
			printf("  would import         %10zu\n", nt);
		printf("  already charged      %10" PRId64 "\n", already);
		printf("  refused by the ledger%10" PRId64 "\n", refused);
		printf("  bad rows             %10" PRId64 "\n", st->bad);
		printf("  charged zero (NODE_FAIL etc.) %" PRId64 "\n", zero);
		printf("  skipped: %" PRId64 " job steps, %" PRId64
		       " never started, %" PRId64 " still running, %" PRId64
		       " without GPUs, %" PRId64 " duplicate rows\n",
		       st->steps, st->pending, st->running, st->no_gpu,
		       st->duplicates);
	}
out:
	free(ring);
	free(todo);
	aiss_recon_destroy(rc_match);
	free(charges.v);
	aiss_sacct_destroy(s);
	return rc;
}

/* ---- reconcile ---- */

static int cmd_reconcile(aiss_client *c, int json, int argc, char **argv)
{
	opt o[] = {{"csv", 1, NULL},  {"zone", 1, NULL}, {"cluster", 1, NULL},
		   {"from", 1, NULL}, {"to", 1, NULL},   {"json", 0, NULL}};
	const char *pos[1];
	int npos, rc;
	aiss_sacct *s = NULL;
	vec charges = {.size = sizeof(aiss_charge_rec)};
	aiss_recon *r = NULL;
	aiss_error err;
	aiss_recon_opts ro = {.only_run_clusters = 1};

	if ((rc = parse_opts(2, argc, argv, o, 6, pos, &npos, 1)))
		return rc;
	if (npos != 1)
		return usage_error(2, "say which sacct file to reconcile");
	if (o[5].value)
		json = 1;
	if ((rc = read_sacct(2, pos[0], o[1].value, o[2].value, &s)))
		return rc;
	size_t n;
	aiss_usage_run *runs = aiss_sacct_runs(s, &n);
	run_span(runs, n, &ro.from, &ro.to);
	if (o[3].value && aiss_time_parse(o[3].value, &ro.from) < 0) {
		rc = usage_error(2, "--from '%s' is not a time", o[3].value);
		goto out;
	}
	if (o[4].value && aiss_time_parse(o[4].value, &ro.to) < 0) {
		rc = usage_error(2, "--to '%s' is not a time", o[4].value);
		goto out;
	}
	if ((n || o[3].value || o[4].value) &&
	    (rc = fetch_charges(c, ro.from, ro.to, &charges)))
		goto out;
	aiss_error_clear(&err);
	r = aiss_reconcile(runs, n, charges.v, charges.n, &ro, &err);
	if (!r) {
		rc = service_error("reconcile", &err);
		goto out;
	}
	if (o[0].value) {
		FILE *f = fopen(o[0].value, "w");
		int wr = f ? aiss_recon_write_csv(r, f) : -1;
		/* bad rows are exceptions too: same columns, kind bad-row */
		size_t nb;
		const aiss_usage_bad *b = aiss_sacct_bad(s, &nb);
		for (size_t i = 0; f && wr == 0 && i < nb; i++) {
			char act[320];
			snprintf(act, sizeof(act),
				 "%s: correct the row or export it again, "
				 "then import",
				 b[i].reason);
			fprintf(f, "bad-row,,,,,,,,,,,,,,,%" PRId64 ",",
				b[i].line);
			aiss_csv_field(f, act);
			fputs("\r\n", f);
		}
		if (f && (fflush(f) != 0 || ferror(f)))
			wr = -1;
		if (f && fclose(f) != 0)
			wr = -1;
		if (wr < 0) {
			fprintf(stderr, "aissctl: cannot write %s: %s\n",
				o[0].value, strerror(errno));
			rc = 4;
			goto out;
		}
	}
	if (json ? aiss_recon_write_json(r, stdout)
		 : aiss_recon_write_text(r, stdout)) {
		rc = 4;
		goto out;
	}
	const aiss_sacct_stats *st = aiss_sacct_stats_get(s);
	if (!json && st->bad)
		printf("%" PRId64 " bad row(s) in %s (listed on stderr)\n",
		       st->bad, pos[0]);
	if (o[0].value && !json)
		printf("Exceptions written to %s\n", o[0].value);
	rc = (aiss_recon_totals_get(r)->exceptions || st->bad) ? EXIT_FOUND
							       : EXIT_OK;
out:
	aiss_recon_destroy(r);
	free(charges.v);
	aiss_sacct_destroy(s);
	return rc;
}

int aissctl_finance_run(aiss_client *c, int json, int argc, char **argv)
{
	if (argc < 1 || !argv || !argv[0]) {
		fputs("aissctl: finance commands:\n", stderr);
		aissctl_finance_usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			aissctl_finance_usage(stdout);
			return EXIT_OK;
		}
	}
	if (!strcmp(argv[0], "report"))
		return cmd_report(c, json, argc, argv);
	if (!strcmp(argv[0], "usage"))
		return cmd_usage(c, json, argc, argv);
	if (!strcmp(argv[0], "reconcile"))
		return cmd_reconcile(c, json, argc, argv);
	fprintf(stderr, "aissctl: '%s' is not a finance command\n", argv[0]);
	aissctl_finance_usage(stderr);
	return EXIT_USAGE;
}
