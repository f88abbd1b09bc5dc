/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render.c: the report as an aligned table, JSON and CSV. */
#include "aiss_report.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const type_zh[AISS_INST__COUNT] = {
    "未分類", "大學", "研發中心", "企業", "政府部門",
};
static const char *const type_en[AISS_INST__COUNT] = {
    "Unclassified", "University", "R&D centre", "Enterprise", "Government",
};
static const char *const quarter_zh[4] = {"第一季", "第二季", "第三季",
					  "第四季"};
static const char *const quarter_months[4] = {"Apr-Jun", "Jul-Sep", "Oct-Dec",
					      "Jan-Mar"};

const char *report_type_zh(aiss_inst_type t)
{
	return (int)t >= 0 && (int)t < AISS_INST__COUNT ? type_zh[t]
							: type_zh[0];
}

const char *report_type_en(aiss_inst_type t)
{
	return (int)t >= 0 && (int)t < AISS_INST__COUNT ? type_en[t]
							: type_en[0];
}

static int finish(FILE *out)
{
	if (fflush(out) != 0 || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

static const char *money(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, true, buf, AISS_MONEY_BUFSZ);
}

static const char *money_plain(aiss_cents_t c, char *buf)
{
	return aiss_money_format(c, false, buf, AISS_MONEY_BUFSZ);
}

/* Columns a UTF-8 string takes on a terminal: CJK and fullwidth forms
 * count two. */
static size_t display_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int n;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xE0) == 0xC0) {
			cp = *p & 0x1F;
			n = 2;
		} else if ((*p & 0xF0) == 0xE0) {
			cp = *p & 0x0F;
			n = 3;
		} else {
			cp = *p & 0x07;
			n = 4;
		}
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80) {
				n = i;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		p += n;
		w += (cp >= 0x1100 &&
		      (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xFFE6)))
			 ? 2
			 : 1;
	}
	return w;
}

/* @s left-aligned, padded with spaces to @width display columns. */
static void put_left(FILE *out, const char *s, size_t width)
{
	fputs(s, out);
	for (size_t w = display_width(s); w < width; w++)
		fputc(' ', out);
}

static void put_right(FILE *out, const char *s, size_t width)
{
	for (size_t w = display_width(s); w < width; w++)
		fputc(' ', out);
	fputs(s, out);
}

static void fy_label(int fy, char *buf, size_t len)
{
	aiss_fy_format(fy, buf, len);
}

/* "31.3.2025": the day before fiscal year @fy starts. */
static void before_label(int fy, char *buf, size_t len)
{
	snprintf(buf, len, "31.3.%d", fy);
}

static void quarter_label(int fy, int q, char *buf, size_t len)
{
	snprintf(buf, len, "Q%d %s %d", q, quarter_months[q - 1],
		 q == 4 ? fy + 1 : fy);
}

/* ---- table ---- */

static void table_line(FILE *out, const char *en, const char *zh,
		       aiss_cents_t c)
{
	char m[AISS_MONEY_BUFSZ];
	put_left(out, en, 44);
	put_left(out, zh, 12);
	put_right(out, money(c, m), 22);
	fputc('\n', out);
}

static void totals_header(FILE *out, const char *first_en, const char *first_zh,
			  size_t w)
{
	put_left(out, first_en, w);
	put_right(out, "Expenditure", 20);
	put_right(out, "Co-payment", 18);
	put_right(out, "List cost", 20);
	put_right(out, "GPU-hours", 14);
	put_right(out, "Runs", 9);
	fputc('\n', out);
	put_left(out, first_zh, w);
	put_right(out, "開支", 20);
	put_right(out, "用戶共付額", 18);
	put_right(out, "標價成本", 20);
	put_right(out, "GPU小時", 14);
	put_right(out, "次數", 9);
	fputc('\n', out);
}

