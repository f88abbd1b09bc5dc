/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sacct.c: reads `sacct --parsable2` output (header line, '|' separated)
 * into distinct runs, reporting bad rows by line number. */
#include "aiss_usage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_CHUNK (64 * 1024)
#define MAX_FIELDS 256
#define MAX_BAD 100000 /* bad rows kept in full; the rest only counted */

enum col {
	COL_CLUSTER,
	COL_JOBIDRAW,
	COL_JOBID,
	COL_ACCOUNT,
	COL_USER,
	COL_START,
	COL_END,
	COL_STATE,
	COL_ALLOCTRES,
	COL__COUNT
};
static const char *const col_names[COL__COUNT] = {
    "Cluster", "JobIDRaw", "JobID", "Account",   "User",
    "Start",   "End",      "State", "AllocTRES",
};

/* Interned strings: chunks that never move, and an open-addressed set. */
typedef struct pool_chunk {
	struct pool_chunk *next;
	size_t used;
	char data[];
} pool_chunk;

struct aiss_sacct {
	aiss_sacct_opts opts;
	char cluster_default[AISS_ID_MAX];
	pool_chunk *chunks;
	const char **set;
	size_t set_cap, set_n;
	aiss_usage_run *runs;
	size_t n_runs, runs_cap;
	aiss_usage_bad *bad;
	size_t n_bad, bad_cap;
	aiss_sacct_stats st;
	const char *last[5]; /* intern_col()'s cache */
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static char *pool_alloc(aiss_sacct *s, size_t n)
{
	if (!s->chunks || s->chunks->used + n > POOL_CHUNK) {
		size_t sz = n > POOL_CHUNK ? n : POOL_CHUNK;
		pool_chunk *c = malloc(sizeof(*c) + sz);
		if (!c)
			return NULL;
		c->next = s->chunks;
		c->used = 0;
		s->chunks = c;
	}
	char *p = s->chunks->data + s->chunks->used;
	s->chunks->used += n;
	return p;
}

static int set_grow(aiss_sacct *s)
{
	size_t cap = s->set_cap ? s->set_cap * 2 : 1024;
	const char **t = calloc(cap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < s->set_cap; i++) {
		if (!s->set[i])
			continue;
		size_t j = hash_bytes(s->set[i], strlen(s->set[i])) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = s->set[i];
	}
	free(s->set);
	s->set = t;
	s->set_cap = cap;
	return 0;
}

/* The pooled copy of @str (length @n); NULL when out of memory. */
static const char *intern(aiss_sacct *s, const char *str, size_t n)
{
	if ((s->set_n + 1) * 2 > s->set_cap && set_grow(s) < 0)
		return NULL;
	size_t j = hash_bytes(str, n) & (s->set_cap - 1);
	while (s->set[j]) {
		if (strncmp(s->set[j], str, n) == 0 && s->set[j][n] == 0)
			return s->set[j];
		j = (j + 1) & (s->set_cap - 1);
	}
	char *p = pool_alloc(s, n + 1);
	if (!p)
		return NULL;
	memcpy(p, str, n);
	p[n] = 0;
	s->set[j] = p;
	s->set_n++;
	return p;
}

/* intern() with a one-entry cache per column: clusters, states and GPU
 * types mostly repeat from row to row. */
static const char *intern_col(aiss_sacct *s, int col, const char *str, size_t n)
{
	const char *last = s->last[col];
	if (last && strncmp(last, str, n) == 0 && last[n] == 0)
		return last;
	return s->last[col] = intern(s, str, n);
}

aiss_sacct *aiss_sacct_create(const aiss_sacct_opts *o)
{
	aiss_sacct *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->opts.zone_offset = o ? o->zone_offset : AISS_HKT_OFFSET;
	if (o && o->cluster)
		snprintf(s->cluster_default, sizeof(s->cluster_default), "%s",
			 o->cluster);
	s->opts.cluster = s->cluster_default[0] ? s->cluster_default : NULL;
	return s;
}

void aiss_sacct_destroy(aiss_sacct *s)
{
	if (!s)
		return;
	while (s->chunks) {
		pool_chunk *n = s->chunks->next;
		free(s->chunks);
		s->chunks = n;
	}
	free(s->set);
	free(s->runs);
	free(s->bad);
	free(s);
}

__attribute__((format(printf, 3, 4))) static int
bad_row(aiss_sacct *s, int64_t line, const char *fmt, ...)
{
	s->st.bad++;
	if (s->n_bad >= MAX_BAD)
		return 0;
	if (s->n_bad == s->bad_cap) {
		size_t cap = s->bad_cap ? s->bad_cap * 2 : 16;
		aiss_usage_bad *b = realloc(s->bad, cap * sizeof(*b));
		if (!b)
			return -1;
		s->bad = b;
		s->bad_cap = cap;
	}
	aiss_usage_bad *b = &s->bad[s->n_bad++];
	b->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
	return 0;
}

int aiss_zone_parse(const char *z, int *offset)
{
	if (!z || !offset)
		goto bad;
	if (!strcasecmp(z, "UTC") || !strcmp(z, "Z") || !strcasecmp(z, "GMT")) {
		*offset = 0;
		return 0;
	}
	if (!strcasecmp(z, "HKT") || !strcmp(z, "Asia/Hong_Kong")) {
		*offset = AISS_HKT_OFFSET;
		return 0;
	}
	if (*z != '+' && *z != '-')
		goto bad;
	int sign = *z == '-' ? -1 : 1, h = 0, m = 0, nd = 0;
	const char *p = z + 1;
	while (isdigit((unsigned char)*p) && nd < 2) {
		h = h * 10 + (*p++ - '0');
		nd++;
	}
	if (!nd)
		goto bad;
	if (*p == ':')
		p++;
	if (*p) {
		if (!isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]) || p[2])
			goto bad;
		m = (p[0] - '0') * 10 + (p[1] - '0');
	}
	if (h > 14 || m > 59)
		goto bad;
	*offset = sign * (h * 3600 + m * 60);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static int parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

