/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_report: floors, the drain reason, JSON and the table. */
#include "gpucheck_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpucheck_json.h"

enum floor_kind { F_NONE, F_HBM, F_BF16, F_FP16, F_FP32, F_FP64, F_PCIE };

static const struct metric_desc {
	const char *key, *label, *floor_label, *unit;
	int baseline;
	enum floor_kind floor;
} metrics[GPUCHECK_METRIC__COUNT] = {
    [GPUCHECK_HBM_READ] = {"hbm_read", "HBM read", "HBM", "TB/s",
			   GPUCHECK_D2D_MEMCPY, F_HBM},
    [GPUCHECK_HBM_WRITE] = {"hbm_write", "HBM write", "HBM", "TB/s",
			    GPUCHECK_D2D_MEMCPY, F_HBM},
    [GPUCHECK_HBM_COPY] = {"hbm_copy", "HBM copy", "HBM", "TB/s",
			   GPUCHECK_D2D_MEMCPY, F_HBM},
    [GPUCHECK_HBM_TRIAD] = {"hbm_triad", "HBM triad", "HBM", "TB/s",
			    GPUCHECK_D2D_MEMCPY, F_HBM},
    [GPUCHECK_D2D_MEMCPY] = {"d2d_memcpy", "cudaMemcpy D2D", "HBM", "TB/s", -1,
			     F_NONE},
    [GPUCHECK_GEMM_BF16] = {"gemm_bf16", "BF16 GEMM", "BF16 GEMM", "TFLOPS",
			    GPUCHECK_CUBLAS_BF16, F_BF16},
    [GPUCHECK_GEMM_FP16] = {"gemm_fp16", "FP16 GEMM", "FP16 GEMM", "TFLOPS",
			    GPUCHECK_CUBLAS_FP16, F_FP16},
    [GPUCHECK_CUBLAS_BF16] = {"cublas_bf16", "cuBLAS BF16 GEMM", "BF16 GEMM",
			      "TFLOPS", -1, F_BF16},
    [GPUCHECK_CUBLAS_FP16] = {"cublas_fp16", "cuBLAS FP16 GEMM", "FP16 GEMM",
			      "TFLOPS", -1, F_FP16},
    [GPUCHECK_FMA_FP32] = {"fma_fp32", "FP32 FMA", "FP32 FMA", "TFLOPS", -1,
			   F_FP32},
    [GPUCHECK_FMA_FP64] = {"fma_fp64", "FP64 FMA", "FP64 FMA", "TFLOPS", -1,
			   F_FP64},
    [GPUCHECK_H2D] = {"h2d", "H2D pinned", "H2D", "GB/s", -1, F_PCIE},
    [GPUCHECK_D2H] = {"d2h", "D2H pinned", "D2H", "GB/s", -1, F_PCIE},
};

#define MAX_GPUS 64
#define MAX_FAILURES 64

struct gpu_state {
	int have_info, have_measure;
	gpucheck_device_info info;
	const gpucheck_model *model;
	gpucheck_measure m;
	double floor[GPUCHECK_METRIC__COUNT]; /* absolute; NAN: none */
	int pass[GPUCHECK_METRIC__COUNT];
	int gpu_pass;
};

struct p2p_state {
	gpucheck_p2p p;
	double nominal, floor;
	int pass;
};

struct failure {
	int severity; /* 0: wrong result or error, 1: under a floor */
	double frac;  /* value / floor, for ordering */
	char text[200];
};

struct gpucheck_report {
	char node[128];
	char mode[16];
	int ngpus;
	long long when;
	char node_error[256];
	struct gpu_state *gpu;
	struct p2p_state *p2p;
	int np2p, p2p_cap;
	int evaluated, passed, nfail;
	char reason[512];
};

const char *gpucheck_metric_key(gpucheck_metric m)
{
	return (unsigned)m < GPUCHECK_METRIC__COUNT ? metrics[m].key : NULL;
}

const char *gpucheck_metric_label(gpucheck_metric m)
{
	return (unsigned)m < GPUCHECK_METRIC__COUNT ? metrics[m].label : NULL;
}