static void totals_row(FILE *out, const char *label, size_t w,
		       const aiss_report_totals *t)
{
	char m[AISS_MONEY_BUFSZ], h[32], n[32];
	put_left(out, label, w);
	put_right(out, money(t->expenditure, m), 20);
	put_right(out, money(t->copay, m), 18);
	put_right(out, money(t->list_cost, m), 20);
	put_right(out, aiss_report_gpu_hours(t->gpu_seconds, h, sizeof(h)), 14);
	snprintf(n, sizeof(n), "%" PRId64, t->runs);
	put_right(out, n, 9);
	fputc('\n', out);
}

int aiss_report_write_table(const aiss_report *r, aiss_report_by by, FILE *out)
{
	const aiss_report_summary *s = &r->sum;
	const aiss_report_forecast *f = &r->fc;
	char fy[16], b4[16], line[160], m[AISS_MONEY_BUFSZ];

	fy_label(s->fy, fy, sizeof(fy));
	before_label(s->fy, b4, sizeof(b4));
	if (s->quarter)
		fprintf(out,
			"AI Subsidy Scheme report, fiscal year %s, Q%d "
			"(%s)\n人工智能資助計劃 %s 年度報告 %s\n\n",
			fy, s->quarter, quarter_months[s->quarter - 1], fy,
			quarter_zh[s->quarter - 1]);
	else
		fprintf(out,
			"AI Subsidy Scheme report, fiscal year %s\n"
			"人工智能資助計劃 %s 年度報告\n\n",
			fy, fy);
	table_line(out, "Approved commitment", "核准承擔額", s->commitment);
	table_line(out, "Earmarked", "預留款項", s->earmarked);
	table_line(out, "Approved to grants", "已批資助", s->approved_total);
	snprintf(line, sizeof(line), "Cumulative expenditure to %s", b4);
	table_line(out, line, "累積開支", s->cumulative_before);
	if (s->quarter)
		snprintf(line, sizeof(line), "Expenditure in %s to end of Q%d",
			 fy, s->quarter);
	else
		snprintf(line, sizeof(line), "Expenditure in %s", fy);
	table_line(out, line, "年度開支", s->fy_expenditure);
	table_line(out, "Balance", "結餘", s->balance);
	fputc('\n', out);
	table_line(out, "Co-payments (not expenditure)", "用戶共付額",
		   s->period.copay);
	table_line(out, "List cost", "標價成本", s->period.list_cost);
	table_line(out, "Adjustments (net credits)", "調整",
		   s->period.adjustments);
	put_left(out, "GPU-hours", 44);
	put_left(out, "GPU小時", 12);
	char h[32];
	put_right(out,
		  aiss_report_gpu_hours(s->period.gpu_seconds, h, sizeof(h)),
		  22);
	fputc('\n', out);
	fputc('\n', out);

	/* The line as the Estimates print it (Head 47, Subhead 700). */
	char k1[AISS_MONEY_BUFSZ], k2[AISS_MONEY_BUFSZ], k3[AISS_MONEY_BUFSZ],
	    k4[AISS_MONEY_BUFSZ];
	fprintf(out,
		"As in the Estimates (HK$'000): approved commitment %s; "
		"cumulative expenditure to %s %s; %s %s; balance %s\n\n",
		aiss_report_thousands(s->commitment, k1, sizeof(k1)), b4,
		aiss_report_thousands(s->cumulative_before, k2, sizeof(k2)), fy,
		aiss_report_thousands(s->fy_expenditure, k3, sizeof(k3)),
		aiss_report_thousands(s->balance, k4, sizeof(k4)));

	fputs("Expenditure by quarter 按季開支\n", out);
	totals_header(out, "Quarter", "季度", 22);
	for (int q = 1; q <= 4; q++) {
		if (s->quarter && q != s->quarter)
			continue;
		quarter_label(s->fy, q, line, sizeof(line));
		totals_row(out, line, 22, &r->quarters[q - 1]);
	}
	totals_row(out, s->quarter ? "Quarter total" : "Year total", 22,
		   &s->period);
	fputc('\n', out);

	if (by == AISS_REPORT_BY_INST_TYPE) {
		fputs("By institution type 按機構類別\n", out);
		totals_header(out, "Institution type", "機構類別", 22);
		for (int t = 1; t <= AISS_INST__COUNT; t++) {
			int ti = t % AISS_INST__COUNT; /* unknown last */
			const aiss_report_totals *tt = &r->types[ti];
			if (ti == 0 && !tt->runs && !tt->expenditure)
				continue;
			snprintf(line, sizeof(line), "%s %s", type_en[ti],
				 type_zh[ti]);
			totals_row(out, line, 22, tt);
		}
		fputc('\n', out);
	} else if (by == AISS_REPORT_BY_GRANT) {
		fputs("By grant 按資助項目\n", out);
		totals_header(out, "Grant", "資助項目", 22);
		for (size_t g = 0; g < r->n_grants; g++) {
			const aiss_report_grant *rg = &r->grants[g];
			totals_row(out, rg->id, 22, &rg->period);
			fputs("  ", out);
			put_left(out, rg->institution, 40);
			fprintf(out, " %s  approved %s",
				type_en[rg->inst_type % AISS_INST__COUNT],
				money(rg->approved_subsidy, m));
			fprintf(out, "  remaining %s\n",
				money(rg->remaining, m));
		}
		fputc('\n', out);
	}

	fputs("Forecast to the scheme's end 預測\n", out);
	aiss_time_format_short(f->as_of, line, sizeof(line));
	put_left(out, "As of", 44);
	fprintf(out, "%s HKT\n", line);
	table_line(out, "Spent to date", "累積開支", f->spent_to_date);
	snprintf(line, sizeof(line), "Trailing spend (%" PRId64 " days)",
		 f->trailing_s / 86400);
	table_line(out, line, "近期開支", f->trailing_spend);
	table_line(out, "Projected at trailing rate", "按近期速率",
		   f->burn_projection);
	table_line(out, "Projected from grants", "按資助項目",
		   f->grant_projection);
	if (f->warning[0])
		fprintf(out, "WARNING 警告: %s\n", f->warning);
	return finish(out);
}