int aiss_tres_gpus(const char *tres, size_t len, int64_t *gpus, char *type,
		   size_t tlen)
{
	int64_t typed = 0, untyped = 0;
	int have_typed = 0, have_untyped = 0;
	const char *p = tres, *e = tres + len;

	if (type && tlen)
		type[0] = 0;
	while (p < e) {
		const char *q = memchr(p, ',', (size_t)(e - p));
		if (!q)
			q = e;
		/* entries: name=value; only gres/gpu and gres/gpu:TYPE count
		 * (not gres/gpumem, gres/gpuutil) */
		if ((size_t)(q - p) > 8 && memcmp(p, "gres/gpu", 8) == 0 &&
		    (p[8] == '=' || p[8] == ':')) {
			const char *eq = memchr(p, '=', (size_t)(q - p));
			uint64_t v;
			if (!eq ||
			    parse_u64(eq + 1, (size_t)(q - eq - 1), &v) ||
			    v > AISS_GPUS_LIMIT) {
				errno = EINVAL;
				return -1;
			}
			if (p[8] == '=') {
				untyped += (int64_t)v;
				have_untyped = 1;
			} else {
				if (!have_typed && type && tlen) {
					size_t tl = (size_t)(eq - (p + 9));
					if (tl >= tlen)
						tl = tlen - 1;
					memcpy(type, p + 9, tl);
					type[tl] = 0;
				}
				typed += (int64_t)v;
				have_typed = 1;
			}
		}
		p = q + 1;
	}
	*gpus = have_typed ? typed : (have_untyped ? untyped : 0);
	(void)have_untyped;
	return 0;
}

/* sacct's own format, "2025-07-01T00:30:00" in the cluster's zone, read
 * without the general parser's checks for other forms; anything else (and
 * days past the 28th, to leave month lengths to aiss_core) goes to
 * aiss_time_parse_zone(). */
static int parse_time(const char *f, int zone, aiss_time_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int v[6] = {0}, k = 0;
	for (int i = 0; i < 19; i++) {
		if (shape[i] == 'd') {
			if (f[i] < '0' || f[i] > '9')
				goto general;
			v[k] = v[k] * 10 + (f[i] - '0');
		} else if (f[i] != shape[i]) {
			goto general;
		} else {
			k++;
		}
	}
	if (f[19] || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 28 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 59)
		goto general;
	*out =
	    aiss_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
	    v[3] * 3600 + v[4] * 60 + v[5] - zone;
	return 0;
general:
	return aiss_time_parse_zone(f, zone, out);
}

