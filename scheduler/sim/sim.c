/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_sim: trace loading and event-driven replay of placement policies. */
#include "aiss_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	COL_NAME,
	COL_CPU,
	COL_MEM,
	COL_NGPU,
	COL_GPU_MILLI,
	COL_SPEC,
	COL_QOS,
	COL_PHASE,
	COL_CREATE,
	COL_DELETE,
	COL_SCHED,
	COL__COUNT
};

static int cmp_submit(const void *x, const void *y)
{
	const struct aiss_sim_job *a = x, *b = y;

	return (a->submit > b->submit) - (a->submit < b->submit);
}

/* Trace numbers are non-negative and below 10^12 (seconds, milli-GPUs,
 * counts): anything else is malformed, which also keeps sums in range. */
static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 1000000000000LL)
		return -1;
	*out = v;
	return 0;
}

int aiss_sim_load_trace(const char *path, struct aiss_sim_job **jobs,
			size_t *njobs, struct aiss_sim_trace_stats *stats)
{
	FILE *f;
	int rc, saved;

	if (!path || !jobs || !njobs) {
		errno = EINVAL;
		return -1;
	}
	f = fopen(path, "r");
	if (!f)
		return -1;
	rc = aiss_sim_read_trace(f, jobs, njobs, stats);
	saved = errno;
	fclose(f);
	errno = saved;
	return rc;
}

int aiss_sim_read_trace(FILE *f, struct aiss_sim_job **jobs, size_t *njobs,
			struct aiss_sim_trace_stats *stats)
{
	char line[1024];
	struct aiss_sim_job *v = NULL;
	size_t n = 0, cap = 0;
	struct aiss_sim_trace_stats st;
	int first = 1, saved = EINVAL;

	if (!f || !jobs || !njobs) {
		errno = EINVAL;
		return -1;
	}
	memset(&st, 0, sizeof(st));
	while (fgets(line, sizeof(line), f)) {
		char *col[COL__COUNT], *p = line;
		int nc = 0;
		int64_t ngpu, milli, create, del, sched;

		line[strcspn(line, "\r\n")] = '\0';
		if (first) { /* header */
			first = 0;
			if (strncmp(line, "name,", 5))
				goto error;
			continue;
		}
		if (!*line)
			continue;
		/* Fields may be empty (gpu_spec, scheduled_time): split by
		 * hand rather than with strtok. */
		while (nc < COL__COUNT) {
			col[nc++] = p;
			p = strchr(p, ',');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (nc != COL__COUNT)
			goto error;
		st.rows++;
		if (parse_i64(col[COL_NGPU], &ngpu) < 0 || ngpu < 0 ||
		    ngpu > AISS_MAX_GPUS ||
		    parse_i64(col[COL_GPU_MILLI], &milli) < 0 ||
		    parse_i64(col[COL_CREATE], &create) < 0)
			goto error;
		if (ngpu == 0) {
			st.cpu_only++;
			continue;
		}
		if (!*col[COL_SCHED]) {
			st.never_ran++;
			continue;
		}
		if (parse_i64(col[COL_SCHED], &sched) < 0 ||
		    parse_i64(col[COL_DELETE], &del) < 0)
			goto error;
		if (n == cap) {
			struct aiss_sim_job *nv;

			cap = cap ? 2 * cap : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				saved = ENOMEM;
				goto error;
			}
			v = nv;
		}
		v[n].submit = create;
		v[n].duration = del - sched > 0 ? del - sched : 1;
		v[n].gpus = (int)ngpu;
		if (milli < 1000)
			st.shared_gpu++;
		if (ngpu > 1)
			st.multi++;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_submit);
	st.kept = n;
	*jobs = v;
	*njobs = n;
	if (stats)
		*stats = st;
	return 0;
error:
	free(v);
	errno = saved;
	return -1;
}

/* A min-heap of running jobs by end time. */
struct running {
	int64_t end;
	int node;
	uint32_t gpus;
};

struct heap {
	struct running *v;
	size_t n;
};

static void heap_push(struct heap *h, struct running r)
{
	size_t i = h->n++;

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent].end <= r.end)
			break;
		h->v[i] = h->v[parent];
		i = parent;
	}
	h->v[i] = r;
}

static struct running heap_pop(struct heap *h)
{
	struct running top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].end < h->v[c].end)
			c++;
		if (last.end <= h->v[c].end)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

/* Picks a node (never @skip_node) and GPUs for a @k-GPU job; returns the
 * node or -1. */
