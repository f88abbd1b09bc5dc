/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slurm_logic.c: GPU-count derivation, array sizes, TRES parsing, messages. */
#include "aiss_slurm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_LIMIT 1000000 /* AISS_GPUS_LIMIT */

static int all_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int parse_count(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (!all_digits(s, n) || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	if (v > COUNT_LIMIT)
		return -1;
	*out = v;
	return 0;
}

static int set_type(char *type, const char *t, size_t n, aiss_error *err)
{
	if (n == 0)
		return 0;
	if (n >= AISS_ID_MAX)
		return aiss_error_set(err, AISS_E_INVALID,
				      "GPU type name too long");
	if (type[0] && (strlen(type) != n || strncmp(type, t, n) != 0))
		return aiss_error_set(err, AISS_E_INVALID,
				      "one GPU type per job: asked for both "
				      "%s and %.*s",
				      type, (int)n, t);
	memcpy(type, t, n);
	type[n] = '\0';
	return 0;
}

/* One entry: [gres:|gres/]gpu[:type][:count] or [gres/]gpu[:type]=count,
 * optionally followed by "(...)" flags. Non-GPU entries are ignored. */
static int parse_entry(const char *e, size_t n, int64_t *count, char *type,
		       aiss_error *err)
{
	const char *paren = memchr(e, '(', n);
	const char *p, *end, *c1, *eq;
	int64_t v = 1;

	if (paren)
		n = (size_t)(paren - e);
	while (n && isspace((unsigned char)*e))
		e++, n--;
	while (n && isspace((unsigned char)e[n - 1]))
		n--;
	if (n >= 5 && (!strncmp(e, "gres:", 5) || !strncmp(e, "gres/", 5)))
		e += 5, n -= 5;
	if (n < 3 || strncmp(e, "gpu", 3) != 0 ||
	    (n > 3 && e[3] != ':' && e[3] != '='))
		return 0; /* not a GPU request */
	p = e + 3;
	end = e + n;
	if (p == end)
		goto done;
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq) { /* gpu=N or gpu:type=N */
		if (parse_count(eq + 1, (size_t)(end - eq - 1), &v) < 0)
			goto bad;
		if (*p == ':' &&
		    set_type(type, p + 1, (size_t)(eq - p - 1), err) < 0)
			return -1;
		goto done;
	}
	p++; /* skip ':' */
	c1 = memchr(p, ':', (size_t)(end - p));
	if (c1) { /* type:count */
		if (parse_count(c1 + 1, (size_t)(end - c1 - 1), &v) < 0)
			goto bad;
		if (set_type(type, p, (size_t)(c1 - p), err) < 0)
			return -1;
	} else if (all_digits(p, (size_t)(end - p))) {
		if (parse_count(p, (size_t)(end - p), &v) < 0)
			goto bad;
	} else if (set_type(type, p, (size_t)(end - p), err) < 0) {
		return -1;
	}
done:
	*count += v;
	return 0;
bad:
	return aiss_error_set(err, AISS_E_INVALID,
			      "cannot read GPU count in "
			      "'%.*s'",
			      (int)n, e);
}

int aiss_tres_gpus(const char *list, int64_t *count, char *type,
		   aiss_error *err)
{
	if (!list)
		return 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",;");

		if (n && parse_entry(p, n, count, type, err) < 0)
			return -1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

int aiss_gpu_request_worst(const aiss_gpu_request *r, aiss_gpu_need *out,
			   aiss_error *err)
{
	int64_t job = 0, node = 0, sock = 0, task = 0;
	int64_t nodes, tasks, sockets, best;

	memset(out, 0, sizeof(*out));
	if (aiss_tres_gpus(r->tres_per_job, &job, out->gpu_type, err) < 0 ||
	    aiss_tres_gpus(r->tres_per_node, &node, out->gpu_type, err) < 0 ||
	    aiss_tres_gpus(r->tres_per_socket, &sock, out->gpu_type, err) < 0 ||
	    aiss_tres_gpus(r->tres_per_task, &task, out->gpu_type, err) < 0)
		return -1;
	nodes = r->max_nodes > r->min_nodes ? r->max_nodes : r->min_nodes;
	if (nodes <= 0)
		nodes = 1;
	if (r->num_tasks)
		tasks = r->num_tasks;
	else if (r->ntasks_per_node)
		tasks = (int64_t)r->ntasks_per_node * nodes;
	else
		tasks = nodes;
	sockets = r->sockets_per_node ? r->sockets_per_node
				      : AISS_DEFAULT_SOCKETS_PER_NODE;
	best = job;
	if (node * nodes > best)
		best = node * nodes;
	if (task * tasks > best)
		best = task * tasks;
	if (sock * sockets * nodes > best)
		best = sock * sockets * nodes;
	if (best > COUNT_LIMIT)
		return aiss_error_set(err, AISS_E_INVALID,
				      "GPU request too large (%" PRId64 ")",
				      best);
	out->gpus = best;
	out->nodes = nodes;
	return 0;
}