const char *gpucheck_metric_unit(gpucheck_metric m)
{
	return (unsigned)m < GPUCHECK_METRIC__COUNT ? metrics[m].unit : NULL;
}

int gpucheck_metric_baseline(gpucheck_metric m)
{
	return (unsigned)m < GPUCHECK_METRIC__COUNT ? metrics[m].baseline : -1;
}

gpucheck_report *gpucheck_report_create(const char *node, const char *mode,
					int ngpus)
{
	gpucheck_report *r;

	if (ngpus < 0 || ngpus > MAX_GPUS) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->gpu = calloc(ngpus ? (size_t)ngpus : 1, sizeof(*r->gpu));
	if (!r->gpu) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->ngpus = ngpus;
	snprintf(r->node, sizeof(r->node), "%s", node ? node : "");
	snprintf(r->mode, sizeof(r->mode), "%s", mode ? mode : "");
	r->when = -1;
	return r;
}

void gpucheck_report_destroy(gpucheck_report *r)
{
	if (!r)
		return;
	free(r->gpu);
	free(r->p2p);
	free(r);
}

int gpucheck_report_gpu_count(const gpucheck_report *r)
{
	return r ? r->ngpus : 0;
}

int gpucheck_report_set_device(gpucheck_report *r, int gpu,
			       const gpucheck_device_info *info,
			       const char *model_override)
{
	const gpucheck_model *model;

	if (!r || !info || gpu < 0 || gpu >= r->ngpus) {
		errno = EINVAL;
		return -1;
	}
	if (model_override && *model_override) {
		model = gpucheck_model_by_name(model_override);
		if (!model)
			return -1;
	} else {
		model = gpucheck_model_match(info->name, info->pci_id);
	}
	r->gpu[gpu].info = *info;
	r->gpu[gpu].model = model;
	r->gpu[gpu].have_info = 1;
	r->evaluated = 0;
	return 0;
}

const gpucheck_device_info *gpucheck_report_device(const gpucheck_report *r,
						   int gpu)
{
	if (!r || gpu < 0 || gpu >= r->ngpus || !r->gpu[gpu].have_info)
		return NULL;
	return &r->gpu[gpu].info;
}

const gpucheck_model *gpucheck_report_model(const gpucheck_report *r, int gpu)
{
	if (!r || gpu < 0 || gpu >= r->ngpus)
		return NULL;
	return r->gpu[gpu].model;
}

int gpucheck_report_set_measure(gpucheck_report *r, int gpu,
				const gpucheck_measure *m)
{
	if (!r || !m || gpu < 0 || gpu >= r->ngpus) {
		errno = EINVAL;
		return -1;
	}
	r->gpu[gpu].m = *m;
	r->gpu[gpu].have_measure = 1;
	r->evaluated = 0;
	return 0;
}

int gpucheck_report_add_p2p(gpucheck_report *r, const gpucheck_p2p *p)
{
	if (!r || !p || p->src < 0 || p->src >= r->ngpus || p->dst < 0 ||
	    p->dst >= r->ngpus || p->src == p->dst) {
		errno = EINVAL;
		return -1;
	}
	if (r->np2p == r->p2p_cap) {
		int cap = r->p2p_cap ? 2 * r->p2p_cap : 16;
		struct p2p_state *n = realloc(r->p2p, (size_t)cap * sizeof(*n));
		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		r->p2p = n;
		r->p2p_cap = cap;
	}
	memset(&r->p2p[r->np2p], 0, sizeof(r->p2p[0]));
	r->p2p[r->np2p].p = *p;
	r->np2p++;
	r->evaluated = 0;
	return 0;
}

void gpucheck_report_set_node_error(gpucheck_report *r, const char *text)
{
	if (r)
		snprintf(r->node_error, sizeof(r->node_error), "%s",
			 text ? text : "");
}

void gpucheck_report_set_time(gpucheck_report *r, long long unix_seconds)
{
	if (r)
		r->when = unix_seconds;
}

