/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_aissd: sends a node's capacity result to aissd. */
#ifndef GPUCHECK_AISSD_H
#define GPUCHECK_AISSD_H

#include <stddef.h>

#include "gpucheck_report.h"

/*
 * Stores the evaluated report @r as node @r's capacity result in aissd
 * listening on the Unix socket @socket_path, through aiss_client
 * (aiss_client_capacity_put). Returns 0, or -1 with the service's sentence
 * in @err.
 */
int gpucheck_aissd_sink(const char *socket_path, const gpucheck_report *r,
			char *err, size_t errlen);

/*
 * Fills the capacity record fields from @r: node, time, pass, GPU count,
 * BF16 GFLOPS (rounded), and a summary (the reason, or a pass line) into
 * @summary. Exposed for the tests.
 */
void gpucheck_aissd_summary(const gpucheck_report *r, char *summary, size_t len,
			    long long *bf16_gflops);

#endif
