/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_time: UTC instants, Hong Kong time, the fiscal year and its quarters. */
#ifndef AISS_TIME_H
#define AISS_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Instants are UTC seconds since the epoch (policy item 2). */
typedef int64_t aiss_time_t;

/* Hong Kong time: UTC+8, no daylight saving. */
#define AISS_HKT_OFFSET (8 * 3600)

/* Room for any formatted instant. */
#define AISS_TIME_BUFSZ 40

/*
 * Parses an instant. Accepted: "@<epoch>" or a bare integer of 9+ digits
 * (UTC epoch seconds); "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]",
 * "YYYY-MM-DDTHH:MM[:SS]", each optionally followed by "Z", "UTC", "HKT" or
 * "+HH:MM"/"-HH:MM". With no zone the time is read in the zone
 * @default_offset (seconds east of UTC; AISS_HKT_OFFSET for Hong Kong).
 * Returns 0, or -1 with errno EINVAL.
 */
int aiss_time_parse_zone(const char *s, int default_offset, aiss_time_t *out);

/* aiss_time_parse_zone(s, AISS_HKT_OFFSET, out). */
int aiss_time_parse(const char *s, aiss_time_t *out);

/* Formats @t in Hong Kong time as "2025-04-01T08:00:00+08:00". Returns @buf. */
char *aiss_time_format_hkt(aiss_time_t t, char *buf, size_t len);

/* Formats @t as "2025-04-01 08:00" in Hong Kong time (for tables). */
char *aiss_time_format_short(aiss_time_t t, char *buf, size_t len);

/* Days-from-civil and back (proleptic Gregorian); exposed for tests. */
int64_t aiss_days_from_civil(int64_t y, unsigned m, unsigned d);
void aiss_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/*
 * Fiscal years are named by the calendar year they start in: fiscal year
 * 2025 is "2025-26" = [2025-04-01 00:00 HKT, 2026-04-01 00:00 HKT).
 * Quarters: Q1 Apr-Jun, Q2 Jul-Sep, Q3 Oct-Dec, Q4 Jan-Mar.
 */

/* Parses "2025-26" (the second part must be the next year, 2 or 4 digits)
 * or "2025". Returns 0, or -1 with errno EINVAL. */
int aiss_fy_parse(const char *s, int *fy);

/* Writes "2025-26" into buf (at least 8 bytes). Returns buf. */
char *aiss_fy_format(int fy, char *buf, size_t len);

/* First instant of fiscal year @fy: 1 April 00:00 HKT, as UTC seconds. */
aiss_time_t aiss_fy_start(int fy);

/* First instant of quarter @q (1..4) of fiscal year @fy. q == 5 gives the
 * start of the next fiscal year. */
aiss_time_t aiss_quarter_start(int fy, int q);

/* Fiscal year and quarter (1..4) containing instant @t. */
void aiss_quarter_of(aiss_time_t t, int *fy, int *q);

/* A global quarter index: fy * 4 + (q - 1); consecutive quarters differ by 1. */
static inline int aiss_quarter_index(int fy, int q)
{
	return fy * 4 + (q - 1);
}

#endif