/* Nominal figure of @model for metric @m, or 0 when it has none. */
static double nominal_of(const gpucheck_model *model, gpucheck_metric m)
{
	if (!model)
		return 0;
	switch (metrics[m].floor) {
	case F_HBM:
		return model->hbm_tbs;
	case F_BF16:
		return model->bf16_tflops;
	case F_FP16:
		return model->fp16_tflops;
	case F_FP32:
		return model->fp32_tflops;
	case F_FP64:
		return model->fp64_tflops;
	case F_PCIE:
		return model->pcie_gbs;
	case F_NONE:
		break;
	}
	/* The D2D baseline is an HBM figure too, but carries no floor. */
	return m == GPUCHECK_D2D_MEMCPY ? model->hbm_tbs : 0;
}

static double fraction_of(const gpucheck_floors *f, enum floor_kind k)
{
	switch (k) {
	case F_HBM:
		return f->hbm;
	case F_BF16:
	case F_FP16:
		return f->gemm;
	case F_FP32:
		return f->fp32;
	case F_FP64:
		return f->fp64;
	case F_PCIE:
		return f->pcie;
	case F_NONE:
		break;
	}
	return 0;
}

char *gpucheck_format_shortfall(char *buf, size_t len, double value,
				const char *unit, double floor)
{
	char a[48], b[48];
	int d = floor >= 100 ? 0 : 1;

	for (;; d++) {
		snprintf(a, sizeof(a), "%.*f", d, value);
		snprintf(b, sizeof(b), "%.*f", d, floor);
		if (strcmp(a, b) != 0 || d >= 3)
			break;
	}
	snprintf(buf, len, "%s %s < %s", a, unit, b);
	return buf;
}

static void add_failure(struct failure *fails, int *n, int severity,
			double frac, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Records one failure (the first MAX_FAILURES are kept, all are counted). */
static void add_failure(struct failure *fails, int *n, int severity,
			double frac, const char *fmt, ...)
{
	va_list ap;

	if (*n < MAX_FAILURES) {
		fails[*n].severity = severity;
		fails[*n].frac = frac;
		va_start(ap, fmt);
		vsnprintf(fails[*n].text, sizeof(fails[*n].text), fmt, ap);
		va_end(ap);
	}
	(*n)++;
}

/* Evaluates one GPU; appends its failures. */
static void evaluate_gpu(gpucheck_report *r, int g, const gpucheck_floors *f,
			 struct failure *fails, int *nfail)
{
	struct gpu_state *s = &r->gpu[g];
	const gpucheck_measure *m = &s->m;
	int before = *nfail;
	char fig[128];

	for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++) {
		s->floor[k] = NAN;
		s->pass[k] = 1;
	}
	if (!s->have_measure) {
		add_failure(fails, nfail, 0, 0, "GPU%d not measured", g);
		s->gpu_pass = 0;
		return;
	}
	if (m->error[0])
		add_failure(fails, nfail, 0, 0, "GPU%d check error: %s", g,
			    m->error);
	for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++) {
		if (m->measured[k] && m->mismatches[k] > 0) {
			s->pass[k] = 0;
			add_failure(fails, nfail, 0, 0,
				    "GPU%d %s wrong result (%lld of %lld "
				    "checked)",
				    g, metrics[k].label, m->mismatches[k],
				    m->checked[k]);
		}
	}
	for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++) {
		double nominal = nominal_of(s->model, (gpucheck_metric)k);
		double frac = fraction_of(f, metrics[k].floor);
		double v;

		if (!m->measured[k] || nominal <= 0 || frac <= 0)
			continue;
		s->floor[k] = nominal * frac;
		v = m->value[k];
		if (metrics[k].floor == F_BF16 || metrics[k].floor == F_FP16) {
			/* A GEMM floor holds for the better of the project's
			 * kernel and cuBLAS: both measure the same units. */
			int own = metrics[k].floor == F_BF16
				      ? GPUCHECK_GEMM_BF16
				      : GPUCHECK_GEMM_FP16;
			int lib = metrics[k].floor == F_BF16
				      ? GPUCHECK_CUBLAS_BF16
				      : GPUCHECK_CUBLAS_FP16;
			double best = -INFINITY;
			if (m->measured[own])
				best = fmax(best, m->value[own]);
			if (m->measured[lib])
				best = fmax(best, m->value[lib]);
			if (best < s->floor[k]) {
				s->pass[k] = 0;
				/* Report the shortfall once, on the kernel
				 * measured last of the two. */
				if (k == lib || !m->measured[lib])
					add_failure(
					    fails, nfail, 1, best / s->floor[k],
					    "GPU%d %s %s", g,
					    metrics[k].floor_label,
					    gpucheck_format_shortfall(
						fig, sizeof(fig), best,
						metrics[k].unit, s->floor[k]));
			}
			continue;
		}
		if (!(v >= s->floor[k])) {
			s->pass[k] = 0;
			add_failure(fails, nfail, 1, v / s->floor[k],
				    "GPU%d %s %s", g, metrics[k].floor_label,
				    gpucheck_format_shortfall(
					fig, sizeof(fig), v, metrics[k].unit,
					s->floor[k]));
		}
	}
	s->gpu_pass = *nfail == before;
}