static int is_unknown_time(const char *f)
{
	if (*f >= '0' && *f <= '9')
		return 0; /* the common case: a time */
	return !*f || !strcmp(f, "Unknown") || !strcmp(f, "None") ||
	       !strcmp(f, "N/A");
}

/* Run-key set for duplicates: index of the run in s->runs. */
typedef struct keyset {
	int64_t *slot;
	size_t cap;
} keyset;

static uint64_t run_hash(const aiss_usage_run *r)
{
	uint64_t h = (uint64_t)(uintptr_t)r->cluster * 0x9E3779B97F4A7C15ULL;
	h ^= r->job_id * 0xC2B2AE3D27D4EB4FULL;
	h ^= (uint64_t)r->start * 0x165667B19E3779F9ULL;
	h ^= h >> 29;
	return h;
}

/* Clusters are interned, so equal names are equal pointers. */
static int run_same_key(const aiss_usage_run *a, const aiss_usage_run *b)
{
	return a->cluster == b->cluster && a->job_id == b->job_id &&
	       a->start == b->start;
}

/* Parses one data row (fields already split). 0, or -1 out of memory. */
static int parse_row(aiss_sacct *s, char **f, size_t nf, const int *col,
		     int64_t line, keyset *ks)
{
	aiss_usage_run r;
	const char *jid;
	size_t jl;
	(void)nf;

	memset(&r, 0, sizeof(r));
	r.line = line;
	jid = col[COL_JOBIDRAW] >= 0 ? f[col[COL_JOBIDRAW]] : f[col[COL_JOBID]];
	jl = strlen(jid);
	if (strchr(jid, '.')) {
		s->st.steps++;
		return 0;
	}
	if (parse_u64(jid, jl, &r.job_id))
		return bad_row(s, line, "job id '%.40s' is not a number", jid);

	const char *st = f[col[COL_STATE]];
	size_t sl = strcspn(st, " ");
	const char *start = f[col[COL_START]], *end = f[col[COL_END]];
	if (is_unknown_time(start)) {
		s->st.pending++;
		return 0;
	}
	if (is_unknown_time(end)) {
		s->st.running++;
		return 0;
	}
	if (parse_time(start, s->opts.zone_offset, &r.start))
		return bad_row(s, line,
			       "job %" PRIu64 ": Start '%.40s' is not a time",
			       r.job_id, start);
	if (parse_time(end, s->opts.zone_offset, &r.end))
		return bad_row(s, line,
			       "job %" PRIu64 ": End '%.40s' is not a time",
			       r.job_id, end);
	if (r.end < r.start)
		return bad_row(s, line,
			       "job %" PRIu64 ": End %.40s is before "
			       "Start %.40s",
			       r.job_id, end, start);
	if (r.end - r.start > AISS_DURATION_LIMIT)
		return bad_row(s, line,
			       "job %" PRIu64 ": runs from %.40s to "
			       "%.40s, longer than ten years",
			       r.job_id, start, end);
	if (sl == 0 || sl >= AISS_STATE_MAX)
		return bad_row(s, line,
			       "job %" PRIu64 ": State '%.40s' is "
			       "not a Slurm state",
			       r.job_id, st);

	char type[AISS_ID_MAX];
	const char *tres = f[col[COL_ALLOCTRES]];
	if (aiss_tres_gpus(tres, strlen(tres), &r.gpus, type, sizeof(type)))
		return bad_row(s, line,
			       "job %" PRIu64 ": AllocTRES '%.80s' "
			       "has a GPU count that is not a number",
			       r.job_id, tres);
	if (r.gpus == 0) {
		s->st.no_gpu++;
		return 0;
	}

	const char *cl = col[COL_CLUSTER] >= 0 ? f[col[COL_CLUSTER]] : "";
	if (!*cl)
		cl = s->opts.cluster;
	if (!cl)
		return bad_row(s, line,
			       "job %" PRIu64 ": no cluster (add the "
			       "Cluster column or give --cluster)",
			       r.job_id);
	const char *acct = f[col[COL_ACCOUNT]], *user = f[col[COL_USER]];
	if (!*acct)
		return bad_row(s, line, "job %" PRIu64 ": no Account",
			       r.job_id);
	size_t cll = strlen(cl), al = strlen(acct), ul = strlen(user);
	if (cll >= AISS_ID_MAX || al >= AISS_ID_MAX || ul >= AISS_ID_MAX)
		return bad_row(s, line,
			       "job %" PRIu64 ": a name is longer "
			       "than %d bytes",
			       r.job_id, AISS_ID_MAX - 1);
	if (!(r.cluster = intern_col(s, 0, cl, cll)) ||
	    !(r.account = intern_col(s, 1, acct, al)) ||
	    !(r.user = intern_col(s, 2, user, ul)) ||
	    !(r.gpu_type = intern_col(s, 3, type, strlen(type))) ||
	    !(r.state = intern_col(s, 4, st, sl)))
		return -1;

	/* One run per key: `sacct --duplicates` may repeat a record. The key
	 * set and the runs array were sized for every line by reserve(). */
	size_t j = run_hash(&r) & (ks->cap - 1);
	while (ks->slot[j] >= 0) {
		const aiss_usage_run *o = &s->runs[ks->slot[j]];
		if (run_same_key(o, &r)) {
			if (o->end == r.end && o->gpus == r.gpus &&
			    o->state == r.state) {
				s->st.duplicates++;
				return 0;
			}
			return bad_row(s, line,
				       "job %" PRIu64 ": same run "
				       "(cluster, job id, start) as line "
				       "%" PRId64 " with other values",
				       r.job_id, o->line);
		}
		j = (j + 1) & (ks->cap - 1);
	}
	if (s->n_runs == s->runs_cap)
		return -1;
	ks->slot[j] = (int64_t)s->n_runs;
	s->runs[s->n_runs++] = r;
	s->st.runs++;
	return 0;
}

