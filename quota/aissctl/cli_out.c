/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli_out.c: aissctl's output: aligned text tables and a small JSON writer
 * with stable keys (amounts as integer cents plus formatted strings). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
	int ncols;
	char **cells; /* rows * ncols, row 0 = headings */
	size_t nrows, cap;
	bool right[16];
};

ctl_table *ctl_table_new(int ncols, const char *const *heads, const bool *right)
{
	ctl_table *t;

	if (ncols <= 0 || ncols > 16)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	for (int i = 0; i < ncols; i++)
		t->right[i] = right ? right[i] : false;
	if (ctl_table_row(t, heads) < 0) {
		ctl_table_free(t);
		return NULL;
	}
	return t;
}

int ctl_table_row(ctl_table *t, const char *const *cells)
{
	if (!t)
		return -1;
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->cells, ncap * t->ncols * sizeof(*n));

		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		t->cells = n;
		t->cap = ncap;
	}
	for (int i = 0; i < t->ncols; i++) {
		const char *c = cells[i] ? cells[i] : "-";

		t->cells[t->nrows * t->ncols + i] = strdup(c);
	}
	t->nrows++;
	return 0;
}

void ctl_table_print(ctl_table *t, FILE *f)
{
	size_t w[16] = {0};

	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];
			size_t l = c ? strlen(c) : 1;

			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];
			bool last = i == t->ncols - 1;

			if (!c)
				c = "?";
			if (i)
				fputs("  ", f);
			if (t->right[i])
				fprintf(f, "%*s", (int)w[i], c);
			else if (last)
				fputs(c, f);
			else
				fprintf(f, "%-*s", (int)w[i], c);
		}
		fputc('\n', f);
	}
	ctl_table_free(t);
}

void ctl_table_free(ctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* ---- JSON ---- */

void ctl_json_init(ctl_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
	     p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Emits the separator and key for the next value at the current depth. */
static void json_key(ctl_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		json_escape(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(ctl_json *j, const char *key, char c)
{
	json_key(j, key);
	fputc(c, j->f);
	if (j->depth < 31)
		j->depth++;
	j->first[j->depth] = true;
}

void ctl_json_obj(ctl_json *j, const char *key)
{
	json_open(j, key, '{');
}

void ctl_json_obj_end(ctl_json *j)
{
	fputc('}', j->f);
	if (j->depth > 0)
		j->depth--;
}

void ctl_json_arr(ctl_json *j, const char *key)
{
	json_open(j, key, '[');
}

void ctl_json_arr_end(ctl_json *j)
{
	fputc(']', j->f);
	if (j->depth > 0)
		j->depth--;
}

void ctl_json_str(ctl_json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_escape(j->f, val);
}

void ctl_json_int(ctl_json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void ctl_json_bool(ctl_json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void ctl_json_money(ctl_json *j, const char *key, aiss_cents_t c)
{
	char k[96], buf[AISS_MONEY_BUFSZ];

	snprintf(k, sizeof(k), "%s_cents", key);
	ctl_json_int(j, k, c);
	ctl_json_str(j, key, aiss_money_format(c, true, buf, sizeof(buf)));
}

void ctl_json_time(ctl_json *j, const char *key, aiss_time_t t)
{
	char k[96], buf[AISS_TIME_BUFSZ];

	ctl_json_int(j, key, t);
	snprintf(k, sizeof(k), "%s_hkt", key);
	ctl_json_str(j, k, aiss_time_format_hkt(t, buf, sizeof(buf)));
}

void ctl_json_done(ctl_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

char *ctl_money(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, true, buf, AISS_MONEY_BUFSZ);
}

char *ctl_when(aiss_time_t t, char *buf)
{
	if (t == 0) {
		strcpy(buf, "-");
		return buf;
	}
	return aiss_time_format_short(t, buf, AISS_TIME_BUFSZ);
}

char *ctl_rate(int64_t bp, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 ".%02" PRId64 "%%", bp / 100, bp % 100);
	return buf;
}

void ctl_list_begin(ctl_list *ls, bool json, int ncols,
		    const char *const *heads, const bool *right)
{
	memset(ls, 0, sizeof(*ls));
	if (json) {
		ctl_json_init(&ls->j, stdout);
		ctl_json_arr(&ls->j, NULL);
	} else {
		ls->t = ctl_table_new(ncols, heads, right);
	}
}

void ctl_list_end(ctl_list *ls, const char *empty)
{
	if (ls->j.f) {
		ctl_json_arr_end(&ls->j);
		ctl_json_done(&ls->j);
	} else if (ls->n == 0 && empty) {
		ctl_table_free(ls->t);
		printf("%s\n", empty);
	} else {
		ctl_table_print(ls->t, stdout);
	}
	ls->t = NULL;
}

void ctl_list_abort(ctl_list *ls)
{
	ctl_table_free(ls->t);
	ls->t = NULL;
	if (ls->j.f)
		fputc('\n', stdout);
}
