/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_aissd: the --report-to sink over aiss_client's capacity call. */
#include "gpucheck_aissd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aiss_client.h"

void gpucheck_aissd_summary(const gpucheck_report *r, char *summary, size_t len,
			    long long *bf16_gflops)
{
	double tflops = gpucheck_report_bf16_tflops(r);

	*bf16_gflops = llround(tflops * 1000.0);
	if (gpucheck_report_passed(r))
		snprintf(summary, len,
			 "pass (%s): %d GPUs, %.1f TFLOPS BF16 measured",
			 gpucheck_report_mode(r), gpucheck_report_gpu_count(r),
			 tflops);
	else
		snprintf(summary, len, "%s", gpucheck_report_reason(r));
}

int gpucheck_aissd_sink(const char *socket_path, const gpucheck_report *r,
			char *err, size_t errlen)
{
	aiss_capacity cap;
	aiss_error e;
	aiss_client *c;
	long long gflops;
	int rc;

	memset(&cap, 0, sizeof(cap));
	aiss_error_clear(&e);
	snprintf(cap.node, sizeof(cap.node), "%s", gpucheck_report_node(r));
	cap.at = gpucheck_report_time(r) >= 0 ? gpucheck_report_time(r)
					      : (aiss_time_t)time(NULL);
	cap.pass = gpucheck_report_passed(r);
	cap.n_gpus = gpucheck_report_gpu_count(r);
	gpucheck_aissd_summary(r, cap.summary, sizeof(cap.summary), &gflops);
	cap.bf16_gflops = gflops;
	c = aiss_client_connect(socket_path, 0, &e);
	if (!c) {
		snprintf(err, errlen, "%s", e.text);
		return -1;
	}
	rc = aiss_client_capacity_put(c, &cap, &e);
	aiss_client_close(c);
	if (rc < 0) {
		snprintf(err, errlen, "%s", e.text);
		return -1;
	}
	return 0;
}
