/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_report_chromium.c: renders the HTML report in headless Chromium;
 * checks the screenshot is not blank and the DOM carries the numbers.
 * Exits 77 (skipped) when no Chromium is installed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "aiss_report.h"

#define SKIP 77
#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                         \
		fputc('\n', stderr);                                           \
		return 1;                                                      \
	} while (0)

static aiss_time_t hkt(const char *s)
{
	aiss_time_t t = 0;
	if (aiss_time_parse(s, &t) < 0)
		abort();
	return t;
}

/* Spend of HK$905,000,000.00 in 2024-25 and some in 2025-26, over three
 * institution types, so every chart has something to draw. */
static aiss_report *make_report(void)
{
	static aiss_scheme s;
	static aiss_grant g[3];
	static aiss_charge_rec c[6];
	static const char *const ids[3] = {"AISS-2024-0001", "AISS-2024-0002",
					   "AISS-2025-0003"};
	static const char *const inst[3] = {
	    "香港大學 HKU", "Startup, \"AI\" Ltd", "天文台 Observatory"};
	static const aiss_inst_type types[3] = {
	    AISS_INST_UNIVERSITY, AISS_INST_ENTERPRISE, AISS_INST_GOVERNMENT};
	s.commitment = 300000000000LL;
	s.start = hkt("2024-04-01");
	s.end = hkt("2027-04-01");
	for (int i = 0; i < 3; i++) {
		snprintf(g[i].id, sizeof(g[i].id), "%s", ids[i]);
		snprintf(g[i].institution, sizeof(g[i].institution), "%s",
			 inst[i]);
		g[i].inst_type = types[i];
		g[i].approved_subsidy = 80000000000LL;
		g[i].window_start = s.start;
		g[i].window_end = s.end;
	}
	const char *when[6][2] = {
	    {"2024-12-01", "2025-01-01"}, {"2025-01-01", "2025-03-31"},
	    {"2025-02-01", "2025-03-01"}, {"2025-04-10", "2025-05-10"},
	    {"2025-07-10", "2025-08-10"}, {"2025-10-10", "2025-11-10"}};
	const int64_t sub[6] = {30000000000LL, 40000000000LL, 20500000000LL,
				5000000000LL,  7000000000LL,  3000000000LL};
	for (int i = 0; i < 6; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		snprintf(c[i].grant_id, sizeof(c[i].grant_id), "%s",
			 ids[i % 3]);
		snprintf(c[i].key.cluster, sizeof(c[i].key.cluster), "aisc");
		c[i].key.job_id = (uint64_t)i + 1;
		c[i].gpus = 1000;
		c[i].start = c[i].key.run_start = hkt(when[i][0]);
		c[i].end = hkt(when[i][1]);
		c[i].charge.run_seconds = c[i].end - c[i].start;
		c[i].charge.gpu_seconds = c[i].gpus * c[i].charge.run_seconds;
		c[i].charge.subsidy = sub[i];
		c[i].charge.list_cost = sub[i] / 7 * 10;
		c[i].charge.copay = c[i].charge.list_cost - sub[i];
	}
	aiss_report_input in = {.scheme = &s,
				.grants = g,
				.n_grants = 3,
				.charges = c,
				.n_charges = 6};
	aiss_report_opts o = {.fy = 2024};
	aiss_error err;
	aiss_report *r = aiss_report_compute(&in, &o, &err);
	if (!r)
		fprintf(stderr, "report: %s\n", err.text);
	return r;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = 0;
		*len = (size_t)n;
	}
	return b;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
}

/* Decodes an 8-bit RGB/RGBA PNG and measures how much is not the
 * background (the top-left pixel's colour) and how many colours appear.
 * Returns 0, or -1 when the file is not such a PNG. */