static int cmp_failure(const void *a, const void *b)
{
	const struct failure *x = a, *y = b;

	if (x->severity != y->severity)
		return x->severity - y->severity;
	if (x->frac < y->frac)
		return -1;
	if (x->frac > y->frac)
		return 1;
	return 0;
}

int gpucheck_report_evaluate(gpucheck_report *r, const gpucheck_floors *f)
{
	struct failure *fails;
	int nfail = 0;
	char fig[128];

	if (!r || !f) {
		errno = EINVAL;
		return -1;
	}
	fails = calloc(MAX_FAILURES, sizeof(*fails));
	if (!fails)
		return -1;
	if (r->node_error[0])
		add_failure(fails, &nfail, 0, 0, "%s", r->node_error);
	else if (r->ngpus == 0)
		add_failure(fails, &nfail, 0, 0, "no GPU visible");
	else if (f->expect_gpus > 0 && r->ngpus < f->expect_gpus)
		add_failure(fails, &nfail, 0, 0, "%d of %d GPUs visible",
			    r->ngpus, f->expect_gpus);
	for (int g = 0; g < r->ngpus; g++)
		evaluate_gpu(r, g, f, fails, &nfail);
	for (int i = 0; i < r->np2p; i++) {
		struct p2p_state *p = &r->p2p[i];
		const gpucheck_model *ms = r->gpu[p->p.src].model;
		const gpucheck_model *md = r->gpu[p->p.dst].model;

		p->pass = 1;
		p->nominal = ms && md ? fmin(ms->p2p_gbs, md->p2p_gbs) : 0;
		p->floor =
		    p->nominal > 0 && f->p2p > 0 ? p->nominal * f->p2p : NAN;
		if (p->p.error[0]) {
			p->pass = 0;
			add_failure(fails, &nfail, 0, 0,
				    "GPU%d->GPU%d P2P error: %s", p->p.src,
				    p->p.dst, p->p.error);
		} else if (p->p.mismatches > 0) {
			p->pass = 0;
			add_failure(fails, &nfail, 0, 0,
				    "GPU%d->GPU%d P2P wrong result (%lld of "
				    "%lld checked)",
				    p->p.src, p->p.dst, p->p.mismatches,
				    p->p.checked);
		} else if (isfinite(p->floor) && !(p->p.gbs >= p->floor)) {
			p->pass = 0;
			add_failure(fails, &nfail, 1, p->p.gbs / p->floor,
				    "GPU%d->GPU%d P2P %s", p->p.src, p->p.dst,
				    gpucheck_format_shortfall(fig, sizeof(fig),
							      p->p.gbs, "GB/s",
							      p->floor));
		}
	}
	qsort(fails, nfail < MAX_FAILURES ? (size_t)nfail : MAX_FAILURES,
	      sizeof(*fails), cmp_failure);
	r->reason[0] = '\0';
	if (nfail == 1)
		snprintf(r->reason, sizeof(r->reason), "aiss-gpucheck: %s",
			 fails[0].text);
	else if (nfail > 1)
		snprintf(r->reason, sizeof(r->reason),
			 "aiss-gpucheck: %s; +%d more", fails[0].text,
			 nfail - 1);
	free(fails);
	r->nfail = nfail;
	r->passed = nfail == 0;
	r->evaluated = 1;
	return r->passed;
}