static int choose(const aiss_node *model, const uint32_t *free_mask, int nnodes,
		  int k, enum aiss_place_policy policy, int best_fit,
		  int skip_node, struct aiss_placement *out, size_t *decisions)
{
	int best = -1, best_left = 0;
	enum aiss_level best_span = AISS_LVL__COUNT;
	struct aiss_placement pl;

	for (int i = 0; i < nnodes; i++) {
		int left = __builtin_popcount(free_mask[i]) - k;

		if (left < 0 || i == skip_node)
			continue;
		(*decisions)++;
		if (aiss_place(model, free_mask[i], k, policy, &pl) < 0)
			continue;
		if (!best_fit) {
			*out = pl;
			return i;
		}
		if (best < 0 || pl.span < best_span ||
		    (pl.span == best_span && left < best_left)) {
			best = i;
			best_span = pl.span;
			best_left = left;
			*out = pl;
		}
	}
	return best;
}

/* EASY backfill's reservation for a blocked @k-GPU job: the earliest time
 * (*@shadow) a node (*@node, lowest index on ties) will have @k GPUs free
 * as running jobs end, and how many GPUs beyond @k it will have then
 * (*@extra). Returns 0, or -1 when no node ever will. */
static int reserve(const struct heap *h, const uint32_t *free_mask, int nnodes,
		   int k, int64_t *shadow, int *node, int *extra)
{
	*node = -1;
	for (int n = 0; n < nnodes; n++) {
		int64_t ends[AISS_MAX_GPUS];
		int gpus[AISS_MAX_GPUS], cnt = 0, f;

		for (size_t i = 0; i < h->n && cnt < AISS_MAX_GPUS; i++) {
			int c;

			if (h->v[i].node != n)
				continue;
			/* insertion by end time */
			for (c = cnt; c > 0 && ends[c - 1] > h->v[i].end; c--) {
				ends[c] = ends[c - 1];
				gpus[c] = gpus[c - 1];
			}
			ends[c] = h->v[i].end;
			gpus[c] = __builtin_popcount(h->v[i].gpus);
			cnt++;
		}
		f = __builtin_popcount(free_mask[n]);
		for (int c = 0; c < cnt && f < k; c++) {
			int64_t t = ends[c];

			while (c < cnt && ends[c] == t)
				f += gpus[c++];
			c--;
			if (f >= k && (*node < 0 || t < *shadow)) {
				*shadow = t;
				*node = n;
				*extra = f - k;
			}
		}
	}
	return *node < 0 ? -1 : 0;
}

int aiss_sim_run(const aiss_node *model, int nnodes,
		 const struct aiss_sim_job *jobs, size_t njobs,
		 enum aiss_place_policy policy, enum aiss_sim_node_choice nodes,
		 struct aiss_sim_result *res)
{
	struct aiss_sim_options o = {policy, nodes, AISS_SIM_BACKFILL_GREEDY};

	return aiss_sim_run_opts(model, nnodes, jobs, njobs, &o, res);
}

int aiss_sim_run_opts(const aiss_node *model, int nnodes,
		      const struct aiss_sim_job *jobs, size_t njobs,
		      const struct aiss_sim_options *opt,
		      struct aiss_sim_result *res)
{
	enum aiss_place_policy policy = opt ? opt->policy : AISS_PLACE_TOPO;
	int best_fit = opt && (opt->nodes == AISS_SIM_NODE_BEST_FIT ||
			       (opt->nodes == AISS_SIM_NODE_DEFAULT &&
				policy == AISS_PLACE_TOPO));
	int easy = opt && opt->backfill == AISS_SIM_BACKFILL_EASY;
	uint32_t *free_mask = NULL, all;
	size_t *queue = NULL, qn = 0, next = 0;
	unsigned char *frag = NULL; /* per job: waiting with enough free */
	struct heap heap = {NULL, 0};
	int64_t now = 0, prev = 0;
	double wait_sum = 0;
	int total_free, ngpus;

	if (!model || !opt || nnodes <= 0 || (!jobs && njobs) || !res) {
		errno = EINVAL;
		return -1;
	}
	memset(res, 0, sizeof(*res));
	ngpus = aiss_node_gpu_count(model);
	all = aiss_node_all_gpus(model);
	free_mask = malloc((size_t)nnodes * sizeof(*free_mask));
	queue = malloc((njobs ? njobs : 1) * sizeof(*queue));
	frag = calloc(njobs ? njobs : 1, 1);
	heap.v = malloc((njobs ? njobs : 1) * sizeof(*heap.v));
	if (!free_mask || !queue || !frag || !heap.v) {
		free(free_mask);
		free(queue);
		free(frag);
		free(heap.v);
		errno = ENOMEM;
		return -1;
	}
	for (int i = 0; i < nnodes; i++)
		free_mask[i] = all;
	total_free = nnodes * ngpus;

