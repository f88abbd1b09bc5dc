/* SPDX-License-Identifier: GPL-2.0-or-later */
/* html.c: the report as one self-contained HTML page with inline SVG charts
 * (doubles appear only as chart coordinates, never as amounts). */
#include "aiss_report.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define MAX_GRANT_ROWS 200
#define TOP_GRANTS 10

static const char *const type_colour[AISS_INST__COUNT] = {
    "#9e9e9e", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
};

static void html_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static void money_cell(FILE *out, aiss_cents_t c)
{
	char m[AISS_MONEY_BUFSZ];
	fprintf(out, "<td class=\"n\" data-cents=\"%" PRId64 "\">%s</td>", c,
		aiss_money_format(c, true, m, sizeof(m)));
}

static void summary_row(FILE *out, const char *id, const char *en,
			const char *zh, aiss_cents_t c)
{
	fprintf(out,
		"<tr id=\"%s\"><th>%s <span lang=\"zh-Hant\">%s</span>"
		"</th>",
		id, en, zh);
	money_cell(out, c);
	fputs("</tr>\n", out);
}

static void totals_cells(FILE *out, const aiss_report_totals *t)
{
	char h[32];
	money_cell(out, t->expenditure);
	money_cell(out, t->copay);
	money_cell(out, t->list_cost);
	fprintf(out, "<td class=\"n\">%s</td><td class=\"n\">%" PRId64 "</td>",
		aiss_report_gpu_hours(t->gpu_seconds, h, sizeof(h)), t->runs);
}

static void totals_head(FILE *out, const char *en, const char *zh)
{
	fprintf(out,
		"<tr><th>%s<br><span lang=\"zh-Hant\">%s</span></th>"
		"<th>Expenditure<br>開支 (HK$)</th>"
		"<th>Co-payment<br>用戶共付額 (HK$)</th>"
		"<th>List cost<br>標價成本 (HK$)</th>"
		"<th>GPU-hours<br>GPU小時</th><th>Runs<br>次數</th></tr>\n",
		en, zh);
}

/* An axis label for @c on an axis up to @top: "HK$1,234m" (whole millions)
 * when the axis reaches HK$10m, "HK$12.5m" from HK$1m, else whole dollars
 * "HK$12,345". */
static void axis_label(aiss_cents_t c, aiss_cents_t top, char *buf, size_t len)
{
	char m[AISS_MONEY_BUFSZ];
	if (top >= 1000000000) {
		aiss_money_format(c / 100000000 * 100, true, m, sizeof(m));
		m[strcspn(m, ".")] = 0;
		snprintf(buf, len, "HK$%sm", m);
	} else if (top >= 100000000) {
		int64_t tenths = c / 10000000; /* HK$0.1m units */
		snprintf(buf, len, "HK$%" PRId64 ".%" PRId64 "m", tenths / 10,
			 tenths % 10);
	} else {
		aiss_money_format(c / 100 * 100, true, m, sizeof(m));
		m[strcspn(m, ".")] = 0;
		snprintf(buf, len, "HK$%s", m);
	}
}

/* ---- chart 1: the commitment burning down over the scheme's life ---- */

static double burn_x(aiss_time_t t, aiss_time_t t0, aiss_time_t t1)
{
	if (t1 <= t0)
		return 70;
	return 70.0 + (double)(t - t0) / (double)(t1 - t0) * 900.0;
}

static double burn_y(aiss_cents_t v, aiss_cents_t top)
{
	if (top <= 0)
		return 300;
	if (v < 0)
		v = 0;
	return 20.0 + (1.0 - (double)v / (double)top) * 280.0;
}

