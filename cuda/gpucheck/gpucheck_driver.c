/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_driver: options, kernel order, output, watchdog, exit status. */
#include "gpucheck_driver.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpucheck_numa.h"
#include "gpucheck_slurm.h"

#define GIB (1024ull * 1024ull * 1024ull)
#define MIB (1024ull * 1024ull)

const char *const gpucheck_plant_targets[] = {
    "hbm_write", "hbm_copy", "hbm_triad", "gemm_bf16", "gemm_fp16",
    "fma_fp32",  "fma_fp64", "h2d",       "p2p",       NULL};

void gpucheck_plan_default(gpucheck_plan *p, int full)
{
	memset(p, 0, sizeof(*p));
	p->full = full;
	/* 1 GiB buffers are 20x the 50 MB L2 of an H100. */
	p->hbm_bytes = full ? 4 * GIB : 1 * GIB;
	p->hbm_reps = full ? 20 : 8;
	p->gemm_n = 8192;
	p->gemm_reps = full ? 40 : 8;
	p->fma_seconds = full ? 1.0 : 0.2;
	p->pcie_bytes = full ? 1 * GIB : 256 * MIB;
	p->pcie_reps = full ? 10 : 4;
	p->p2p_bytes = full ? 1 * GIB : 256 * MIB;
	p->p2p_reps = full ? 5 : 2;
	p->samples = 4096;
	p->plant_gpu = 0;
}

struct options {
	int full, json, drain; /* drain: -1 default, 0 no, 1 yes */
	int timeout;           /* seconds; 0: none */
	const char *output, *config, *node, *model, *report_to;
	gpucheck_plan plan;
};

/* Default time limits of the whole check, seconds. slurmd kills its
 * HealthCheckProgram after 60 s; the quick check's watchdog fires first so
 * that a hung GPU still drains the node with a reason. */
#define QUICK_TIMEOUT 50
#define FULL_TIMEOUT 600

/*
 * The watchdog: a GPU that hangs (a kernel that never finishes) must not
 * hang the health check. When the limit passes, the watchdog names the GPU
 * or step still running, drains the node (when draining is on) and exits.
 */
struct watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, timeout, drain, n;
	char node[256];
	int gpu_busy[64]; /* 1 while GPU g's on-device kernels run */
	char step[64];    /* serial step under way, e.g. "GPU0->GPU3 P2P" */
};

static struct watchdog *g_watchdog;

static void watch_set_step(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void watch_set_step(const char *fmt, ...)
{
	va_list ap;

	if (!g_watchdog)
		return;
	pthread_mutex_lock(&g_watchdog->mu);
	va_start(ap, fmt);
	vsnprintf(g_watchdog->step, sizeof(g_watchdog->step), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&g_watchdog->mu);
}

static void watch_gpu(int g, int busy)
{
	if (!g_watchdog || g < 0 || g >= 64)
		return;
	pthread_mutex_lock(&g_watchdog->mu);
	g_watchdog->gpu_busy[g] = busy;
	pthread_mutex_unlock(&g_watchdog->mu);
}

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;
	struct timespec until;
	char reason[256], msg[700];
	gpucheck_action done;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += w->timeout;
	pthread_mutex_lock(&w->mu);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
	if (w->done) {
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	reason[0] = '\0';
	for (int g = 0; g < w->n && !reason[0]; g++)
		if (w->gpu_busy[g])
			snprintf(reason, sizeof(reason),
				 GPUCHECK_REASON_PREFIX
				 " GPU%d check timed out "
				 "after %d s",
				 g, w->timeout);
	if (!reason[0])
		snprintf(reason, sizeof(reason),
			 GPUCHECK_REASON_PREFIX " %s timed out after %d s",
			 w->step[0] ? w->step : "check", w->timeout);
	pthread_mutex_unlock(&w->mu);
	fprintf(stderr, "%s\n", reason);
	if (w->drain) {
		gpucheck_node_apply(w->node, 0, reason, &done, msg,
				    sizeof(msg));
		fprintf(stderr, "aiss-gpucheck: %s\n", msg);
	}
	fflush(NULL);
	_exit(GPUCHECK_EXIT_FAIL);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: aiss-gpucheck [--quick | --full] [--json] [-o FILE]\n"
	    "                     [-c CONFIG] [--node NAME] [--drain | "
	    "--no-drain]\n"
	    "                     [--model NAME] [--plant-fault KERNEL[:GPU]]\n"
	    "                     [--report-to SOCKET] [--timeout S] "
	    "[--mma-sync]\n"
	    "                     [--list-models]\n"
	    "Measures every GPU of this node against its model's datasheet,\n"
	    "verifies every kernel's results, and (with --quick, as Slurm's\n"
	    "HealthCheckProgram) drains the node when a GPU falls short.\n"
	    "Exit: 0 pass, 1 fail, 2 usage/config, 3 no GPU, 4 error.\n"
	    "See aiss-gpucheck(8).\n");
}

