/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli_parse.c: aissctl's argument parsing: Slurm time limits, rates,
 * GPU-hours, instants and the per-command long options. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads 1..18 decimal digits at *p into *v; advances *p. 0 or -1. */
static int read_digits(const char **p, int64_t *v)
{
	const char *s = *p;
	int64_t n = 0;
	int k = 0;

	while (*s >= '0' && *s <= '9') {
		if (k >= 18)
			return -1;
		n = n * 10 + (*s - '0');
		s++;
		k++;
	}
	if (k == 0)
		return -1;
	*p = s;
	*v = n;
	return 0;
}

int ctl_parse_count(const char *s, int64_t *out)
{
	const char *p = s;
	int64_t v;

	if (!s || read_digits(&p, &v) < 0 || *p) {
		errno = (s && strlen(s) > 18) ? ERANGE : EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

int ctl_parse_duration(const char *s, int64_t *out)
{
	int64_t f[4] = {0, 0, 0, 0}, days = 0, secs;
	int nf = 0;
	bool has_days = false;
	const char *p = s;

	if (!s || !*s)
		goto bad;
	if (strchr(s, '-')) {
		if (read_digits(&p, &days) < 0 || *p != '-')
			goto bad;
		p++;
		has_days = true;
	}
	for (;;) {
		if (nf >= 3 || read_digits(&p, &f[nf]) < 0)
			goto bad;
		nf++;
		if (*p == '\0')
			break;
		if (*p != ':')
			goto bad;
		p++;
	}
	if (days > 100000 || f[0] > 100000000)
		goto range;
	if (has_days) {
		/* D-HH, D-HH:MM, D-HH:MM:SS */
		if ((nf >= 2 && f[1] > 59) || (nf == 3 && f[2] > 59))
			goto bad;
		secs = days * 86400 + f[0] * 3600 + f[1] * 60 + f[2];
	} else if (nf == 1) {
		secs = f[0] * 60; /* MINUTES */
	} else if (nf == 2) {
		if (f[1] > 59)
			goto bad;
		secs = f[0] * 60 + f[1]; /* MINUTES:SECONDS */
	} else {
		if (f[1] > 59 || f[2] > 59)
			goto bad;
		secs = f[0] * 3600 + f[1] * 60 + f[2]; /* H:MM:SS */
	}
	if (secs <= 0)
		goto bad;
	if (secs > AISS_DURATION_LIMIT)
		goto range;
	*out = secs;
	return 0;
bad:
	errno = EINVAL;
	return -1;
range:
	errno = ERANGE;
	return -1;
}

char *ctl_format_duration(int64_t secs, char *buf, size_t len)
{
	int64_t d, h, m, s;

	if (secs < 0)
		secs = 0;
	d = secs / 86400;
	h = secs / 3600 % 24;
	m = secs / 60 % 60;
	s = secs % 60;
	if (d)
		snprintf(buf, len,
			 "%" PRId64 "-%02" PRId64 ":%02" PRId64 ":%02" PRId64,
			 d, h, m, s);
	else
		snprintf(buf, len, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, h,
			 m, s);
	return buf;
}

/* Parses "INT[.FRAC]" with at most @maxdec decimals as a fixed-point value
 * scaled by 10^maxdec; commas allowed between digit groups of three. */
static int parse_fixed(const char *s, int maxdec, int64_t *out)
{
	int64_t ip = 0, fp = 0, scale = 1;
	int nd = 0, ndig = 0, group = -1;
	const char *p = s;

	for (int i = 0; i < maxdec; i++)
		scale *= 10;
	if (!s || !*s)
		return -1;
	for (; *p && *p != '.'; p++) {
		if (*p == ',') {
			if (ndig == 0 || (group >= 0 && group != 3) ||
			    (group < 0 && ndig > 3))
				return -1;
			group = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		if (ndig >= 15)
			return -1;
		ip = ip * 10 + (*p - '0');
		ndig++;
		if (group >= 0)
			group++;
	}
	if (ndig == 0 || (group >= 0 && group != 3))
		return -1;
	if (*p == '.') {
		p++;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || nd >= maxdec)
				return -1;
			fp = fp * 10 + (*p - '0');
			nd++;
		}
		if (nd == 0)
			return -1;
	}
	for (int i = nd; i < maxdec; i++)
		fp *= 10;
	*out = ip * scale + fp;
	return 0;
}

int ctl_parse_rate_percent(const char *s, int64_t *bp)
{
	char tmp[32];
	size_t n;
	int64_t v;

	if (!s || (n = strlen(s)) == 0 || n >= sizeof(tmp))
		goto bad;
	memcpy(tmp, s, n + 1);
	if (tmp[n - 1] == '%')
		tmp[--n] = '\0';
	if (n == 0 || strchr(tmp, ',') || parse_fixed(tmp, 2, &v) < 0)
		goto bad;
	*bp = v; /* percent with two decimals == basis points */
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int ctl_parse_gpu_hours(const char *s, int64_t *gpu_seconds)
{
	int64_t v; /* GPU-hours * 10^4 */

	if (parse_fixed(s, 4, &v) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (v > INT64_MAX / 3600) {
		errno = ERANGE;
		return -1;
	}
	/* 3600 s / 10^4 = 0.36 s per unit: round half up to whole seconds. */
	*gpu_seconds = (v * 36 + 50) / 100;
	return 0;
}

char *ctl_format_gpu_hours(int64_t gpu_seconds, char *buf, size_t len)
{
	/* hundredths of a GPU-hour, rounded half up */
	int64_t neg = gpu_seconds < 0, v = neg ? -gpu_seconds : gpu_seconds;
	int64_t h100 = (v * 100 + 1800) / 3600;
	char tmp[AISS_MONEY_BUFSZ];

	aiss_money_format(neg ? -h100 : h100, true, tmp, sizeof(tmp));
	snprintf(buf, len, "%s", tmp);
	return buf;
}

int ctl_parse_when(const char *s, aiss_time_t *out)
{
	if (s && strcmp(s, "now") == 0) {
		*out = (aiss_time_t)time(NULL);
		return 0;
	}
	if (!s)
		goto bad;
	return aiss_time_parse(s, out);
bad:
	errno = EINVAL;
	return -1;
}

int ctl_copy(char *dst, size_t len, const char *s)
{
	size_t n = strlen(s ? s : "");

	if (n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dst, s ? s : "", n + 1);
	return 0;
}

/* Finds @name (length @nlen) in @spec; returns 1 takes a value, 0 flag,
 * -1 unknown. */
static int spec_find(const char *const *spec, const char *name, size_t nlen)
{
	for (; spec && *spec; spec++) {
		size_t sl = strlen(*spec);
		bool arg = sl > 0 && (*spec)[sl - 1] == '=';

		if (arg)
			sl--;
		if (sl == nlen && strncmp(*spec, name, nlen) == 0)
			return arg ? 1 : 0;
	}
	return -1;
}

int ctl_opts_parse(ctl_opts *o, int argc, char **argv, const char *const *spec)
{
	bool only_pos = false;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && strncmp(a, "--", 2) == 0) {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
			int kind = spec_find(spec, name, nlen);
			const char *val;

			if (kind < 0) {
				snprintf(o->err, sizeof(o->err),
					 "unknown option '--%.*s'", (int)nlen,
					 name);
				return -1;
			}
			if (kind == 1) {
				if (eq) {
					val = eq + 1;
				} else if (i + 1 < argc) {
					val = argv[++i];
				} else {
					snprintf(
					    o->err, sizeof(o->err),
					    "option '--%.*s' needs a value",
					    (int)nlen, name);
					return -1;
				}
			} else {
				if (eq) {
					snprintf(
					    o->err, sizeof(o->err),
					    "option '--%.*s' takes no value",
					    (int)nlen, name);
					return -1;
				}
				val = "";
			}
			for (int k = 0; k < o->n; k++) {
				const char *sn = o->name[k];

				if (strncmp(sn, name, nlen) == 0 &&
				    (sn[nlen] == '\0' || sn[nlen] == '=')) {
					snprintf(o->err, sizeof(o->err),
						 "option '--%.*s' given twice",
						 (int)nlen, name);
					return -1;
				}
			}
			if (o->n >= CTL_OPTS_MAX) {
				snprintf(o->err, sizeof(o->err),
					 "too many options");
				return -1;
			}
			/* Store the name NUL-terminated: point into spec. */
			for (const char *const *sp = spec; *sp; sp++) {
				if (strncmp(*sp, name, nlen) == 0 &&
				    ((*sp)[nlen] == '\0' ||
				     ((*sp)[nlen] == '=' &&
				      (*sp)[nlen + 1] == '\0'))) {
					o->name[o->n] = *sp;
					break;
				}
			}
			o->val[o->n++] = val;
			continue;
		}
		if (o->npos >= CTL_POS_MAX) {
			snprintf(o->err, sizeof(o->err),
				 "too many arguments ('%s')", a);
			return -1;
		}
		o->pos[o->npos++] = a;
	}
	return 0;
}

const char *ctl_opt(const ctl_opts *o, const char *name)
{
	size_t nlen = strlen(name);

	for (int k = 0; k < o->n; k++) {
		const char *sn = o->name[k];

		if (strncmp(sn, name, nlen) == 0 &&
		    (sn[nlen] == '\0' || sn[nlen] == '='))
			return o->val[k];
	}
	return NULL;
}