/* Splits @line in place on '|'; returns the number of fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		if (n < max)
			f[n] = p;
		n++;
		char *q = strchr(p, '|');
		if (!q)
			break;
		*q = 0;
		p = q + 1;
	}
	return n;
}

/* Makes room for @more runs and a key set over all of them (no rehash
 * while parsing). */
static int reserve(aiss_sacct *s, keyset *ks, size_t more)
{
	size_t want = s->n_runs + more;
	if (want > s->runs_cap) {
		aiss_usage_run *n = realloc(s->runs, want * sizeof(*n));
		if (!n)
			return -1;
		s->runs = n;
		s->runs_cap = want;
	}
	size_t cap = 4096;
	while (cap < want * 2 + 2)
		cap *= 2;
	ks->slot = malloc(cap * sizeof(*ks->slot));
	if (!ks->slot)
		return -1;
	ks->cap = cap;
	for (size_t i = 0; i < cap; i++)
		ks->slot[i] = -1;
	for (size_t i = 0; i < s->n_runs; i++) {
		size_t j = run_hash(&s->runs[i]) & (cap - 1);
		while (ks->slot[j] >= 0)
			j = (j + 1) & (cap - 1);
		ks->slot[j] = (int64_t)i;
	}
	return 0;
}

/* Parses @copy in place; copy[len] must be writable. */
static int parse_in_place(aiss_sacct *s, char *copy, size_t len,
			  aiss_error *err)
{
	char *f[MAX_FIELDS];
	int col[COL__COUNT];
	size_t ncol = 0, lines = 1;
	int64_t line = 0;
	int have_header = 0;
	keyset ks = {NULL, 0};

	copy[len] = 0;
	for (const char *q = copy;
	     (q = memchr(q, '\n', len - (size_t)(q - copy))); q++)
		lines++;
	if (reserve(s, &ks, lines) < 0)
		goto nomem;

	char *p = copy, *end = copy + len;
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *next = nl ? nl + 1 : end;
		if (nl)
			*nl = 0;
		else
			*end = 0;
		line++;
		size_t ll = (size_t)((nl ? nl : end) - p);
		if (ll && p[ll - 1] == '\r')
			p[--ll] = 0;
		if (!ll) {
			p = next;
			continue;
		}
		size_t nf = split_fields(p, f, MAX_FIELDS);
		if (!have_header) {
			if (nf > MAX_FIELDS) {
				aiss_error_set(err, AISS_E_INVALID,
					       "sacct: header on line %" PRId64
					       " has more than %d columns",
					       line, MAX_FIELDS);
				goto error;
			}
			for (int c = 0; c < COL__COUNT; c++) {
				col[c] = -1;
				for (size_t i = 0; i < nf; i++)
					if (!strcasecmp(f[i], col_names[c]))
						col[c] = (int)i;
			}
			if (col[COL_JOBIDRAW] < 0 && col[COL_JOBID] < 0) {
				aiss_error_set(
				    err, AISS_E_INVALID,
				    "sacct: the header (line %" PRId64
				    ") has no JobIDRaw column; run "
				    "sacct --parsable2 --duplicates "
				    "--format=Cluster,JobIDRaw,"
				    "Account,User,Start,End,State,"
				    "AllocTRES",
				    line);
				goto error;
			}
			for (int c = COL_ACCOUNT; c < COL__COUNT; c++) {
				if (col[c] >= 0)
					continue;
				aiss_error_set(
				    err, AISS_E_INVALID,
				    "sacct: the header (line %" PRId64
				    ") has no %s column; run sacct "
				    "--parsable2 --duplicates "
				    "--format=Cluster,JobIDRaw,"
				    "Account,User,Start,End,State,"
				    "AllocTRES",
				    line, col_names[c]);
				goto error;
			}
			ncol = nf;
			have_header = 1;
			p = next;
			continue;
		}
		s->st.rows++;
		if (nf != ncol) {
			if (bad_row(s, line,
				    "has %zu fields, the header has %zu", nf,
				    ncol) < 0)
				goto nomem;
		} else if (parse_row(s, f, nf, col, line, &ks) < 0) {
			goto nomem;
		}
		p = next;
	}
	if (!have_header) {
		aiss_error_set(err, AISS_E_INVALID,
			       "sacct: no header line (use sacct --parsable2 "
			       "without --noheader)");
		goto error;
	}
	free(ks.slot);
	return 0;