static void list_models(FILE *out)
{
	int n;
	const gpucheck_model *m = gpucheck_models(&n);

	fprintf(out, "%-15s %-9s %6s %7s %7s %6s %6s %6s %6s\n", "model",
		"pci ids", "HBM", "BF16", "FP16", "FP32", "FP64", "PCIe",
		"P2P");
	fprintf(out, "%-15s %-9s %6s %7s %7s %6s %6s %6s %6s\n", "", "", "TB/s",
		"TFLOPS", "TFLOPS", "TFLOPS", "TFLOPS", "GB/s", "GB/s");
	for (int i = 0; i < n; i++)
		fprintf(out,
			"%-15s %-9.4x %6.3g %7.4g %7.4g %6.3g %6.3g %6.3g "
			"%6.3g\n",
			m[i].name, m[i].pci_ids[0], m[i].hbm_tbs,
			m[i].bf16_tflops, m[i].fp16_tflops, m[i].fp32_tflops,
			m[i].fp64_tflops, m[i].pcie_gbs, m[i].p2p_gbs);
}

static int parse_plant(gpucheck_plan *p, const char *arg)
{
	char kernel[32];
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);

	if (n == 0 || n >= sizeof(kernel))
		return -1;
	memcpy(kernel, arg, n);
	kernel[n] = '\0';
	for (int i = 0; gpucheck_plant_targets[i]; i++) {
		if (strcmp(kernel, gpucheck_plant_targets[i]) != 0)
			continue;
		snprintf(p->plant_fault, sizeof(p->plant_fault), "%s", kernel);
		if (colon) {
			char *end;
			long g = strtol(colon + 1, &end, 10);
			if (*end || end == colon + 1 || g < 0 || g > 63)
				return -1;
			p->plant_gpu = (int)g;
		}
		return 0;
	}
	return -1;
}