static int read_num(const char **p, int64_t *v)
{
	char *end;
	long long x;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	x = strtoll(*p, &end, 10);
	if (errno || x < 0 || x > 100000000)
		return -1;
	*v = x;
	*p = end;
	return 0;
}

int64_t aiss_array_count(const char *spec)
{
	int64_t total = 0;
	const char *p = spec;

	if (!spec || !*spec)
		return 1;
	for (;;) {
		int64_t a, b, step = 1;

		if (read_num(&p, &a) < 0)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (read_num(&p, &b) < 0 || b < a)
				goto bad;
			if (*p == ':') {
				p++;
				if (read_num(&p, &step) < 0 || step == 0)
					goto bad;
			}
		}
		total += (b - a) / step + 1;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '%') {
			int64_t t;

			p++;
			if (read_num(&p, &t) < 0)
				goto bad;
		}
		if (*p)
			goto bad;
		return total;
	}
bad:
	errno = EINVAL;
	return -1;
}

int64_t aiss_tres_alloc_gpus(const char *tres_fmt, char *type, size_t len)
{
	int64_t plain = -1, typed = 0, best = -1;

	if (len)
		type[0] = '\0';
	if (!tres_fmt)
		return 0;
	for (const char *p = tres_fmt; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);

		if (eq && n > 8 && !strncmp(p, "gres/gpu", 8)) {
			int64_t v = strtoll(eq + 1, NULL, 10);

			if (p[8] == '=') {
				plain = v;
			} else if (p[8] == ':') {
				size_t tl = (size_t)(eq - p - 9);

				typed += v;
				if (v > best && tl < len) {
					best = v;
					memcpy(type, p + 9, tl);
					type[tl] = '\0';
				}
			}
		}
		p += n;
		if (*p)
			p++;
	}
	return plain >= 0 ? plain : typed;
}

char *aiss_fmt_duration(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%" PRId64 "-%02d:%02d:%02d", s / 86400,
			 (int)(s % 86400 / 3600), (int)(s % 3600 / 60),
			 (int)(s % 60));
	else
		snprintf(buf, len, "%02d:%02d:%02d", (int)(s / 3600),
			 (int)(s % 3600 / 60), (int)(s % 60));
	return buf;
}

static const char *money(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, true, buf, AISS_MONEY_BUFSZ);
}

static size_t shape_text(const aiss_job_shape *s, const char *type, char *buf,
			 size_t len)
{
	char t[32];

	return (size_t)snprintf(buf, len, "%" PRId64 " %s GPU%s x %s", s->gpus,
				type && *type ? type : "",
				s->gpus == 1 ? "" : "s",
				aiss_fmt_duration(s->time_limit, t, sizeof(t)));
}