/* ---- JSON ---- */

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_totals(FILE *out, const aiss_report_totals *t)
{
	fprintf(out,
		"\"expenditure_cents\":%" PRId64 ",\"subsidy_cents\":%" PRId64
		",\"adjustments_cents\":%" PRId64 ",\"copay_cents\":%" PRId64
		",\"list_cost_cents\":%" PRId64 ",\"gpu_seconds\":%" PRId64
		",\"runs\":%" PRId64 ",\"node_fail_runs\":%" PRId64,
		t->expenditure, t->subsidy, t->adjustments, t->copay,
		t->list_cost, t->gpu_seconds, t->runs, t->node_fail_runs);
}

int aiss_report_write_json(const aiss_report *r, FILE *out)
{
	const aiss_report_summary *s = &r->sum;
	const aiss_report_forecast *f = &r->fc;
	char fy[16], t1[AISS_TIME_BUFSZ], t2[AISS_TIME_BUFSZ];

	fy_label(s->fy, fy, sizeof(fy));
	fputs("{\"fy\":", out);
	json_str(out, fy);
	if (s->quarter)
		fprintf(out, ",\"quarter\":\"Q%d\"", s->quarter);
	else
		fputs(",\"quarter\":null", out);
	aiss_time_format_hkt(s->period_start, t1, sizeof(t1));
	aiss_time_format_hkt(s->period_end, t2, sizeof(t2));
	fprintf(out, ",\"period_start\":\"%s\",\"period_end\":\"%s\"", t1, t2);
	fprintf(out,
		",\"commitment_cents\":%" PRId64 ",\"earmarked_cents\":%" PRId64
		",\"approved_total_cents\":%" PRId64
		",\"cumulative_before_cents\":%" PRId64
		",\"fy_expenditure_cents\":%" PRId64
		",\"balance_cents\":%" PRId64
		",\"period_expenditure_cents\":%" PRId64
		",\"adjustments_cents\":%" PRId64 ",\"copay_cents\":%" PRId64
		",\"list_cost_cents\":%" PRId64 ",\"gpu_seconds\":%" PRId64
		",\"runs\":%" PRId64,
		s->commitment, s->earmarked, s->approved_total,
		s->cumulative_before, s->fy_expenditure, s->balance,
		s->period.expenditure, s->period.adjustments, s->period.copay,
		s->period.list_cost, s->period.gpu_seconds, s->period.runs);
	fputs(",\"quarters\":[", out);
	int first = 1;
	for (int q = 1; q <= 4; q++) {
		if (s->quarter && q != s->quarter)
			continue;
		fprintf(out, "%s{\"quarter\":\"Q%d\",", first ? "" : ",", q);
		json_totals(out, &r->quarters[q - 1]);
		fputs(",\"by_institution_type\":{", out);
		for (int t = 0; t < AISS_INST__COUNT; t++)
			fprintf(out, "%s\"%s\":%" PRId64, t ? "," : "",
				aiss_inst_type_name((aiss_inst_type)t),
				r->q_type[q - 1][t]);
		fputs("}}", out);
		first = 0;
	}
	fputs("],\"by_institution_type\":[", out);
	for (int t = 0; t < AISS_INST__COUNT; t++) {
		fprintf(out, "%s{\"type\":\"%s\",", t ? "," : "",
			aiss_inst_type_name((aiss_inst_type)t));
		json_totals(out, &r->types[t]);
		fputc('}', out);
	}
	fputs("],\"grants\":[", out);
	for (size_t g = 0; g < r->n_grants; g++) {
		const aiss_report_grant *rg = &r->grants[g];
		fputs(g ? ",{\"grant\":" : "{\"grant\":", out);
		json_str(out, rg->id);
		fputs(",\"institution\":", out);
		json_str(out, rg->institution);
		fprintf(
		    out,
		    ",\"institution_type\":\"%s\",\"approved_subsidy_cents\":"
		    "%" PRId64 ",\"spent_to_date_cents\":%" PRId64
		    ",\"remaining_cents\":%" PRId64
		    ",\"forecast_more_cents\":%" PRId64 ",",
		    aiss_inst_type_name(rg->inst_type), rg->approved_subsidy,
		    rg->spent_to_date, rg->remaining, rg->forecast_more);
		json_totals(out, &rg->period);
		fputc('}', out);
	}
	aiss_time_format_hkt(f->as_of, t1, sizeof(t1));
	aiss_time_format_hkt(f->scheme_end, t2, sizeof(t2));
	fprintf(out,
		"],\"forecast\":{\"as_of\":\"%s\",\"scheme_end\":\"%s\","
		"\"spent_to_date_cents\":%" PRId64 ",\"trailing_days\":%" PRId64
		",\"trailing_spend_cents\":%" PRId64
		",\"burn_projection_cents\":%" PRId64
		",\"grant_projection_cents\":%" PRId64
		",\"available_cents\":%" PRId64
		",\"exceeds\":%s,\"underspend\":%s,\"warning\":",
		t1, t2, f->spent_to_date, f->trailing_s / 86400,
		f->trailing_spend, f->burn_projection, f->grant_projection,
		f->available, f->exceeds ? "true" : "false",
		f->underspend ? "true" : "false");
	if (f->warning[0])
		json_str(out, f->warning);
	else
		fputs("null", out);
	fputs("},\"history\":[", out);
	for (size_t i = 0; i < r->n_hist; i++) {
		const aiss_report_history *h = &r->hist[i];
		fy_label(h->fy, fy, sizeof(fy));
		fprintf(out,
			"%s{\"fy\":\"%s\",\"quarter\":\"Q%d\","
			"\"expenditure_cents\":%" PRId64
			",\"remaining_cents\":%" PRId64 ",\"actual\":%s}",
			i ? "," : "", fy, h->quarter, h->expenditure,
			h->remaining_after, h->actual ? "true" : "false");
	}
	fputs("]}\n", out);
	return finish(out);
}

