/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_verify: kernel results vs CPU references, exact or in tolerance. */
#ifndef GPUCHECK_VERIFY_H
#define GPUCHECK_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "gpucheck_arith.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The GPU path copies sampled elements (and, where it can, every element
 * through a device-side check using gpucheck_arith.h) and hands them to
 * these functions; the unit tests hand them the output of the CPU
 * references below. Each returns the number of mismatching elements
 * (0: all correct) and, when @first_bad is not NULL and there is a
 * mismatch, the position in the arrays of the first one.
 */

/* Element types of the GEMM and their rounding. */
typedef enum gpucheck_dtype {
	GPUCHECK_BF16,
	GPUCHECK_FP16,
	GPUCHECK_FP32,
	GPUCHECK_FP64
} gpucheck_dtype;

/* Name of @t ("bf16"), or "?" . */
const char *gpucheck_dtype_name(gpucheck_dtype t);

/* @x rounded to nearest-even in bfloat16 / IEEE half, as a float. */
float gpucheck_round_bf16(float x);
float gpucheck_round_fp16(float x);

/* Bandwidth buffers: @vals[k] must equal gpucheck_pattern_word(@index[k],
 * @seed) exactly; @index NULL means @vals[k] is element @base + k. */
size_t gpucheck_verify_words(const uint32_t *vals, const uint64_t *index,
			     uint64_t base, size_t n, uint32_t seed,
			     size_t *first_bad);

/* XOR of the first @nwords pattern words of @seed: what the read kernel's
 * XOR of a correct buffer must be. */
uint32_t gpucheck_ref_pattern_xor(uint64_t nwords, uint32_t seed);

/* Triad output: @vals[k] must equal gpucheck_triad_elem(@index[k]) bit for
 * bit (same conventions as gpucheck_verify_words). */
size_t gpucheck_verify_triad(const float *vals, const uint64_t *index,
			     uint64_t base, size_t n, size_t *first_bad);

/* CPU reference of a triad over elements [@base, @base + @n) into @out. */
void gpucheck_ref_triad(float *out, uint64_t base, size_t n);

/* CPU reference of a copy kernel: @dst[k] = @src[k]. */
void gpucheck_ref_copy(uint32_t *dst, const uint32_t *src, size_t n);

/* CPU references of one FMA-kernel output: the in-order sum of the
 * GPUCHECK_FMA_CHAINS chains of thread class @cls after @iters steps. */
float gpucheck_ref_fma32(unsigned cls, long iters);
double gpucheck_ref_fma64(unsigned cls, long iters);

/* FMA outputs: @vals[k] is the output of GPU thread @thread[k] (@thread
 * NULL: thread k); each must equal the reference of its class exactly. */
size_t gpucheck_verify_fma32(const float *vals, const uint64_t *thread,
			     size_t n, long iters, size_t *first_bad);
size_t gpucheck_verify_fma64(const double *vals, const uint64_t *thread,
			     size_t n, long iters, size_t *first_bad);

/*
 * Allowed |got - ref| for one GEMM element of inner dimension @k whose
 * exact reference is @ref and whose sum of |a*b| is @absum, with inputs of
 * type @t (already rounded to it) accumulated in FP32 (FP64 for FP64) and
 * written as FP32: 4*sqrt(k)*u_acc*absum (a probabilistic rounding bound)
 * + 4 units in the last place of @ref.
 */
double gpucheck_gemm_tolerance(gpucheck_dtype t, long k, double ref,
			       double absum);

/* GEMM samples: @got[s] vs @ref[s] within gpucheck_gemm_tolerance(). */
size_t gpucheck_verify_gemm_samples(gpucheck_dtype t, long k, const float *got,
				    const double *ref, const double *absum,
				    size_t n, size_t *first_bad);

/*
 * Exact reference of element (@row, @col) of C = A x B^T for the pattern
 * inputs (A is M x K row-major from GPUCHECK_GEMM_SEED_A, Bt is N x K
 * row-major from GPUCHECK_GEMM_SEED_B); *@absum receives sum |a*b|.
 */
double gpucheck_ref_gemm_elem(uint32_t row, uint32_t col, long k,
			      double *absum);

/* GEMM on the pattern inputs: @got[s] is element (@rows[s], @cols[s]). */
size_t gpucheck_verify_gemm(gpucheck_dtype t, long k, const float *got,
			    const uint32_t *rows, const uint32_t *cols,
			    size_t n, size_t *first_bad);

/*
 * CPU emulation of a tensor-core GEMM, for the tests: C = A x Bt^T with A
 * (m x k) and Bt (n x k) row-major floats rounded to @t first, products
 * accumulated in FP32 in steps of 16 along k (as mma.sync m16n8k16 does).
 */
void gpucheck_ref_gemm_tc(gpucheck_dtype t, const float *a, const float *bt,
			  float *c, long m, long n, long k);

/* A deterministic sample of @n element indices in [0, @count), always
 * including 0 and @count - 1, into @out (xorshift from @seed). */
void gpucheck_sample_indices(uint64_t *out, size_t n, uint64_t count,
			     uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