static int png_measure(const unsigned char *d, size_t len, uint32_t *w,
		       uint32_t *h, double *ink, int *colours)
{
	if (len < 33 || memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return -1;
	*w = be32(d + 16);
	*h = be32(d + 20);
	int depth = d[24], ctype = d[25], interlace = d[28];
	int bpp = ctype == 6 ? 4 : ctype == 2 ? 3 : 0;
	if (depth != 8 || !bpp || interlace || *w == 0 || *h == 0 ||
	    *w > 20000 || *h > 20000)
		return -1;
	size_t stride = (size_t)*w * bpp, rawlen = (stride + 1) * *h;
	unsigned char *z = malloc(len), *raw = malloc(rawlen);
	size_t zl = 0;
	if (!z || !raw)
		return -1;
	for (size_t p = 8; p + 12 <= len;) {
		uint32_t n = be32(d + p);
		if (p + 12 + n > len)
			break;
		if (!memcmp(d + p + 4, "IDAT", 4)) {
			memcpy(z + zl, d + p + 8, n);
			zl += n;
		}
		p += 12 + n;
	}
	uLongf out = rawlen;
	int zr = uncompress(raw, &out, z, zl);
	free(z);
	if (zr != Z_OK || out != rawlen) {
		free(raw);
		return -1;
	}
	/* unfilter in place */
	for (uint32_t y = 0; y < *h; y++) {
		unsigned char *row = raw + y * (stride + 1);
		unsigned char *px = row + 1;
		unsigned char *up = y ? raw + (y - 1) * (stride + 1) + 1 : NULL;
		for (size_t i = 0; i < stride; i++) {
			int a = i >= (size_t)bpp ? px[i - bpp] : 0;
			int b = up ? up[i] : 0;
			int c = up && i >= (size_t)bpp ? up[i - bpp] : 0;
			switch (row[0]) {
			case 1:
				px[i] = (unsigned char)(px[i] + a);
				break;
			case 2:
				px[i] = (unsigned char)(px[i] + b);
				break;
			case 3:
				px[i] = (unsigned char)(px[i] + (a + b) / 2);
				break;
			case 4:
				px[i] = (unsigned char)(px[i] + paeth(a, b, c));
				break;
			default:
				break;
			}
		}
	}
	uint32_t seen[64];
	int ns = 0;
	uint64_t diff = 0;
	const unsigned char *bg = raw + 1;
	for (uint32_t y = 0; y < *h; y++) {
		const unsigned char *px = raw + y * (stride + 1) + 1;
		for (uint32_t x = 0; x < *w; x++, px += bpp) {
			if (memcmp(px, bg, 3) == 0)
				continue;
			diff++;
			uint32_t col =
			    (uint32_t)px[0] << 16 | px[1] << 8 | px[2];
			int k;
			for (k = 0; k < ns; k++)
				if (seen[k] == col)
					break;
			if (k == ns && ns < 64)
				seen[ns++] = col;
		}
	}
	free(raw);
	*ink = (double)diff / ((double)*w * *h);
	*colours = ns + 1;
	return 0;
}

static const char *find_chromium(void)
{
	static const char *const names[] = {"chromium", "chromium-browser",
					    "google-chrome"};
	static char path[512];
	const char *env = getenv("AISS_CHROMIUM");
	if (env && *env)
		return env;
	const char *p = getenv("PATH");
	if (!p)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const char *s = p;
		while (*s) {
			size_t n = strcspn(s, ":");
			snprintf(path, sizeof(path), "%.*s/%s", (int)n, s,
				 names[i]);
			if (access(path, X_OK) == 0)
				return path;
			s += n;
			if (*s == ':')
				s++;
		}
	}
	return NULL;
}

