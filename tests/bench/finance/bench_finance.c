/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_finance: report computation and sacct parse + reconcile over N
 * generated runs (default 1,000,000), in rows per second, with ratios to a
 * baseline measured in the same run: a plain read of the same file split on
 * '|' and '\n' (the I/O floor any parser pays). A benchmark, not a test. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aiss_report.h"
#include "aiss_usage.h"

#define TARGET_ROWS_S 500000.0
#define N_GRANTS 1000
#define PRICE 3000000 /* HK$30,000 per GPU-hour: big enough totals */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* xorshift: reproducible input */
static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fmt_utc8(aiss_time_t t, char *buf, size_t len)
{
	/* sacct prints local time; the cluster's zone is Hong Kong */
	int64_t l = t + AISS_HKT_OFFSET, days = l / 86400, rem = l % 86400;
	int64_t y;
	unsigned m, d;
	aiss_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len,
		 "%04" PRId64 "-%02u-%02uT%02" PRId64 ":%02" PRId64
		 ":%02" PRId64,
		 y, m, d, rem / 3600, rem % 3600 / 60, rem % 60);
}

/* The I/O floor: read the file and split every line on '|'. Returns the
 * number of lines; *fields the number of fields (kept so the compiler
 * cannot drop the work). */
static int64_t baseline_pass(const char *path, int64_t *fields)
{
	int fd = open(path, O_RDONLY);
	static char buf[1 << 20];
	int64_t lines = 0, f = 0;
	ssize_t n;
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			f += buf[i] == '|';
			lines += buf[i] == '\n';
		}
	}
	close(fd);
	*fields = f;
	return lines;
}

static void line(const char *what, int64_t rows, double secs, double base)
{
	double rate = secs > 0 ? (double)rows / secs : 0;
	printf("  %-34s %8.3f s %12.0f rows/s  %6.2fx baseline  %s\n", what,
	       secs, rate, base > 0 ? secs / base : 0,
	       rate >= TARGET_ROWS_S ? "meets 500k/s" : "BELOW 500k/s");
}

