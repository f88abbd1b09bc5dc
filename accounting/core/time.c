/* SPDX-License-Identifier: GPL-2.0-or-later */
/* time.c: UTC instants, Hong Kong time, fiscal years and quarters. */
#include "aiss_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t aiss_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void aiss_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, unsigned m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Reads exactly @n digits at *p. */
static int read_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_epoch(const char *s, aiss_time_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int aiss_time_parse_zone(const char *s, int default_offset, aiss_time_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, off = default_offset;
	const char *p = s;
	size_t n;

	if (!s || !out)
		goto invalid;
	while (*p == ' ')
		p++;
	if (*p == '@')
		return parse_epoch(p + 1, out) ? (errno = EINVAL, -1) : 0;
	n = strlen(p);
	if (n >= 9 && strspn(p, "0123456789") == n)
		return parse_epoch(p, out) ? (errno = EINVAL, -1) : 0;
	if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) ||
	    *p++ != '-' || read_digits(&p, 2, &d))
		goto invalid;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
		goto invalid;
	if (*p == 'T' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
		p++;
		if (read_digits(&p, 2, &h) || *p++ != ':' ||
		    read_digits(&p, 2, &mi))
			goto invalid;
		if (*p == ':') {
			p++;
			if (read_digits(&p, 2, &sec))
				goto invalid;
		}
		if (h > 23 || mi > 59 || sec > 59)
			goto invalid;
	}
	while (*p == ' ')
		p++;
	if (*p == 'Z' && p[1] == '\0') {
		off = 0;
	} else if (strcasecmp(p, "UTC") == 0) {
		off = 0;
	} else if (strcasecmp(p, "HKT") == 0) {
		off = AISS_HKT_OFFSET;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om = 0;

		p++;
		if (read_digits(&p, 2, &oh))
			goto invalid;
		if (*p == ':')
			p++;
		if (*p && read_digits(&p, 2, &om))
			goto invalid;
		if (*p || oh > 14 || om > 59)
			goto invalid;
		off = sign * (oh * 3600 + om * 60);
	} else if (*p) {
		goto invalid;
	}
	*out = aiss_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	       h * 3600 + mi * 60 + sec - off;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

int aiss_time_parse(const char *s, aiss_time_t *out)
{
	return aiss_time_parse_zone(s, AISS_HKT_OFFSET, out);
}

/* Splits @t shifted to Hong Kong time into civil fields. */
static void hkt_fields(aiss_time_t t, int64_t *y, unsigned *mo, unsigned *d,
		       int *h, int *mi, int *s)
{
	int64_t local = t + AISS_HKT_OFFSET;
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t rem = local - days * 86400;

	aiss_civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem % 3600 / 60);
	*s = (int)(rem % 60);
}

char *aiss_time_format_hkt(aiss_time_t t, char *buf, size_t len)
{
	int64_t y;
	unsigned mo, d;
	int h, mi, s;

	hkt_fields(t, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d+08:00",
		 (long long)y, mo, d, h, mi, s);
	return buf;
}

char *aiss_time_format_short(aiss_time_t t, char *buf, size_t len)
{
	int64_t y;
	unsigned mo, d;
	int h, mi, s;

	hkt_fields(t, &y, &mo, &d, &h, &mi, &s);
	snprintf(buf, len, "%04lld-%02u-%02u %02d:%02d", (long long)y, mo, d,
		 h, mi);
	return buf;
}

int aiss_fy_parse(const char *s, int *fy)
{
	int y, y2;
	const char *p = s;

	if (!s || !fy || read_digits(&p, 4, &y))
		goto invalid;
	if (*p == '\0') {
		*fy = y;
		return 0;
	}
	if (*p++ != '-')
		goto invalid;
	if (strlen(p) == 2) {
		if (read_digits(&p, 2, &y2) || y2 != (y + 1) % 100)
			goto invalid;
	} else if (strlen(p) == 4) {
		if (read_digits(&p, 4, &y2) || y2 != y + 1)
			goto invalid;
	} else {
		goto invalid;
	}
	*fy = y;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

char *aiss_fy_format(int fy, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d", fy, (fy + 1) % 100);
	return buf;
}

aiss_time_t aiss_quarter_start(int fy, int q)
{
	/* Q1 Apr, Q2 Jul, Q3 Oct (of fy), Q4 Jan (of fy + 1), 5 = next Apr */
	int64_t y = fy + (q >= 4 ? 1 : 0);
	unsigned m = q == 4 ? 1 : (q == 5 ? 4 : (unsigned)(4 + 3 * (q - 1)));

	return aiss_days_from_civil(y, m, 1) * 86400 - AISS_HKT_OFFSET;
}

aiss_time_t aiss_fy_start(int fy)
{
	return aiss_quarter_start(fy, 1);
}

void aiss_quarter_of(aiss_time_t t, int *fy, int *q)
{
	int64_t y;
	unsigned mo, d;
	int h, mi, s;

	hkt_fields(t, &y, &mo, &d, &h, &mi, &s);
	if (mo >= 4) {
		*fy = (int)y;
		*q = (int)((mo - 4) / 3 + 1);
	} else {
		*fy = (int)y - 1;
		*q = 4;
	}
}