	while (next < njobs || qn || heap.n) {
		int64_t t_sub = next < njobs ? jobs[next].submit : INT64_MAX;
		int64_t t_end = heap.n ? heap.v[0].end : INT64_MAX;
		int min_failed = ngpus + 1;
		size_t keep = 0;

		if (t_sub == INT64_MAX && t_end == INT64_MAX)
			break; /* queue holds only jobs that can never fit */
		now = t_sub < t_end ? t_sub : t_end;
		/* Time spent blocked by fragmentation since the last event. */
		for (size_t q = 0; q < qn; q++)
			if (frag[queue[q]] == 2)
				res->frag_wait_gpu_hours +=
				    (double)(now - prev) * jobs[queue[q]].gpus /
				    3600.0;
		prev = now;
		while (heap.n && heap.v[0].end == now) {
			struct running r = heap_pop(&heap);

			free_mask[r.node] |= r.gpus;
			total_free += __builtin_popcount(r.gpus);
		}
		while (next < njobs && jobs[next].submit == now) {
			if (jobs[next].gpus > ngpus || jobs[next].gpus < 1)
				res->too_big++;
			else
				queue[qn++] = next;
			next++;
		}
		/* One scheduling pass: FIFO, then backfill (greedy: every job
		 * that fits; EASY: the first blocked job gets a reservation
		 * that later jobs may not delay). */
		int res_node = -1, res_extra = 0;
		int64_t shadow = 0;

		for (size_t q = 0; q < qn; q++) {
			size_t j = queue[q];
			int k = jobs[j].gpus, node = -1, skip = -1;
			struct aiss_placement pl;

			if (res_node >= 0 && now + jobs[j].duration > shadow &&
			    k > res_extra)
				skip = res_node;
			if (easy || k < min_failed)
				node = choose(model, free_mask, nnodes, k,
					      policy, best_fit, skip, &pl,
					      &res->decisions);
			if (node < 0) {
				int fits = 0;

				for (int n = 0; n < nnodes && !fits; n++)
					fits = __builtin_popcount(
						   free_mask[n]) >= k;
				if (k < min_failed && !fits)
					min_failed = k;
				/* Fragmentation: enough GPUs free in the
				 * cluster, but on no single node. */
				if (!fits && total_free >= k) {
					if (!frag[j])
						res->frag_waited++;
					frag[j] = 2;
				} else if (frag[j] == 2) {
					frag[j] = 1;
				}
				if (easy && res_node < 0 &&
				    reserve(&heap, free_mask, nnodes, k,
					    &shadow, &res_node, &res_extra) < 0)
					res_node = -1;
				queue[keep++] = j;
				continue;
			}
			if (frag[j] == 2)
				frag[j] = 1;
			if (node == res_node && now + jobs[j].duration > shadow)
				res_extra -= k;
			free_mask[node] &= ~pl.gpus;
			total_free -= k;
			heap_push(&heap,
				  (struct running){now + jobs[j].duration, node,
						   pl.gpus});
			res->jobs++;
			res->by_size[k]++;
			if (now > jobs[j].submit)
				res->waited++;
			wait_sum += (double)(now - jobs[j].submit);
			res->wait_by_size_s[k] +=
			    (double)(now - jobs[j].submit);
			if (now + jobs[j].duration > res->makespan_s)
				res->makespan_s = now + jobs[j].duration;
			if (k > 1) {
				res->multi++;
				if (pl.span == AISS_LVL_SWITCH) {
					res->multi_switch++;
					res->by_size_switch[k]++;
				}
				if (pl.span <= AISS_LVL_NUMA) {
					res->multi_numa++;
					res->by_size_numa[k]++;
				}
			}
		}
		qn = keep;
	}
	res->mean_wait_s = res->jobs ? wait_sum / (double)res->jobs : 0;
	for (int k = 0; k <= AISS_MAX_GPUS; k++)
		if (res->by_size[k])
			res->wait_by_size_s[k] /= (double)res->by_size[k];
	free(free_mask);
	free(queue);
	free(frag);
	free(heap.v);
	return 0;
}