const char *gpucheck_report_node(const gpucheck_report *r)
{
	return r ? r->node : "";
}

const char *gpucheck_report_mode(const gpucheck_report *r)
{
	return r ? r->mode : "";
}

long long gpucheck_report_time(const gpucheck_report *r)
{
	return r ? r->when : -1;
}

int gpucheck_report_passed(const gpucheck_report *r)
{
	return r && r->evaluated && r->passed;
}

int gpucheck_report_failure_count(const gpucheck_report *r)
{
	return r ? r->nfail : 0;
}

const char *gpucheck_report_reason(const gpucheck_report *r)
{
	return r ? r->reason : "";
}

double gpucheck_report_bf16_tflops(const gpucheck_report *r)
{
	double sum = 0;

	for (int g = 0; r && g < r->ngpus; g++) {
		const gpucheck_measure *m = &r->gpu[g].m;
		double best = 0;
		if (!r->gpu[g].have_measure)
			continue;
		if (m->measured[GPUCHECK_GEMM_BF16] &&
		    m->mismatches[GPUCHECK_GEMM_BF16] == 0)
			best = fmax(best, m->value[GPUCHECK_GEMM_BF16]);
		if (m->measured[GPUCHECK_CUBLAS_BF16] &&
		    m->mismatches[GPUCHECK_CUBLAS_BF16] == 0)
			best = fmax(best, m->value[GPUCHECK_CUBLAS_BF16]);
		sum += best;
	}
	return sum;
}

static void json_metric(gpucheck_json *j, const struct gpu_state *s, int k)
{
	const gpucheck_measure *m = &s->m;
	double nominal = nominal_of(s->model, (gpucheck_metric)k);
	int base = metrics[k].baseline;

	gpucheck_json_key(j, metrics[k].key);
	gpucheck_json_begin_object(j);
	gpucheck_json_key(j, "value");
	gpucheck_json_number(j, m->value[k], 6);
	gpucheck_json_key(j, "unit");
	gpucheck_json_string(j, metrics[k].unit);
	gpucheck_json_key(j, "nominal");
	if (nominal > 0)
		gpucheck_json_number(j, nominal, 6);
	else
		gpucheck_json_null(j);
	gpucheck_json_key(j, "fraction_of_nominal");
	gpucheck_json_number(j, nominal > 0 ? m->value[k] / nominal : NAN, 4);
	gpucheck_json_key(j, "floor");
	gpucheck_json_number(j, s->floor[k], 6);
	gpucheck_json_key(j, "baseline");
	if (base >= 0 && m->measured[base]) {
		gpucheck_json_string(j, metrics[base].key);
		gpucheck_json_key(j, "ratio_to_baseline");
		gpucheck_json_number(j, m->value[k] / m->value[base], 4);
	} else {
		gpucheck_json_null(j);
		gpucheck_json_key(j, "ratio_to_baseline");
		gpucheck_json_null(j);
	}
	gpucheck_json_key(j, "checked");
	gpucheck_json_int(j, m->checked[k]);
	gpucheck_json_key(j, "mismatches");
	gpucheck_json_int(j, m->mismatches[k]);
	gpucheck_json_key(j, "pass");
	gpucheck_json_bool(j, s->pass[k]);
	gpucheck_json_end_object(j);
}

