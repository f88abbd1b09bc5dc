/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_ledger: durable reserve+settle pairs per second through the ledger,
 * in group-commit batches of N pairs, with per-pair latency p50/p99 (from the
 * batch's start to its durable commit, as a client of aissd would see it),
 * and the same without batching as the baseline measured in the same run;
 * then an open loop at a fixed offered load (RATE pairs/s arriving on a
 * schedule; each batch takes everything that arrived while the previous one
 * ran, as aissd's group commit does), latency from arrival to durable commit.
 * Usage: bench_ledger [DB_PATH ("": a temporary one)] [PAIRS] [BATCH]
 *                     [GRANTS] [RATE=5000, 0: skip the open loop] */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs @pairs pairs in batches of @batch (0: no batch, each operation its
 * own transaction). Prints a line; returns pairs/s or -1. */
static double run(aiss_ledger *l, const char *label, long pairs, long batch,
		  long grants, unsigned long *job)
{
	double *lat = malloc(sizeof(double) * (size_t)pairs);
	double t0, tb, t1, tc, commit_s = 0;
	aiss_error err;
	long done = 0;

	if (!lat)
		return -1;
	t0 = bench_now();
	while (done < pairs) {
		long n = batch > 0 ? batch : 1;

		if (n > pairs - done)
			n = pairs - done;
		tb = bench_now();
		if (batch > 0 && aiss_ledger_batch_begin(l, &err))
			goto fail;
		for (long i = 0; i < n; i++) {
			(*job)++;
			if (bench_pair(l, *job,
				       (long)(*job % (unsigned long)grants),
				       &err))
				goto fail;
		}
		tc = bench_now();
		if (batch > 0 && aiss_ledger_batch_commit(l, &err))
			goto fail;
		t1 = bench_now();
		commit_s += t1 - tc;
		for (long i = 0; i < n; i++)
			lat[done + i] = t1 - tb;
		done += n;
	}
	t1 = bench_now();
	qsort(lat, (size_t)pairs, sizeof(double), cmp_double);
	printf("%-10s batch=%-5ld pairs=%-7ld %9.0f pairs/s  latency p50 "
	       "%.3f ms  p99 %.3f ms  (%.0f%% of the time in commits)\n",
	       label, batch, pairs, pairs / (t1 - t0), lat[pairs / 2] * 1e3,
	       lat[(pairs * 99) / 100] * 1e3, 100 * commit_s / (t1 - t0));
	fflush(stdout);
	free(lat);
	return pairs / (t1 - t0);
fail:
	fprintf(stderr, "bench_ledger: %s\n", err.text);
	free(lat);
	return -1;
}

/* Open loop: @pairs arrivals at @rate per second; returns 0 or -1. */
static int run_offered(aiss_ledger *l, long pairs, double rate, long grants,
		       int idle_ckpt, unsigned long *job)
{
	double *lat = malloc(sizeof(double) * (size_t)pairs);
	double t0, now, tc;
	long done = 0, batches = 0, max_batch = 0;
	aiss_error err;

	if (!lat)
		return -1;
	t0 = bench_now();
	while (done < pairs) {
		long due;

		now = bench_now();
		due = (long)((now - t0) * rate) + 1;
		if (due > pairs)
			due = pairs;
		if (due <= done) { /* idle until the next arrival */
			double wait;
			struct timespec ts;

			if (idle_ckpt && aiss_ledger_idle(l))
				continue;
			wait = t0 + (double)done / rate - now;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(wait * 1e9);
			if (wait > 0)
				nanosleep(&ts, NULL);
			continue;
		}
		if (due - done > 1024)
			due = done + 1024;
		if (aiss_ledger_batch_begin(l, &err))
			goto fail;
		for (long i = done; i < due; i++) {
			(*job)++;
			if (bench_pair(l, *job,
				       (long)(*job % (unsigned long)grants),
				       &err))
				goto fail;
		}
		if (aiss_ledger_batch_commit(l, &err))
			goto fail;
		tc = bench_now();
		for (long i = done; i < due; i++)
			lat[i] = tc - (t0 + (double)i / rate);
		if (due - done > max_batch)
			max_batch = due - done;
		batches++;
		done = due;
	}
	now = bench_now();
	qsort(lat, (size_t)pairs, sizeof(double), cmp_double);
	printf("offered%s rate=%-6.0f pairs=%-7ld %9.0f pairs/s  latency p50 "
	       "%.3f ms  p99 %.3f ms  max %.3f ms  (%.1f pairs/batch, "
	       "largest %ld)\n",
	       idle_ckpt ? "+idle" : "     ", rate, pairs, pairs / (now - t0),
	       lat[pairs / 2] * 1e3, lat[(pairs * 99) / 100] * 1e3,
	       lat[pairs - 1] * 1e3, (double)pairs / (double)batches,
	       max_batch);
	free(lat);
	return 0;
fail:
	fprintf(stderr, "bench_ledger: %s\n", err.text);
	free(lat);
	return -1;
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/bench_ledger.XXXXXX";
	char path[256];
	long pairs = argc > 2 ? atol(argv[2]) : 20000;
	long batch = argc > 3 ? atol(argv[3]) : 32;
	long grants = argc > 4 ? atol(argv[4]) : 100;
	double rate = argc > 5 ? atof(argv[5]) : 5000;
	unsigned long job = 0;
	aiss_ledger *l;
	aiss_error err;
	double base, grouped;
	int tmp = argc < 2 || !argv[1][0];

	if (pairs <= 0 || grants <= 0 || batch < 0 || rate < 0) {
		fprintf(stderr, "usage: bench_ledger [DB] [PAIRS] [BATCH] "
				"[GRANTS] [RATE]\n");
		return 2;
	}
	if (tmp) {
		if (!mkdtemp(tmpl))
			return 1;
		snprintf(path, sizeof(path), "%s/ledger.db", tmpl);
	} else {
		snprintf(path, sizeof(path), "%s", argv[1]);
	}
	l = aiss_ledger_open(path, &err);
	if (!l || bench_setup(l, grants, &err)) {
		fprintf(stderr, "bench_ledger: %s\n", err.text);
		return 1;
	}
	printf("bench_ledger: %s, %ld grants, synchronous=FULL (durable)\n",
	       path, grants);
	base = run(l, "unbatched", pairs / 20 > 0 ? pairs / 20 : 1, 0, grants,
		   &job);
	grouped = run(l, "grouped", pairs, batch, grants, &job);
	if (base > 0 && grouped > 0)
		printf("group commit / unbatched: %.1fx\n", grouped / base);
	if (rate > 0 && (run_offered(l, pairs, rate, grants, 0, &job) ||
			 run_offered(l, pairs, rate, grants, 1, &job)))
		grouped = -1;
	aiss_ledger_close(l);
	if (tmp) {
		char f[300];

		snprintf(f, sizeof(f), "%s-wal", path);
		unlink(f);
		snprintf(f, sizeof(f), "%s-shm", path);
		unlink(f);
		unlink(path);
		rmdir(tmpl);
	}
	return base > 0 && grouped > 0 ? 0 : 1;
}
