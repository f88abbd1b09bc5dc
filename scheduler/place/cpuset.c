/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_cpuset: a fixed-size CPU bitmap with range-list text form. */
#include "aiss_place.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aiss_cpuset_zero(aiss_cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

int aiss_cpuset_set(aiss_cpuset *s, int cpu)
{
	if (cpu < 0 || cpu >= AISS_MAX_CPUS) {
		errno = EINVAL;
		return -1;
	}
	s->w[cpu / 64] |= 1ULL << (cpu % 64);
	return 0;
}

int aiss_cpuset_isset(const aiss_cpuset *s, int cpu)
{
	if (cpu < 0 || cpu >= AISS_MAX_CPUS)
		return 0;
	return (s->w[cpu / 64] >> (cpu % 64)) & 1;
}

int aiss_cpuset_count(const aiss_cpuset *s)
{
	int n = 0;

	for (size_t i = 0; i < AISS_MAX_CPUS / 64; i++)
		n += __builtin_popcountll(s->w[i]);
	return n;
}

void aiss_cpuset_or(aiss_cpuset *dst, const aiss_cpuset *src)
{
	for (size_t i = 0; i < AISS_MAX_CPUS / 64; i++)
		dst->w[i] |= src->w[i];
}

int aiss_cpuset_first(const aiss_cpuset *s)
{
	for (size_t i = 0; i < AISS_MAX_CPUS / 64; i++)
		if (s->w[i])
			return (int)(i * 64) + __builtin_ctzll(s->w[i]);
	return -1;
}

int aiss_cpuset_format(const aiss_cpuset *s, char *buf, size_t len)
{
	size_t used = 0;
	int cpu = 0;

	if (!s || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	if (len)
		buf[0] = '\0';
	while (cpu < AISS_MAX_CPUS) {
		int first, last, n;

		if (!aiss_cpuset_isset(s, cpu)) {
			cpu++;
			continue;
		}
		first = cpu;
		while (cpu + 1 < AISS_MAX_CPUS && aiss_cpuset_isset(s, cpu + 1))
			cpu++;
		last = cpu++;
		if (first == last)
			n = snprintf(used < len ? buf + used : NULL,
				     used < len ? len - used : 0, "%s%d",
				     used ? "," : "", first);
		else
			n = snprintf(used < len ? buf + used : NULL,
				     used < len ? len - used : 0, "%s%d-%d",
				     used ? "," : "", first, last);
		used += (size_t)n;
	}
	return (int)used;
}

int aiss_cpuset_parse(aiss_cpuset *s, const char *text)
{
	const char *p = text;

	if (!s || !text) {
		errno = EINVAL;
		return -1;
	}
	aiss_cpuset_zero(s);
	while (*p) {
		char *end;
		long a, b;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || errno || a < 0 || a >= AISS_MAX_CPUS)
			goto error;
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			b = strtol(p, &end, 10);
			if (end == p || errno || b < a || b >= AISS_MAX_CPUS)
				goto error;
			p = end;
		}
		for (long c = a; c <= b; c++)
			aiss_cpuset_set(s, (int)c);
		if (*p == ',')
			p++;
		else if (*p)
			goto error;
	}
	return 0;
error:
	aiss_cpuset_zero(s);
	errno = EINVAL;
	return -1;
}
