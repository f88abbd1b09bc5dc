/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss-gpucheck: measures and verifies this node's GPUs (aiss-gpucheck(8)). */
#include "gpucheck_cuda.h"
#include "gpucheck_driver.h"

#ifdef GPUCHECK_HAVE_CLIENT
#include "gpucheck_aissd.h"
#define GPUCHECK_SINK gpucheck_aissd_sink
#else
#define GPUCHECK_SINK NULL
#endif

int main(int argc, char **argv)
{
	return gpucheck_main(argc, argv, gpucheck_cuda_backend(),
			     GPUCHECK_SINK);
}