static void chart_burndown(const aiss_report *r, FILE *out)
{
	const aiss_report_summary *s = &r->sum;
	const aiss_report_forecast *f = &r->fc;
	aiss_cents_t top = s->commitment > 0 ? s->commitment : 1;
	int lo = r->hist_lo, hi = r->hist_lo + (int)r->n_hist;
	aiss_time_t t0 = aiss_quarter_start(lo / 4, lo % 4 + 1);
	aiss_time_t t1 = aiss_quarter_start(hi / 4, hi % 4 + 1);
	char lab[64];

	fputs("<svg id=\"burndown\" xmlns=\"http://www.w3.org/2000/svg\" "
	      "width=\"1000\" height=\"360\" viewBox=\"0 0 1000 360\" "
	      "role=\"img\"><title>Commitment burn-down 承擔額消耗</title>\n"
	      "<rect x=\"0\" y=\"0\" width=\"1000\" height=\"360\" "
	      "fill=\"#ffffff\"/>\n",
	      out);
	for (int i = 0; i <= 4; i++) {
		aiss_cents_t v = top / 4 * i;
		double y = burn_y(v, top);
		axis_label(v, top, lab, sizeof(lab));
		fprintf(out,
			"<line x1=\"70\" x2=\"970\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#dddddd\"/><text x=\"66\" y=\"%.1f\" "
			"text-anchor=\"end\" font-size=\"11\">%s</text>\n",
			y, y, y + 4, lab);
	}
	for (size_t i = 0; i < r->n_hist; i++) {
		const aiss_report_history *h = &r->hist[i];
		double x =
		    burn_x(aiss_quarter_start(h->fy, h->quarter), t0, t1);
		char fyl[16];
		aiss_fy_format(h->fy, fyl, sizeof(fyl));
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"20\" y2=\"300\" "
			"stroke=\"#eeeeee\"/><text x=\"%.1f\" y=\"316\" "
			"font-size=\"10\">%s Q%d</text>\n",
			x, x, x + 4, fyl, h->quarter);
	}
	/* Actual: from the scheme's start through each quarter so far. */
	aiss_cents_t start_rem =
	    r->n_hist ? r->hist[0].remaining_after + r->hist[0].expenditure
		      : s->commitment;
	double lx = burn_x(t0, t0, t1), ly = burn_y(start_rem, top);
	fprintf(out,
		"<polyline id=\"actual\" fill=\"none\" stroke=\"#c62828\" "
		"stroke-width=\"3\" points=\"%.1f,%.1f",
		lx, ly);
	for (size_t i = 0; i < r->n_hist; i++) {
		const aiss_report_history *h = &r->hist[i];
		if (!h->actual)
			break;
		aiss_time_t qe = aiss_quarter_start(h->fy, h->quarter + 1);
		if (qe > f->as_of)
			qe = f->as_of;
		lx = burn_x(qe, t0, t1);
		ly = burn_y(h->remaining_after, top);
		fprintf(out, " %.1f,%.1f", lx, ly);
	}
	fputs("\"/>\n", out);
	/* Forecasts: dashed from the last actual point to the scheme's end. */
	double ex = burn_x(f->scheme_end, t0, t1);
	fprintf(out,
		"<line id=\"forecast-grants\" x1=\"%.1f\" y1=\"%.1f\" "
		"x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1565c0\" stroke-width=\"2\" "
		"stroke-dasharray=\"6 4\"/>\n",
		lx, ly, ex, burn_y(s->commitment - f->grant_projection, top));
	fprintf(
	    out,
	    "<line id=\"forecast-burn\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	    "y2=\"%.1f\" stroke=\"#6a1b9a\" stroke-width=\"2\" "
	    "stroke-dasharray=\"2 4\"/>\n",
	    lx, ly, ex, burn_y(s->commitment - f->burn_projection, top));
	fputs("<rect x=\"70\" y=\"340\" width=\"12\" height=\"4\" "
	      "fill=\"#c62828\"/><text x=\"86\" y=\"346\" font-size=\"11\">"
	      "Remaining commitment 剩餘承擔額</text>\n"
	      "<rect x=\"330\" y=\"340\" width=\"12\" height=\"4\" "
	      "fill=\"#1565c0\"/><text x=\"346\" y=\"346\" font-size=\"11\">"
	      "Forecast from grants 按資助項目預測</text>\n"
	      "<rect x=\"600\" y=\"340\" width=\"12\" height=\"4\" "
	      "fill=\"#6a1b9a\"/><text x=\"616\" y=\"346\" font-size=\"11\">"
	      "Forecast at trailing rate 按近期速率預測</text>\n</svg>\n",
	      out);
}

/* ---- chart 2: spend per quarter stacked by institution type ---- */