char *aiss_msg_refusal(const aiss_quote *q, const aiss_job_shape *s, char *buf,
		       size_t len)
{
	char avail[AISS_MONEY_BUFSZ], need[AISS_MONEY_BUFSZ], t[32];
	char shape[128];
	const char *grant = q->grant_id[0] ? q->grant_id : "(no grant)";
	int64_t count = s->count > 1 ? s->count : 1;
	size_t n;

	shape_text(s, q->gpu_type[0] ? q->gpu_type : s->gpu_type, shape,
		   sizeof(shape));
	if (q->verdict != AISS_E_INSUFFICIENT) {
		/* The service's sentence names the grant and the fix. */
		snprintf(buf, len, "aiss: %s",
			 q->reason[0] ? q->reason
				      : aiss_status_name(q->verdict));
		return buf;
	}
	n = (size_t)snprintf(
	    buf, len,
	    "aiss: grant %s has HK$%s of subsidy left; this job's worst "
	    "case (%s%s, %d%% subsidy) needs HK$%s",
	    grant, money(q->available, avail), shape,
	    count > 1 ? " per element" : "", q->rate_bp / 100,
	    money(count > 1 ? q->worst_subsidy_total : q->worst.subsidy, need));
	if (n < len && count > 1)
		n += (size_t)snprintf(
		    buf + n, len - n,
		    " for %" PRId64 " array elements; %" PRId64
		    " element%s fit%s",
		    count, q->fit_count, q->fit_count == 1 ? "" : "s",
		    q->fit_count == 1 ? "s" : "");
	if (n < len && (q->fit_time_limit > 0 || q->fit_gpus > 0)) {
		n += (size_t)snprintf(buf + n, len - n, ". Would fit:");
		if (n < len && q->fit_time_limit > 0)
			n += (size_t)snprintf(
			    buf + n, len - n, " --time=%s at %" PRId64 " GPU%s",
			    aiss_fmt_duration(q->fit_time_limit, t, sizeof(t)),
			    s->gpus, s->gpus == 1 ? "" : "s");
		if (n < len && q->fit_time_limit > 0 && q->fit_gpus > 0)
			n += (size_t)snprintf(buf + n, len - n, ", or");
		if (n < len && q->fit_gpus > 0)
			n += (size_t)snprintf(
			    buf + n, len - n, " %" PRId64 " GPU%s at --time=%s",
			    q->fit_gpus, q->fit_gpus == 1 ? "" : "s",
			    aiss_fmt_duration(s->time_limit, t, sizeof(t)));
	} else if (n < len) {
		n += (size_t)snprintf(buf + n, len - n, ". Nothing fits now");
	}
	if (n < len)
		snprintf(buf + n, len - n,
			 ". Ask the scheme administrators "
			 "for a top-up of %s.",
			 grant);
	return buf;
}

char *aiss_msg_no_account(char *buf, size_t len)
{
	snprintf(buf, len,
		 "aiss: GPU jobs must name the Slurm account of "
		 "their AI Subsidy Scheme grant: add --account=<account> "
		 "(aissctl balance lists your grants)");
	return buf;
}

char *aiss_msg_no_time(const char *partition, char *buf, size_t len)
{
	snprintf(buf, len,
		 "aiss: partition %s has no time limit, so this "
		 "job's cost cannot be bounded: add --time=<limit>",
		 partition && *partition ? partition : "(default)");
	return buf;
}

char *aiss_msg_unavailable(const aiss_error *e, char *buf, size_t len)
{
	snprintf(buf, len,
		 "aiss: quota service unavailable, retry in a "
		 "minute (%s)",
		 e && e->text[0] ? e->text : "no answer");
	return buf;
}

char *aiss_msg_hold(const aiss_error *err, const aiss_quote *q,
		    const aiss_job_shape *s, char *buf, size_t len)
{
	char avail[AISS_MONEY_BUFSZ], need[AISS_MONEY_BUFSZ], shape[128];

	if (err && err->code == AISS_E_UNAVAILABLE) {
		snprintf(buf, len,
			 "aiss: quota service unavailable; the job "
			 "starts when it answers");
		return buf;
	}
	if (q && q->grant_id[0] && (!err || err->code == AISS_E_INSUFFICIENT)) {
		shape_text(s, q->gpu_type, shape, sizeof(shape));
		snprintf(buf, len, "aiss: %s has HK$%s left; needs HK$%s (%s)",
			 q->grant_id, money(q->available, avail),
			 money(q->worst.subsidy, need), shape);
		return buf;
	}
	snprintf(buf, len, "aiss: %s",
		 err && err->text[0] ? err->text : "lien refused");
	return buf;
}

void aiss_lat_add(aiss_lat *l, uint32_t usec)
{
	l->samples[l->total % AISS_LAT_MAX] = usec;
	l->total++;
	if (l->n < AISS_LAT_MAX)
		l->n++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t aiss_lat_pct(const aiss_lat *l, int permille)
{
	uint32_t *tmp;
	uint32_t v;
	size_t idx;

	if (!l->n)
		return 0;
	tmp = malloc(l->n * sizeof(*tmp));
	if (!tmp)
		return 0;
	memcpy(tmp, l->samples, l->n * sizeof(*tmp));
	qsort(tmp, l->n, sizeof(*tmp), cmp_u32);
	/* nearest rank: ceil(p * n) - 1 */
	idx = ((size_t)permille * l->n + 999) / 1000;
	idx = idx ? idx - 1 : 0;
	if (idx >= l->n)
		idx = l->n - 1;
	v = tmp[idx];
	free(tmp);
	return v;
}

void aiss_lat_reset(aiss_lat *l)
{
	l->n = 0;
	l->total = 0;
}