/* Returns 0 to go on, or an exit status + 1 (1: exit 0 after --help). */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		O_NODE = 256,
		O_DRAIN,
		O_NO_DRAIN,
		O_MODEL,
		O_PLANT,
		O_REPORT,
		O_LIST,
		O_WGMMA,
		O_MMA_SYNC,
		O_TIMEOUT
	};
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"full", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"output", required_argument, NULL, 'o'},
	    {"config", required_argument, NULL, 'c'},
	    {"node", required_argument, NULL, O_NODE},
	    {"drain", no_argument, NULL, O_DRAIN},
	    {"no-drain", no_argument, NULL, O_NO_DRAIN},
	    {"model", required_argument, NULL, O_MODEL},
	    {"plant-fault", required_argument, NULL, O_PLANT},
	    {"report-to", required_argument, NULL, O_REPORT},
	    {"list-models", no_argument, NULL, O_LIST},
	    {"wgmma", no_argument, NULL, O_WGMMA},
	    {"mma-sync", no_argument, NULL, O_MMA_SYNC},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	char plant[64] = "";
	int c, mode_set = 0, wgmma = 1, timeout = -1;

	memset(o, 0, sizeof(*o));
	o->drain = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qfjo:c:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'q':
		case 'f':
			if (mode_set && o->full != (c == 'f')) {
				fprintf(stderr, "aiss-gpucheck: --quick and "
						"--full exclude each other\n");
				return GPUCHECK_EXIT_USAGE + 1;
			}
			o->full = c == 'f';
			mode_set = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case O_NODE:
			o->node = optarg;
			break;
		case O_DRAIN:
			o->drain = 1;
			break;
		case O_NO_DRAIN:
			o->drain = 0;
			break;
		case O_MODEL:
			if (!gpucheck_model_by_name(optarg)) {
				fprintf(stderr,
					"aiss-gpucheck: unknown model "
					"'%s' (see --list-models)\n",
					optarg);
				return GPUCHECK_EXIT_USAGE + 1;
			}
			o->model = optarg;
			break;
		case O_PLANT:
			snprintf(plant, sizeof(plant), "%s", optarg);
			break;
		case O_REPORT:
			o->report_to = optarg;
			break;
		case O_LIST:
			list_models(stdout);
			return 1;
		case O_WGMMA: /* the default since it verified on H100 */
			wgmma = 1;
			break;
		case O_MMA_SYNC:
			wgmma = 0;
			break;
		case O_TIMEOUT: {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*end || end == optarg || t < 0 || t > 86400) {
				fprintf(stderr,
					"aiss-gpucheck: --timeout takes "
					"seconds (0: none)\n");
				return GPUCHECK_EXIT_USAGE + 1;
			}
			timeout = (int)t;
			break;
		}
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "aiss-gpucheck: bad option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return GPUCHECK_EXIT_USAGE + 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "aiss-gpucheck: unexpected argument '%s'\n",
			argv[optind]);
		return GPUCHECK_EXIT_USAGE + 1;
	}
	gpucheck_plan_default(&o->plan, o->full);
	o->plan.wgmma = wgmma;
	o->timeout = timeout >= 0 ? timeout
		     : o->full    ? FULL_TIMEOUT
				  : QUICK_TIMEOUT;
	if (plant[0] && parse_plant(&o->plan, plant) < 0) {
		fprintf(stderr, "aiss-gpucheck: --plant-fault takes one of");
		for (int i = 0; gpucheck_plant_targets[i]; i++)
			fprintf(stderr, " %s", gpucheck_plant_targets[i]);
		fprintf(stderr, ", optionally followed by :GPU\n");
		return GPUCHECK_EXIT_USAGE + 1;
	}
	/* --quick is the health check: it acts on Slurm unless told not to,
	 * except when a fault is planted on purpose. */
	if (o->drain < 0)
		o->drain = !o->full && !o->plan.plant_fault[0];
	return 0;
}

static int load_floors(const struct options *o, gpucheck_floors *f)
{
	const char *path = o->config;
	char err[600];

	gpucheck_floors_default(f);
	if (!path)
		path = getenv("AISS_CONF");
	if (!path) {
		if (access(GPUCHECK_DEFAULT_CONF, F_OK) != 0)
			return 0;
		path = GPUCHECK_DEFAULT_CONF;
	}
	if (gpucheck_floors_load(f, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "aiss-gpucheck: %s\n", err);
		return -1;
	}
	return 0;
}

struct device_job {
	const gpucheck_backend *be;
	const gpucheck_plan *plan;
	const gpucheck_model *model;
	int gpu;
	gpucheck_measure m;
};

static void *device_thread(void *arg)
{
	struct device_job *j = arg;

	watch_gpu(j->gpu, 1);
	if (j->be->run_device(j->be->ctx, j->gpu, j->plan, j->model, &j->m) <
		0 &&
	    !j->m.error[0])
		snprintf(j->m.error, sizeof(j->m.error), "%s", strerror(errno));
	watch_gpu(j->gpu, 0);
	return NULL;
}