int main(int argc, char **argv)
{
	int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
	const char *keep = argc > 2 ? argv[2] : NULL;
	char dir[] = "/tmp/aiss-bench-fin-XXXXXX", path[256];
	aiss_error err;

	if (n <= 0 || n > 50000000) {
		fprintf(stderr, "usage: bench_finance [RUNS] [KEEP_DIR]\n");
		return 2;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sacct.txt", keep ? keep : dir);

	/* ---- generate: the sacct file and the ledger's charges ---- */
	double t0 = now_s();
	FILE *f = fopen(path, "w");
	aiss_charge_rec *ch = calloc((size_t)n, sizeof(*ch));
	aiss_grant *g = calloc(N_GRANTS, sizeof(*g));
	if (!f || !ch || !g) {
		fprintf(stderr, "cannot set up (%s)\n", strerror(errno));
		return 1;
	}
	aiss_scheme sch = {.commitment = 300000000000LL};
	aiss_time_parse("2024-04-01", &sch.start);
	aiss_time_parse("2027-04-01", &sch.end);
	for (int i = 0; i < N_GRANTS; i++) {
		snprintf(g[i].id, sizeof(g[i].id), "AISS-%04d", i);
		snprintf(g[i].institution, sizeof(g[i].institution),
			 "Institution %d", i);
		g[i].inst_type = (aiss_inst_type)(1 + i % 4);
		g[i].approved_subsidy = 300000000LL;
		g[i].window_start = sch.start;
		g[i].window_end = sch.end;
		g[i].rate_bp = 7000;
	}
	fputs("JobID|JobIDRaw|Cluster|Account|User|Start|End|State|AllocTRES|"
	      "Elapsed\n",
	      f);
	aiss_time_t t = sch.start;
	int64_t nch = 0, rows = 0;
	for (int64_t i = 0; i < n; i++) {
		uint64_t r = next_rand();
		int gi = (int)(r % N_GRANTS);
		int64_t gpus = 1 << (r >> 10) % 5; /* 1..16 */
		int64_t dur = 60 + (int64_t)((r >> 20) % 86400);
		/* ids wrap at 2^19: reused ids appear across the file */
		uint64_t job = 1000 + (uint64_t)i % (1u << 19);
		t += 80; /* ~1M runs over ~2.5 years */
		char s1[32], s2[32];
		fmt_utc8(t, s1, sizeof(s1));
		fmt_utc8(t + dur, s2, sizeof(s2));
		const char *state =
		    (r >> 40) % 500 == 0 ? "NODE_FAIL" : "COMPLETED";
		if ((r >> 50) % 2)
			fprintf(
			    f,
			    "%" PRIu64 "|%" PRIu64 "|aisc|acct%d|user%d|%s|%s|"
			    "%s|billing=%" PRId64 ",cpu=%" PRId64
			    ",gres/gpu:h100=%" PRId64 ",gres/gpu=%" PRId64
			    ",mem=%" PRId64 "G,node=1|00:00:00\n",
			    job, job, gi, (int)(r >> 33) % 5000, s1, s2, state,
			    gpus * 8, gpus * 8, gpus, gpus, gpus * 64);
		else
			fprintf(f,
				"%" PRIu64 "|%" PRIu64
				"|aisc|acct%d|user%d|%s|%s|"
				"%s|cpu=%" PRId64 ",gres/gpu=%" PRId64
				",node=1|00:00:00\n",
				job, job, gi, (int)(r >> 33) % 5000, s1, s2,
				state, gpus * 8, gpus);
		/* a step row for every tenth job, skipped by the parser */
		if (i % 10 == 0) {
			fprintf(f,
				"%" PRIu64 ".batch|%" PRIu64
				".batch|aisc|acct%d|"
				"user0|%s|%s|COMPLETED|cpu=8|00:00:00\n",
				job, job, gi, s1, s2);
			rows++;
		}
		rows++;
		/* the ledger: every run charged, but 1 in 1000 missing */
		if ((r >> 44) % 1000 == 0)
			continue;
		aiss_charge_rec *c = &ch[nch++];
		snprintf(c->key.cluster, sizeof(c->key.cluster), "aisc");
		c->key.job_id = job;
		c->key.run_start = c->start = t;
		c->end = t + dur;
		c->gpus = gpus;
		c->price = PRICE;
		c->rate_bp = 7000;
		c->inst_type = g[gi].inst_type;
		snprintf(c->grant_id, sizeof(c->grant_id), "%s", g[gi].id);
		snprintf(c->end_state, sizeof(c->end_state), "%s", state);
		aiss_run_usage u = {gpus, t, t + dur, state[0] == 'N'};
		aiss_grant_terms terms = {7000, sch.start, sch.end,
					  INT64_MAX / 4};
		if (aiss_policy_charge(&u, PRICE, &terms, &c->charge, &err)) {
			fprintf(stderr, "charge: %s\n", err.text);
			return 1;
		}
	}
	if (fclose(f)) {
		perror("write");
		return 1;
	}
	double gen = now_s() - t0;

	/* ---- baseline: read + split on '|' (best of two, warm cache) ---- */
	int64_t fields = 0, lines = 0;
	double base = 1e9;
	for (int k = 0; k < 2; k++) {
		t0 = now_s();
		lines = baseline_pass(path, &fields);
		double s = now_s() - t0;
		if (s < base)
			base = s;
	}

	/* ---- sacct parse ---- */
	t0 = now_s();
	aiss_sacct *sa = aiss_sacct_create(NULL);
	if (!sa || aiss_sacct_parse_file(sa, path, &err) < 0) {
		fprintf(stderr, "parse: %s\n", err.text);
		return 1;
	}
	double parse = now_s() - t0;
	size_t nruns;
	aiss_usage_run *runs = aiss_sacct_runs(sa, &nruns);

	/* ---- reconcile ---- */
	t0 = now_s();
	aiss_recon *rc =
	    aiss_reconcile(runs, nruns, ch, (size_t)nch, NULL, &err);
	double recon = now_s() - t0;
	if (!rc) {
		fprintf(stderr, "reconcile: %s\n", err.text);
		return 1;
	}
	const aiss_recon_totals *rt = aiss_recon_totals_get(rc);

	/* ---- report ---- */
	t0 = now_s();
	aiss_report_input in = {.scheme = &sch,
				.grants = g,
				.n_grants = N_GRANTS,
				.charges = ch,
				.n_charges = (size_t)nch};
	aiss_report_opts o = {.fy = 2025};
	aiss_report *rep = aiss_report_compute(&in, &o, &err);
	double report = now_s() - t0;
	if (!rep) {
		fprintf(stderr, "report: %s\n", err.text);
		return 1;
	}
	FILE *devnull = fopen("/dev/null", "w");
	t0 = now_s();
	aiss_report_write_json(rep, devnull);
	aiss_report_write_html(rep, devnull);
	double render = now_s() - t0;
	fclose(devnull);

	long fsz = 0;
	f = fopen(path, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		fsz = ftell(f);
		fclose(f);
	}
	const aiss_report_summary *s = aiss_report_summary_get(rep);
	char m[AISS_MONEY_BUFSZ];
	printf("bench_finance: %" PRId64 " runs, %" PRId64 " sacct rows "
	       "(%.1f MB, %" PRId64 " lines, %" PRId64 " fields), %" PRId64
	       " charges, generated in %.2f s\n",
	       n, rows, (double)fsz / 1e6, lines, fields + lines, nch, gen);
	printf("  baseline = io-floor: read(2) the file + split on '|' and "
	       "'\\n' = %.3f s (%.0f rows/s)\n",
	       base, (double)rows / base);
	line("sacct parse", rows, parse, base);
	line("reconcile (runs vs charges)", (int64_t)nruns, recon, base);
	line("sacct parse + reconcile", rows, parse + recon, base);
	line("report compute (split by quarter)", nch, report, base);
	printf("  %-34s %8.3f s (JSON + HTML)\n", "report render", render);
	printf("  runs %zu, matched %" PRId64 ", no-charge %" PRId64
	       ", no-run %" PRId64 ", exceptions %" PRId64 "\n",
	       nruns, rt->count[AISS_RECON_MATCHED],
	       rt->count[AISS_RECON_NO_CHARGE], rt->count[AISS_RECON_NO_RUN],
	       rt->exceptions);
	printf("  2025-26 expenditure HK$%s over %" PRId64 " runs\n",
	       aiss_money_format(s->fy_expenditure, true, m, sizeof(m)),
	       s->period.runs);
	int ok = (double)rows / (parse + recon) >= TARGET_ROWS_S &&
		 (double)nch / report >= TARGET_ROWS_S;
	/* the generated mismatches must be found: a benchmark that reports
	 * nothing would be measuring nothing */
	if (rt->count[AISS_RECON_NO_CHARGE] != (int64_t)nruns - nch ||
	    rt->count[AISS_RECON_MATCHED] != nch) {
		fprintf(stderr,
			"bench_finance: reconcile found %" PRId64
			" no-charge, expected %" PRId64 "\n",
			rt->count[AISS_RECON_NO_CHARGE], (int64_t)nruns - nch);
		ok = -1;
	}
	printf("  target 500,000 rows/s: %s\n", ok > 0 ? "met" : "NOT met");

	aiss_report_destroy(rep);
	aiss_recon_destroy(rc);
	aiss_sacct_destroy(sa);
	free(ch);
	free(g);
	if (!keep)
		unlink(path);
	rmdir(dir);
	return ok < 0 ? 1 : 0;
}
