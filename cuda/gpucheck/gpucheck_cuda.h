/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_cuda: the CUDA backend of aiss-gpucheck. */
#ifndef GPUCHECK_CUDA_H
#define GPUCHECK_CUDA_H

#include "gpucheck_driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend that runs the project's kernels, cuBLAS and cudaMemcpy on
 * this machine's GPUs. Never NULL; static storage. */
const gpucheck_backend *gpucheck_cuda_backend(void);

#ifdef __cplusplus
}
#endif
#endif