int main(void)
{
	const char *chromium = find_chromium();
	if (!chromium) {
		printf("SKIP: no chromium in PATH (set AISS_CHROMIUM)\n");
		return SKIP;
	}
	char dir[] = "/tmp/aiss-html-XXXXXX";
	if (!mkdtemp(dir))
		FAIL("mkdtemp");
	char html[256], png[256], dom[256], cmd[2048];
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(png, sizeof(png), "%s/shot.png", dir);
	snprintf(dom, sizeof(dom), "%s/dom.html", dir);

	aiss_report *r = make_report();
	if (!r)
		FAIL("report");
	FILE *f = fopen(html, "w");
	if (!f || aiss_report_write_html(r, f) < 0 || fclose(f))
		FAIL("writing %s", html);
	aiss_report_destroy(r);

	const char *flags = "--headless --no-sandbox --disable-gpu "
			    "--hide-scrollbars --no-first-run";
	snprintf(cmd, sizeof(cmd),
		 "HOME=%s timeout 120 '%s' %s --user-data-dir=%s/profile "
		 "--screenshot=%s --window-size=1200,2000 file://%s "
		 ">%s/chromium.log 2>&1",
		 dir, chromium, flags, dir, png, html, dir);
	if (system(cmd) != 0)
		FAIL("chromium screenshot failed: %s", cmd);
	snprintf(cmd, sizeof(cmd),
		 "HOME=%s timeout 120 '%s' %s --user-data-dir=%s/profile "
		 "--dump-dom file://%s >%s 2>>%s/chromium.log",
		 dir, chromium, flags, dir, html, dom, dir);
	if (system(cmd) != 0)
		FAIL("chromium --dump-dom failed: %s", cmd);

	size_t len = 0;
	char *d = slurp(dom, &len);
	if (!d)
		FAIL("no DOM dump");
	const char *want[] = {"3,000,000,000.00",
			      "905,000,000.00",
			      "2,095,000,000.00",
			      "核准承擔額",
			      "累積開支",
			      "結餘",
			      "<svg id=\"burndown\"",
			      "<svg id=\"quarters\"",
			      "<svg id=\"grants\""};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		if (!strstr(d, want[i]))
			FAIL("the rendered DOM lacks %s", want[i]);
	free(d);

	unsigned char *p = (unsigned char *)slurp(png, &len);
	uint32_t w, h;
	double ink;
	int colours;
	if (!p || png_measure(p, len, &w, &h, &ink, &colours) < 0)
		FAIL("%s is not a readable PNG", png);
	free(p);
	printf("screenshot %ux%u, %.1f%% non-background, %d%s colours\n", w, h,
	       ink * 100, colours, colours > 64 ? "+" : "");
	if (w != 1200 || h != 2000)
		FAIL("screenshot is %ux%u, not 1200x2000", w, h);
	if (ink < 0.02)
		FAIL("screenshot is blank (%.2f%% drawn)", ink * 100);
	if (colours < 5)
		FAIL("screenshot has only %d colours: charts missing", colours);

	/* The control: an empty page must measure as blank, or the check
	 * above could not have failed. */
	char blank[256];
	snprintf(blank, sizeof(blank), "%s/blank.html", dir);
	f = fopen(blank, "w");
	if (!f || fputs("<!DOCTYPE html><html><body></body></html>\n", f) < 0 ||
	    fclose(f))
		FAIL("writing %s", blank);
	snprintf(cmd, sizeof(cmd),
		 "HOME=%s timeout 120 '%s' %s --user-data-dir=%s/profile "
		 "--screenshot=%s --window-size=1200,2000 file://%s "
		 ">>%s/chromium.log 2>&1",
		 dir, chromium, flags, dir, png, blank, dir);
	if (system(cmd) != 0)
		FAIL("chromium screenshot of the blank page failed");
	p = (unsigned char *)slurp(png, &len);
	if (!p || png_measure(p, len, &w, &h, &ink, &colours) < 0)
		FAIL("%s (blank) is not a readable PNG", png);
	free(p);
	if (ink >= 0.02)
		FAIL("an empty page measured %.2f%% drawn: the check is broken",
		     ink * 100);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	printf("PASS\n");
	return 0;
}