/* Runs the on-device kernels of every GPU at once. */
static int run_devices(const gpucheck_backend *be, const gpucheck_plan *plan,
		       gpucheck_report *r, int n)
{
	struct device_job *jobs = calloc((size_t)n, sizeof(*jobs));
	pthread_t *tids = calloc((size_t)n, sizeof(*tids));
	int *started = calloc((size_t)n, sizeof(*started));

	if (!jobs || !tids || !started) {
		free(jobs);
		free(tids);
		free(started);
		return -1;
	}
	for (int g = 0; g < n; g++) {
		jobs[g].be = be;
		jobs[g].plan = plan;
		jobs[g].model = gpucheck_report_model(r, g);
		jobs[g].gpu = g;
		started[g] = pthread_create(&tids[g], NULL, device_thread,
					    &jobs[g]) == 0;
		if (!started[g])
			device_thread(&jobs[g]);
	}
	for (int g = 0; g < n; g++) {
		if (started[g])
			pthread_join(tids[g], NULL);
		/* Host links one GPU at a time: a shared PCIe switch would
		 * otherwise halve each GPU's figure. */
		watch_set_step("GPU%d host link", g);
		if (!jobs[g].m.error[0]) {
			/* Pinned buffers on the GPU's own socket: a remote
			 * socket would understate the link. */
			const gpucheck_device_info *info =
			    gpucheck_report_device(r, g);
			cpu_set_t old;
			int bound =
			    info && gpucheck_bind_near_pci(
					"/sys", info->pci_domain, info->pci_bus,
					info->pci_dev, &old) == 0;
			if (be->run_host_link(be->ctx, g, plan, &jobs[g].m) <
				0 &&
			    !jobs[g].m.error[0])
				snprintf(jobs[g].m.error,
					 sizeof(jobs[g].m.error),
					 "host link: %s", strerror(errno));
			if (bound)
				gpucheck_unbind(&old);
		}
		gpucheck_report_set_measure(r, g, &jobs[g].m);
	}
	free(jobs);
	free(tids);
	free(started);
	return 0;
}

static void run_pairs(const gpucheck_backend *be, const gpucheck_plan *plan,
		      gpucheck_report *r, int n)
{
	for (int s = 0; s < n; s++) {
		for (int d = 0; d < n; d++) {
			gpucheck_p2p p;
			if (s == d)
				continue;
			memset(&p, 0, sizeof(p));
			p.src = s;
			p.dst = d;
			watch_set_step("GPU%d->GPU%d P2P", s, d);
			if (be->run_p2p(be->ctx, s, d, plan, &p) < 0 &&
			    !p.error[0])
				snprintf(p.error, sizeof(p.error), "%s",
					 strerror(errno));
			gpucheck_report_add_p2p(r, &p);
		}
	}
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	fputc('\n', f);
	if (fclose(f) != 0)
		return -1;
	return 0;
}

static pthread_t g_watchdog_tid;

/* Starts the watchdog when a limit is set (one check per process). */
static void watchdog_start(const struct options *o, const char *node, int n)
{
	struct watchdog *w;

	if (o->timeout <= 0 || g_watchdog)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->timeout = o->timeout;
	w->drain = o->drain;
	w->n = n;
	snprintf(w->node, sizeof(w->node), "%s", node);
	g_watchdog = w;
	if (pthread_create(&g_watchdog_tid, NULL, watchdog_thread, w) != 0) {
		g_watchdog = NULL;
		free(w);
	}
}

