/* SPDX-License-Identifier: GPL-2.0-or-later */
/* money.c: exact HK$ cents: parsing, formatting, 128-bit rounded mul-div. */
#include "aiss_money.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int aiss_muldiv_round(int64_t a, int64_t b, int64_t c, int64_t *out)
{
	unsigned __int128 num, q;

	if (a < 0 || b < 0 || c <= 0) {
		errno = EINVAL;
		return -1;
	}
	num = (unsigned __int128)a * (unsigned __int128)b;
	/* round half up: floor((2*num + c) / (2*c)) */
	q = (num * 2 + (unsigned __int128)c) / ((unsigned __int128)c * 2);
	if (q > (unsigned __int128)INT64_MAX) {
		errno = ERANGE;
		return -1;
	}
	*out = (int64_t)q;
	return 0;
}

int aiss_money_parse(const char *s, aiss_cents_t *out)
{
	int neg = 0, digits = 0, group = -1, decimals = 0;
	int64_t whole = 0, frac = 0;
	const char *p = s;

	if (!s || !out)
		goto invalid;
	while (*p == ' ')
		p++;
	if (*p == '-' || *p == '+')
		neg = (*p++ == '-');
	if (strncmp(p, "HK$", 3) == 0)
		p += 3;
	else if (*p == '$')
		p++;
	if (!neg && (*p == '-' || *p == '+'))
		neg = (*p++ == '-');
	for (; *p && *p != '.'; p++) {
		if (*p == ',') {
			/* a comma must follow 1-3 digits, then groups of 3 */
			if (digits == 0 || (group >= 0 && group != 3) ||
			    (group < 0 && digits > 3))
				goto invalid;
			group = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			goto invalid;
		if (whole > (AISS_CENTS_LIMIT / 100))
			goto range;
		whole = whole * 10 + (*p - '0');
		digits++;
		if (group >= 0)
			group++;
	}
	if (group >= 0 && group != 3)
		goto invalid;
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++decimals > 2)
				goto invalid;
			frac = frac * 10 + (*p - '0');
		}
		if (decimals == 0 && digits == 0)
			goto invalid;
	}
	while (*p == ' ')
		p++;
	if (*p || (digits == 0 && decimals == 0))
		goto invalid;
	if (decimals == 1)
		frac *= 10;
	if (whole > AISS_CENTS_LIMIT / 100)
		goto range;
	whole = whole * 100 + frac;
	if (whole > AISS_CENTS_LIMIT)
		goto range;
	*out = neg ? -whole : whole;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
range:
	errno = ERANGE;
	return -1;
}

char *aiss_money_format(aiss_cents_t c, bool grouped, char *buf, size_t len)
{
	/* Digits from the right, without stdio (journal details format
	 * several amounts per request): "-1,234,567.89". */
	char tmp[AISS_MONEY_BUFSZ + 8];
	uint64_t mag = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
	uint64_t whole = mag / 100;
	unsigned frac = (unsigned)(mag % 100);
	size_t o = sizeof(tmp), n;
	int group = 0;

	if (!buf || len == 0)
		return buf;
	tmp[--o] = (char)('0' + frac % 10);
	tmp[--o] = (char)('0' + frac / 10);
	tmp[--o] = '.';
	do {
		if (grouped && group == 3) {
			tmp[--o] = ',';
			group = 0;
		}
		tmp[--o] = (char)('0' + whole % 10);
		whole /= 10;
		group++;
	} while (whole);
	if (c < 0)
		tmp[--o] = '-';
	n = sizeof(tmp) - o;
	if (n > len - 1)
		n = len - 1; /* truncated, as snprintf would */
	memcpy(buf, tmp + o, n);
	buf[n] = '\0';
	return buf;
}