static void json_gpu(gpucheck_json *j, const gpucheck_report *r, int g)
{
	const struct gpu_state *s = &r->gpu[g];
	char buf[64];

	gpucheck_json_begin_object(j);
	gpucheck_json_key(j, "index");
	gpucheck_json_int(j, g);
	gpucheck_json_key(j, "name");
	gpucheck_json_string(j, s->have_info ? s->info.name : NULL);
	gpucheck_json_key(j, "pci_id");
	if (s->info.pci_id) {
		snprintf(buf, sizeof(buf), "%04x:%04x",
			 GPUCHECK_PCI_VENDOR_NVIDIA, s->info.pci_id);
		gpucheck_json_string(j, buf);
	} else {
		gpucheck_json_null(j);
	}
	gpucheck_json_key(j, "pci_bus_id");
	snprintf(buf, sizeof(buf), "%04x:%02x:%02x.0", s->info.pci_domain,
		 s->info.pci_bus, s->info.pci_dev);
	gpucheck_json_string(j, s->have_info ? buf : NULL);
	gpucheck_json_key(j, "compute_capability");
	snprintf(buf, sizeof(buf), "%d.%d", s->info.cc_major, s->info.cc_minor);
	gpucheck_json_string(j, s->have_info ? buf : NULL);
	gpucheck_json_key(j, "sm_count");
	gpucheck_json_int(j, s->info.sm_count);
	gpucheck_json_key(j, "memory_bytes");
	gpucheck_json_int(j, (long long)s->info.mem_bytes);
	gpucheck_json_key(j, "model");
	gpucheck_json_string(j, s->model ? s->model->name : NULL);
	gpucheck_json_key(j, "pass");
	gpucheck_json_bool(j, r->evaluated && s->gpu_pass);
	gpucheck_json_key(j, "error");
	gpucheck_json_string(j, s->m.error[0] ? s->m.error : NULL);
	gpucheck_json_key(j, "gemm_kernel");
	gpucheck_json_string(j, s->m.gemm_kernel[0] ? s->m.gemm_kernel : NULL);
	gpucheck_json_key(j, "metrics");
	gpucheck_json_begin_object(j);
	for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++)
		if (s->m.measured[k])
			json_metric(j, s, k);
	gpucheck_json_end_object(j);
	gpucheck_json_end_object(j);
}

char *gpucheck_report_json(const gpucheck_report *r)
{
	gpucheck_json *j;
	const char *text;
	char *out = NULL;
	char when[32];

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	j = gpucheck_json_create();
	if (!j)
		return NULL;
	gpucheck_json_begin_object(j);
	gpucheck_json_key(j, "tool");
	gpucheck_json_string(j, "aiss-gpucheck");
	gpucheck_json_key(j, "schema");
	gpucheck_json_int(j, 1);
	gpucheck_json_key(j, "node");
	gpucheck_json_string(j, r->node);
	gpucheck_json_key(j, "mode");
	gpucheck_json_string(j, r->mode);
	gpucheck_json_key(j, "time");
	if (r->when >= 0) {
		time_t t = (time_t)r->when;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		gpucheck_json_string(j, when);
	} else {
		gpucheck_json_null(j);
	}
	gpucheck_json_key(j, "verdict");
	gpucheck_json_string(j, !r->evaluated ? "unevaluated"
				: r->passed   ? "pass"
					      : "fail");
	gpucheck_json_key(j, "reason");
	gpucheck_json_string(j, r->reason);
	gpucheck_json_key(j, "failures");
	gpucheck_json_int(j, r->nfail);
	gpucheck_json_key(j, "node_error");
	gpucheck_json_string(j, r->node_error[0] ? r->node_error : NULL);
	gpucheck_json_key(j, "gpu_count");
	gpucheck_json_int(j, r->ngpus);
	gpucheck_json_key(j, "bf16_tflops");
	gpucheck_json_number(j, gpucheck_report_bf16_tflops(r), 6);
	gpucheck_json_key(j, "gpus");
	gpucheck_json_begin_array(j);
	for (int g = 0; g < r->ngpus; g++)
		json_gpu(j, r, g);
	gpucheck_json_end_array(j);
	gpucheck_json_key(j, "p2p");
	gpucheck_json_begin_array(j);
	for (int i = 0; i < r->np2p; i++) {
		const struct p2p_state *p = &r->p2p[i];
		gpucheck_json_begin_object(j);
		gpucheck_json_key(j, "src");
		gpucheck_json_int(j, p->p.src);
		gpucheck_json_key(j, "dst");
		gpucheck_json_int(j, p->p.dst);
		gpucheck_json_key(j, "peer_access");
		gpucheck_json_bool(j, p->p.peer_access);
		gpucheck_json_key(j, "gbs");
		gpucheck_json_number(j, p->p.gbs, 6);
		gpucheck_json_key(j, "nominal");
		gpucheck_json_number(j, p->nominal > 0 ? p->nominal : NAN, 6);
		gpucheck_json_key(j, "floor");
		gpucheck_json_number(j, p->floor, 6);
		gpucheck_json_key(j, "checked");
		gpucheck_json_int(j, p->p.checked);
		gpucheck_json_key(j, "mismatches");
		gpucheck_json_int(j, p->p.mismatches);
		gpucheck_json_key(j, "error");
		gpucheck_json_string(j, p->p.error[0] ? p->p.error : NULL);
		gpucheck_json_key(j, "pass");
		gpucheck_json_bool(j, r->evaluated && p->pass);
		gpucheck_json_end_object(j);
	}
	gpucheck_json_end_array(j);
	gpucheck_json_end_object(j);
	text = gpucheck_json_text(j);
	if (text)
		out = strdup(text);
	else
		errno = ENOMEM;
	gpucheck_json_destroy(j);
	return out;
}

