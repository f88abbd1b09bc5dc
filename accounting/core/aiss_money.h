/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_money: HK$ as integer cents, exact parsing, formatting and rounding. */
#ifndef AISS_MONEY_H
#define AISS_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HK$ amounts are always integer cents (policy item 1). */
typedef int64_t aiss_cents_t;

/* Largest amount we accept from outside: HK$ 10^15 (well beyond any scheme). */
#define AISS_CENTS_LIMIT ((aiss_cents_t)100000000000000000LL)

/* Room for any formatted amount, sign and separators included. */
#define AISS_MONEY_BUFSZ 40

/*
 * round_half_up(a * b / c) computed exactly in 128 bits.
 * Requires a >= 0, b >= 0, c > 0. Returns 0 and sets *out; -1 with errno
 * EINVAL (bad arguments) or ERANGE (result exceeds int64).
 */
int aiss_muldiv_round(int64_t a, int64_t b, int64_t c, int64_t *out);

/*
 * Parses a HK$ amount: optional sign, optional "HK$" or "$", digits with
 * optional thousands commas (groups of three), optional '.' with one or two
 * decimals. "1,234.56" -> 123456; "-12.5" -> -1250; "7" -> 700.
 * Returns 0, or -1 with errno EINVAL (malformed; more than two decimals) or
 * ERANGE (|amount| > AISS_CENTS_LIMIT).
 */
int aiss_money_parse(const char *s, aiss_cents_t *out);

/*
 * Formats @c as "1,234.56" (grouped) or "1234.56" (plain), '-' for
 * negatives. Writes at most @len bytes including NUL (use AISS_MONEY_BUFSZ);
 * returns @buf.
 */
char *aiss_money_format(aiss_cents_t c, bool grouped, char *buf, size_t len);

#endif