/* ---- CSV ---- */

void aiss_csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_amount_row(FILE *out, const char *section, const char *key,
			   const char *name, aiss_cents_t c)
{
	char m[AISS_MONEY_BUFSZ];
	aiss_csv_field(out, section);
	fputc(',', out);
	aiss_csv_field(out, key);
	fputc(',', out);
	aiss_csv_field(out, name);
	fprintf(out, ",%s,,,,\r\n", money_plain(c, m));
}

static void csv_totals_row(FILE *out, const char *section, const char *key,
			   const char *name, const aiss_report_totals *t)
{
	char m[AISS_MONEY_BUFSZ], h[32];
	aiss_csv_field(out, section);
	fputc(',', out);
	aiss_csv_field(out, key);
	fputc(',', out);
	aiss_csv_field(out, name);
	fprintf(out, ",%s", money_plain(t->expenditure, m));
	fprintf(out, ",%s", money_plain(t->list_cost, m));
	fprintf(out, ",%s", money_plain(t->copay, m));
	fprintf(out, ",%s,%" PRId64 "\r\n",
		aiss_report_gpu_hours(t->gpu_seconds, h, sizeof(h)), t->runs);
}

int aiss_report_write_csv(const aiss_report *r, aiss_report_by by, FILE *out)
{
	const aiss_report_summary *s = &r->sum;
	const aiss_report_forecast *f = &r->fc;
	char fy[16], b4[16], name[256], key[32];

	fy_label(s->fy, fy, sizeof(fy));
	before_label(s->fy, b4, sizeof(b4));
	fputs("\xEF\xBB\xBF", out); /* BOM: spreadsheets then read UTF-8 */
	fputs("section,key,name,expenditure_hkd,list_cost_hkd,copay_hkd,"
	      "gpu_hours,runs\r\n",
	      out);
	if (s->quarter)
		snprintf(key, sizeof(key), "%s Q%d", fy, s->quarter);
	else
		snprintf(key, sizeof(key), "%s", fy);
	csv_amount_row(out, "summary", "commitment",
		       "核准承擔額 Approved commitment", s->commitment);
	csv_amount_row(out, "summary", "earmarked", "預留款項 Earmarked",
		       s->earmarked);
	csv_amount_row(out, "summary", "approved_total",
		       "已批資助 Approved to grants", s->approved_total);
	snprintf(name, sizeof(name), "累積開支 Cumulative expenditure to %s",
		 b4);
	csv_amount_row(out, "summary", "cumulative_before", name,
		       s->cumulative_before);
	if (s->quarter)
		snprintf(name, sizeof(name),
			 "年度開支 Expenditure in %s to the end of Q%d", fy,
			 s->quarter);
	else
		snprintf(name, sizeof(name), "年度開支 Expenditure in %s", fy);
	csv_amount_row(out, "summary", "fy_expenditure", name,
		       s->fy_expenditure);
	csv_amount_row(out, "summary", "balance", "結餘 Balance", s->balance);
	csv_totals_row(out, "period", key, "期間合計 Period total", &s->period);
	for (int q = 1; q <= 4; q++) {
		if (s->quarter && q != s->quarter)
			continue;
		char ql[64];
		quarter_label(s->fy, q, ql, sizeof(ql));
		snprintf(name, sizeof(name), "%s %s", quarter_zh[q - 1], ql);
		snprintf(key, sizeof(key), "Q%d", q);
		csv_totals_row(out, "quarter", key, name, &r->quarters[q - 1]);
	}
	if (by == AISS_REPORT_BY_INST_TYPE) {
		for (int t = 0; t < AISS_INST__COUNT; t++) {
			snprintf(name, sizeof(name), "%s %s", type_zh[t],
				 type_en[t]);
			csv_totals_row(out, "institution_type",
				       aiss_inst_type_name((aiss_inst_type)t),
				       name, &r->types[t]);
		}
	} else if (by == AISS_REPORT_BY_GRANT) {
		for (size_t g = 0; g < r->n_grants; g++)
			csv_totals_row(out, "grant", r->grants[g].id,
				       r->grants[g].institution,
				       &r->grants[g].period);
	}
	csv_amount_row(out, "forecast", "spent_to_date",
		       "累積開支 Spent to date", f->spent_to_date);
	csv_amount_row(out, "forecast", "burn_projection",
		       "按近期速率預測 Projected at trailing rate",
		       f->burn_projection);
	csv_amount_row(out, "forecast", "grant_projection",
		       "按資助項目預測 Projected from grants",
		       f->grant_projection);
	return finish(out);
}