int gpucheck_report_print(const gpucheck_report *r, FILE *out)
{
	if (!r || !out) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out, "aiss-gpucheck %s check of %s: %s\n", r->mode,
		r->node[0] ? r->node : "(this node)",
		!r->evaluated ? "not evaluated"
		: r->passed   ? "PASS"
			      : "FAIL");
	if (r->reason[0])
		fprintf(out, "reason: %s\n", r->reason);
	for (int g = 0; g < r->ngpus; g++) {
		const struct gpu_state *s = &r->gpu[g];
		fprintf(out, "\nGPU%d  %s  model %s  %s\n", g,
			s->have_info ? s->info.name : "?",
			s->model ? s->model->name : "unknown (no floors)",
			s->gpu_pass ? "pass" : "FAIL");
		if (s->m.error[0])
			fprintf(out, "  error: %s\n", s->m.error);
		fprintf(out, "  %-18s %10s %-6s %9s %9s %9s %s\n", "kernel",
			"measured", "unit", "nominal", "floor", "x base",
			"verified");
		for (int k = 0; k < GPUCHECK_METRIC__COUNT; k++) {
			const gpucheck_measure *m = &s->m;
			int base = metrics[k].baseline;
			double nominal =
			    nominal_of(s->model, (gpucheck_metric)k);
			char ratio[16] = "-", nom[16] = "-", flo[16] = "-";
			char ver[48] = "-";
			if (!m->measured[k])
				continue;
			if (base >= 0 && m->measured[base] &&
			    m->value[base] > 0)
				snprintf(ratio, sizeof(ratio), "%.3f",
					 m->value[k] / m->value[base]);
			if (nominal > 0)
				snprintf(nom, sizeof(nom), "%.4g", nominal);
			if (isfinite(s->floor[k]))
				snprintf(flo, sizeof(flo), "%.4g", s->floor[k]);
			if (m->checked[k] > 0)
				snprintf(ver, sizeof(ver), "%s (%lld/%lld)",
					 m->mismatches[k] ? "WRONG" : "ok",
					 m->mismatches[k], m->checked[k]);
			fprintf(out, "  %-18s %10.4g %-6s %9s %9s %9s %s%s\n",
				metrics[k].label, m->value[k], metrics[k].unit,
				nom, flo, ratio, ver,
				s->pass[k] ? "" : "  <-- FAIL");
		}
	}
	if (r->np2p)
		fprintf(out, "\npeer copies (GB/s):\n");
	for (int i = 0; i < r->np2p; i++) {
		const struct p2p_state *p = &r->p2p[i];
		fprintf(out, "  GPU%d->GPU%d %8.1f %s%s%s\n", p->p.src,
			p->p.dst, p->p.gbs,
			p->p.peer_access ? "peer" : "staged",
			p->p.mismatches ? "  WRONG" : "",
			p->pass ? "" : "  <-- FAIL");
	}
	fprintf(out, "\nnode BF16 capacity: %.1f TFLOPS\n",
		gpucheck_report_bf16_tflops(r));
	return ferror(out) ? -1 : 0;
}