/* Stops the watchdog (the check finished in time). */
static void watchdog_stop(void)
{
	struct watchdog *w = g_watchdog;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(g_watchdog_tid, NULL);
	g_watchdog = NULL;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int gpucheck_main(int argc, char **argv, const gpucheck_backend *be,
		  gpucheck_report_sink sink)
{
	struct options o;
	gpucheck_floors floors;
	gpucheck_report *r = NULL;
	char node[256], err[512];
	char *json = NULL;
	int n = 0, rc, status = GPUCHECK_EXIT_ERROR, passed;

	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc - 1;
	if (load_floors(&o, &floors) < 0)
		return GPUCHECK_EXIT_USAGE;
	if (o.report_to && !sink) {
		fprintf(stderr, "aiss-gpucheck: --report-to: this build has no "
				"aissd client; use --output FILE instead\n");
		return GPUCHECK_EXIT_USAGE;
	}
	if (o.node)
		snprintf(node, sizeof(node), "%s", o.node);
	else if (gpucheck_short_hostname(node, sizeof(node)) < 0)
		snprintf(node, sizeof(node), "localhost");

	err[0] = '\0';
	if (be->count(be->ctx, &n, err, sizeof(err)) < 0 || n <= 0) {
		if (floors.expect_gpus <= 0) {
			fprintf(stderr,
				"aiss-gpucheck: no GPU: %s (nothing to check; "
				"exit status %d)\n",
				err[0] ? err : "no CUDA device visible",
				GPUCHECK_EXIT_NO_GPU);
			return GPUCHECK_EXIT_NO_GPU;
		}
		/* A GPU node that should have GPUs and shows none is the
		 * worst failure of all: fall through and drain it. */
		n = 0;
	}
	if (n > 64)
		n = 64;
	r = gpucheck_report_create(node, o.full ? "full" : "quick", n);
	if (!r) {
		perror("aiss-gpucheck");
		return GPUCHECK_EXIT_ERROR;
	}
	gpucheck_report_set_time(r, (long long)time(NULL));
	if (n == 0) {
		char text[600];
		snprintf(text, sizeof(text), "no GPU visible (%d expected): %s",
			 floors.expect_gpus, err[0] ? err : "no CUDA device");
		gpucheck_report_set_node_error(r, text);
	}
	for (int g = 0; g < n; g++) {
		gpucheck_device_info info;
		memset(&info, 0, sizeof(info));
		if (be->info(be->ctx, g, &info) < 0)
			snprintf(info.name, sizeof(info.name), "unknown");
		gpucheck_report_set_device(r, g, &info, o.model);
		if (!o.model && !gpucheck_report_model(r, g))
			fprintf(stderr,
				"aiss-gpucheck: GPU%d '%s' is not a known "
				"model: measured and verified, no floors\n",
				g, info.name);
	}
	watchdog_start(&o, node, n);
	if (n > 0 && run_devices(be, &o.plan, r, n) < 0) {
		perror("aiss-gpucheck");
		goto out;
	}
	run_pairs(be, &o.plan, r, n);
	watchdog_stop();

	passed = gpucheck_report_evaluate(r, &floors);
	status = passed == 1 ? GPUCHECK_EXIT_PASS : GPUCHECK_EXIT_FAIL;
	json = gpucheck_report_json(r);
	if (!json) {
		perror("aiss-gpucheck: json");
		status = GPUCHECK_EXIT_ERROR;
		goto out;
	}
	if (o.json)
		printf("%s\n", json);
	else
		gpucheck_report_print(r, stdout);
	fflush(stdout);
	if (o.output && write_file(o.output, json) < 0) {
		fprintf(stderr, "aiss-gpucheck: cannot write %s: %s\n",
			o.output, strerror(errno));
		if (status == GPUCHECK_EXIT_PASS)
			status = GPUCHECK_EXIT_ERROR;
	}
	if (o.drain) {
		gpucheck_action done;
		char msg[700];
		if (gpucheck_node_apply(node, passed == 1,
					gpucheck_report_reason(r), &done, msg,
					sizeof(msg)) < 0) {
			fprintf(stderr, "aiss-gpucheck: %s\n", msg);
			if (status == GPUCHECK_EXIT_PASS)
				status = GPUCHECK_EXIT_ERROR;
		} else {
			fprintf(stderr, "aiss-gpucheck: %s\n", msg);
		}
	}
	if (o.report_to) {
		if (sink(o.report_to, r, err, sizeof(err)) < 0) {
			fprintf(stderr, "aiss-gpucheck: --report-to %s: %s\n",
				o.report_to, err);
			if (status == GPUCHECK_EXIT_PASS)
				status = GPUCHECK_EXIT_ERROR;
		}
	}
out:
	watchdog_stop();
	free(json);
	gpucheck_report_destroy(r);
	return status;
}