static void chart_quarters(const aiss_report *r, FILE *out)
{
	aiss_cents_t max = 1;
	char lab[64];
	for (int q = 0; q < 4; q++) {
		aiss_cents_t sum = 0;
		for (int t = 0; t < AISS_INST__COUNT; t++)
			if (r->q_type[q][t] > 0)
				sum += r->q_type[q][t];
		if (sum > max)
			max = sum;
	}
	fputs(
	    "<svg id=\"quarters\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"1000\" height=\"320\" viewBox=\"0 0 1000 320\" "
	    "role=\"img\"><title>Spend per quarter by institution type "
	    "按季及機構類別開支</title>\n<rect x=\"0\" y=\"0\" width=\"1000\" "
	    "height=\"320\" fill=\"#ffffff\"/>\n",
	    out);
	for (int i = 0; i <= 4; i++) {
		aiss_cents_t v = max / 4 * i;
		double y = 280.0 - (double)v / (double)max * 250.0;
		axis_label(v, max, lab, sizeof(lab));
		fprintf(out,
			"<line x1=\"80\" x2=\"700\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#dddddd\"/><text x=\"76\" y=\"%.1f\" "
			"text-anchor=\"end\" font-size=\"11\">%s</text>\n",
			y, y, y + 4, lab);
	}
	for (int q = 0; q < 4; q++) {
		double x = 110.0 + q * 150.0, y = 280.0;
		for (int t = 0; t < AISS_INST__COUNT; t++) {
			aiss_cents_t v = r->q_type[q][t];
			if (v <= 0)
				continue;
			double h = (double)v / (double)max * 250.0;
			y -= h;
			fprintf(out,
				"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" "
				"width=\"90\" height=\"%.1f\" fill=\"%s\">"
				"<title>Q%d %s %s: %" PRId64 " cents</title>"
				"</rect>\n",
				x, y, h, type_colour[t], q + 1,
				report_type_en((aiss_inst_type)t),
				report_type_zh((aiss_inst_type)t), v);
		}
		fprintf(out,
			"<text x=\"%.1f\" y=\"298\" font-size=\"12\" "
			"text-anchor=\"middle\">Q%d</text>\n",
			x + 45, q + 1);
	}
	for (int t = 1; t <= AISS_INST__COUNT; t++) {
		int ti = t % AISS_INST__COUNT;
		double y = 40.0 + (t - 1) * 20.0;
		fprintf(out,
			"<rect x=\"730\" y=\"%.1f\" width=\"14\" height=\"14\" "
			"fill=\"%s\"/><text x=\"750\" y=\"%.1f\" "
			"font-size=\"12\">%s %s</text>\n",
			y, type_colour[ti], y + 11,
			report_type_en((aiss_inst_type)ti),
			report_type_zh((aiss_inst_type)ti));
	}
	fputs("</svg>\n", out);
}

/* ---- chart 3: the largest grants ---- */

static void chart_grants(const aiss_report *r, FILE *out)
{
	size_t n = r->n_grants < TOP_GRANTS ? r->n_grants : TOP_GRANTS;
	aiss_cents_t max = 1;
	char m[AISS_MONEY_BUFSZ];
	for (size_t g = 0; g < n; g++)
		if (r->grants[g].period.expenditure > max)
			max = r->grants[g].period.expenditure;
	int h = 30 + (int)n * 26;
	fprintf(out,
		"<svg id=\"grants\" xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"1000\" height=\"%d\" viewBox=\"0 0 1000 %d\" "
		"role=\"img\"><title>Largest grants 最大資助項目</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"1000\" height=\"%d\" "
		"fill=\"#ffffff\"/>\n",
		h, h, h);
	for (size_t g = 0; g < n; g++) {
		const aiss_report_grant *rg = &r->grants[g];
		double y = 15.0 + (double)g * 26.0;
		aiss_cents_t v =
		    rg->period.expenditure > 0 ? rg->period.expenditure : 0;
		double w = (double)v / (double)max * 400.0;
		fputs("<text x=\"10\" y=\"", out);
		fprintf(out, "%.1f\" font-size=\"12\">", y + 14);
		html_text(out, rg->id);
		fprintf(out,
			"</text><rect class=\"bar\" x=\"230\" y=\"%.1f\" "
			"width=\"%.1f\" height=\"18\" fill=\"%s\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">HK$%s ",
			y, w, type_colour[rg->inst_type % AISS_INST__COUNT],
			236.0 + w, y + 14,
			aiss_money_format(v, true, m, sizeof(m)));
		html_text(out, rg->institution);
		fputs("</text>\n", out);
	}
	fputs("</svg>\n", out);
}