nomem:
	aiss_error_set(err, AISS_E_INTERNAL, "sacct: out of memory");
error:
	free(ks.slot);
	return -1;
}

int aiss_sacct_parse(aiss_sacct *s, const char *buf, size_t len,
		     aiss_error *err)
{
	char *copy = malloc(len + 1);
	if (!copy)
		return aiss_error_set(err, AISS_E_INTERNAL,
				      "sacct: out of memory");
	memcpy(copy, buf, len);
	int rc = parse_in_place(s, copy, len, err);
	free(copy);
	return rc;
}

int aiss_sacct_parse_file(aiss_sacct *s, const char *path, aiss_error *err)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (fd < 0)
		return aiss_error_set(err, AISS_E_INVALID, "cannot open %s: %s",
				      path, strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		cap = (size_t)sb.st_size + 1;
	for (;;) {
		if (!buf || len + 1 >= cap) {
			size_t nc = !cap ? 1 << 16 : (buf ? cap * 2 : cap + 1);
			char *nb = realloc(buf, nc);
			if (!nb) {
				aiss_error_set(err, AISS_E_INTERNAL,
					       "out of memory reading %s",
					       path);
				goto error;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			aiss_error_set(err, AISS_E_INVALID,
				       "cannot read %s: %s", path,
				       strerror(errno));
			goto error;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (fd)
		close(fd);
	/* the loop above always leaves room for a NUL after the data */
	int rc = parse_in_place(s, buf, len, err);
	free(buf);
	return rc;
error:
	if (fd)
		close(fd);
	free(buf);
	return -1;
}

aiss_usage_run *aiss_sacct_runs(aiss_sacct *s, size_t *n)
{
	*n = s->n_runs;
	return s->runs;
}

const aiss_usage_bad *aiss_sacct_bad(const aiss_sacct *s, size_t *n)
{
	*n = s->n_bad;
	return s->bad;
}

const aiss_sacct_stats *aiss_sacct_stats_get(const aiss_sacct *s)
{
	return &s->st;
}

static int cmp_import(const void *a, const void *b)
{
	const aiss_usage_run *x = a, *y = b;
	int c;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	if ((c = strcmp(x->cluster, y->cluster)))
		return c;
	if (x->job_id != y->job_id)
		return x->job_id < y->job_id ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

void aiss_usage_sort_for_import(aiss_usage_run *runs, size_t n)
{
	if (n > 1)
		qsort(runs, n, sizeof(*runs), cmp_import);
}