int aiss_report_write_html(const aiss_report *r, FILE *out)
{
	const aiss_report_summary *s = &r->sum;
	const aiss_report_forecast *f = &r->fc;
	char fy[16], b4[32], en[160], zh[64];
	static const char *const qzh[4] = {"第一季", "第二季", "第三季",
					   "第四季"};

	aiss_fy_format(s->fy, fy, sizeof(fy));
	snprintf(b4, sizeof(b4), "31.3.%d", s->fy);
	if (s->quarter)
		snprintf(en, sizeof(en), "%s Q%d", fy, s->quarter);
	else
		snprintf(en, sizeof(en), "%s", fy);
	fputs(
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>",
	    out);
	fprintf(out, "AI Subsidy Scheme report %s 人工智能資助計劃報告", en);
	fputs("</title><style>body{font-family:sans-serif;margin:24px;"
	      "color:#222;background:#fff}table{border-collapse:collapse;"
	      "margin:8px 0 20px}th,td{border:1px solid #bbb;padding:4px 8px}"
	      "th{background:#f0f0f0;text-align:left}td.n{text-align:right;"
	      "font-variant-numeric:tabular-nums}.warn{background:#fff3cd;"
	      "border:1px solid #e0a800;padding:8px}</style></head><body>\n",
	      out);
	fputs("<h1>AI Subsidy Scheme, fiscal year ", out);
	fprintf(out,
		"%s<br><span lang=\"zh-Hant\">人工智能資助計劃 %s 年度報告"
		"%s</span></h1>\n",
		en, fy, s->quarter ? qzh[s->quarter - 1] : "");
	if (r->scheme_name[0]) {
		fputs("<p>", out);
		html_text(out, r->scheme_name);
		fputs("</p>\n", out);
	}
	fputs("<h2>Summary 摘要</h2><table id=\"summary\">\n", out);
	summary_row(out, "commitment", "Approved commitment", "核准承擔額",
		    s->commitment);
	summary_row(out, "earmarked", "Earmarked", "預留款項", s->earmarked);
	summary_row(out, "approved", "Approved to grants", "已批資助",
		    s->approved_total);
	snprintf(en, sizeof(en), "Cumulative expenditure to %s", b4);
	summary_row(out, "cumulative", en, "累積開支", s->cumulative_before);
	snprintf(en, sizeof(en), "Expenditure in %s%s", fy,
		 s->quarter ? " (to the quarter's end)" : "");
	summary_row(out, "fy-expenditure", en, "年度開支", s->fy_expenditure);
	summary_row(out, "balance", "Balance", "結餘", s->balance);
	summary_row(out, "copay", "Co-payments (beside expenditure)",
		    "用戶共付額", s->period.copay);
	summary_row(out, "list-cost", "List cost", "標價成本",
		    s->period.list_cost);
	summary_row(out, "adjustments", "Adjustments (net credits)", "調整",
		    s->period.adjustments);
	{
		char h[32];
		fprintf(
		    out,
		    "<tr id=\"gpu-hours\"><th>GPU-hours <span "
		    "lang=\"zh-Hant\">GPU小時</span></th><td "
		    "class=\"n\">%s</td></tr>\n",
		    aiss_report_gpu_hours(s->period.gpu_seconds, h, sizeof(h)));
	}
	fputs("</table>\n", out);

	/* The Estimates' layout: HK$'000 */
	{
		char k[4][AISS_MONEY_BUFSZ];
		fprintf(
		    out,
		    "<h2>As in the Estimates <span lang=\"zh-Hant\">"
		    "按預算格式</span> (HK$'000)</h2><table "
		    "id=\"estimates\"><tr><th>Approved commitment<br>"
		    "核准承擔額</th><th>Cumulative expenditure to %s<br>"
		    "累積開支</th><th>%s<br>年度開支</th><th>Balance<br>結餘"
		    "</th></tr>\n<tr><td class=\"n\">%s</td><td "
		    "class=\"n\">%s</td><td class=\"n\">%s</td><td "
		    "class=\"n\">%s</td></tr></table>\n",
		    b4, fy,
		    aiss_report_thousands(s->commitment, k[0], sizeof(k[0])),
		    aiss_report_thousands(s->cumulative_before, k[1],
					  sizeof(k[1])),
		    aiss_report_thousands(s->fy_expenditure, k[2],
					  sizeof(k[2])),
		    aiss_report_thousands(s->balance, k[3], sizeof(k[3])));
	}

	fputs("<h2>Commitment burn-down over the scheme's three years "
	      "<span lang=\"zh-Hant\">承擔額消耗（三年）</span></h2>\n",
	      out);
	chart_burndown(r, out);
	fputs("<h2>Spend per quarter by institution type <span "
	      "lang=\"zh-Hant\">按季及機構類別開支</span></h2>\n",
	      out);
	chart_quarters(r, out);
	fputs("<h2>Largest grants <span lang=\"zh-Hant\">最大資助項目</span>"
	      "</h2>\n",
	      out);
	chart_grants(r, out);

	fputs(
	    "<h2>Expenditure by quarter <span lang=\"zh-Hant\">按季開支</span>"
	    "</h2><table id=\"by-quarter\">\n",
	    out);
	totals_head(out, "Quarter", "季度");
	for (int q = 1; q <= 4; q++) {
		if (s->quarter && q != s->quarter)
			continue;
		fprintf(out, "<tr><th>Q%d %s</th>", q, qzh[q - 1]);
		totals_cells(out, &r->quarters[q - 1]);
		fputs("</tr>\n", out);
	}
	fputs("<tr><th>Total 合計</th>", out);
	totals_cells(out, &s->period);
	fputs("</tr></table>\n", out);

	fputs("<h2>By institution type <span lang=\"zh-Hant\">按機構類別</span>"
	      "</h2><table id=\"by-type\">\n",
	      out);
	totals_head(out, "Institution type", "機構類別");
	for (int t = 1; t <= AISS_INST__COUNT; t++) {
		int ti = t % AISS_INST__COUNT;
		fprintf(out, "<tr><th>%s %s</th>",
			report_type_en((aiss_inst_type)ti),
			report_type_zh((aiss_inst_type)ti));
		totals_cells(out, &r->types[ti]);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);

	fputs("<h2>By grant <span lang=\"zh-Hant\">按資助項目</span></h2>"
	      "<table id=\"by-grant\">\n",
	      out);
	fputs("<tr><th>Grant<br>資助項目</th><th>Institution<br>機構</th>"
	      "<th>Approved<br>核准資助 (HK$)</th>"
	      "<th>Remaining<br>餘額 (HK$)</th>"
	      "<th>Expenditure<br>開支 (HK$)</th>"
	      "<th>Co-payment<br>用戶共付額 (HK$)</th>"
	      "<th>List cost<br>標價成本 (HK$)</th>"
	      "<th>GPU-hours<br>GPU小時</th><th>Runs<br>次數</th></tr>\n",
	      out);
	for (size_t g = 0; g < r->n_grants && g < MAX_GRANT_ROWS; g++) {
		const aiss_report_grant *rg = &r->grants[g];
		fputs("<tr><th>", out);
		html_text(out, rg->id);
		fputs("</th><td>", out);
		html_text(out, rg->institution);
		fputs("</td>", out);
		money_cell(out, rg->approved_subsidy);
		money_cell(out, rg->remaining);
		totals_cells(out, &rg->period);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
	if (r->n_grants > MAX_GRANT_ROWS)
		fprintf(out,
			"<p>… and %zu more grants (see the CSV export).</p>\n",
			r->n_grants - MAX_GRANT_ROWS);

	fputs("<h2>Forecast to the scheme's end <span lang=\"zh-Hant\">預測"
	      "</span></h2><table id=\"forecast\">\n",
	      out);
	aiss_time_format_short(f->as_of, zh, sizeof(zh));
	fprintf(out,
		"<tr><th>As of 截至</th><td class=\"n\">%s HKT</td></tr>\n",
		zh);
	summary_row(out, "spent-to-date", "Spent to date", "累積開支",
		    f->spent_to_date);
	summary_row(out, "trailing", "Trailing spend", "近期開支",
		    f->trailing_spend);
	summary_row(out, "burn-projection", "Projected at the trailing rate",
		    "按近期速率預測", f->burn_projection);
	summary_row(out, "grant-projection", "Projected from approved grants",
		    "按資助項目預測", f->grant_projection);
	summary_row(out, "available", "Commitment less earmarks", "可用承擔額",
		    f->available);
	fputs("</table>\n", out);
	if (f->warning[0]) {
		fputs("<p class=\"warn\" id=\"warning\">Warning 警告: ", out);
		html_text(out, f->warning);
		fputs("</p>\n", out);
	}
	fputs("</body></html>\n", out);
	if (fflush(out) != 0 || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
