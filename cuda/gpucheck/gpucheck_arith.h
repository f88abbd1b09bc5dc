/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_arith: arithmetic shared by GPU kernels and CPU references. */
#ifndef GPUCHECK_ARITH_H
#define GPUCHECK_ARITH_H

/*
 * Everything here is compiled twice: by the C compiler for the CPU
 * references and the verifier, and by nvcc for the kernels. Both must give
 * bit-identical results, so only integer operations and explicitly fused
 * multiply-adds (correctly rounded in IEEE 754 on both sides) are used.
 */
#include <stdint.h>
#include <math.h>

#ifdef __CUDACC__
#define GPUCHECK_HD static __host__ __device__ __forceinline__
#else
#define GPUCHECK_HD static inline
#endif
#ifdef __CUDA_ARCH__ /* nvcc's device pass */
#define GPUCHECK_FMAF(a, b, c) __fmaf_rn((a), (b), (c))
#define GPUCHECK_FMA(a, b, c) __fma_rn((a), (b), (c))
#else
#define GPUCHECK_FMAF(a, b, c) fmaf((a), (b), (c))
#define GPUCHECK_FMA(a, b, c) fma((a), (b), (c))
#endif

/* The 32-bit word that element @i of a bandwidth buffer filled with @seed
 * holds. Cheap enough for a memory-bound kernel; distinct for neighbours. */
GPUCHECK_HD uint32_t gpucheck_pattern_word(uint64_t i, uint32_t seed)
{
	return ((uint32_t)i * 2654435761u) ^ (uint32_t)(i >> 32) ^ seed;
}

/* The float that element @i of a triad operand filled with @seed holds:
 * exactly representable, in [1, 2). */
GPUCHECK_HD float gpucheck_pattern_float(uint64_t i, uint32_t seed)
{
	uint32_t w = gpucheck_pattern_word(i, seed);
	/* 23 random mantissa bits under exponent 0: a float in [1, 2). */
#ifdef __CUDA_ARCH__
	return __uint_as_float(0x3f800000u | (w >> 9));
#else
	union {
		uint32_t u;
		float f;
	} v;
	v.u = 0x3f800000u | (w >> 9);
	return v.f;
#endif
}

/* The triad scalar: a[i] = b[i] + GPUCHECK_TRIAD_SCALAR * c[i], fused. */
#define GPUCHECK_TRIAD_SCALAR 3.0f
#define GPUCHECK_TRIAD_SEED_B 0x0b0b0b0bu
#define GPUCHECK_TRIAD_SEED_C 0x0c0c0c0cu

/* Triad element @i: fmaf(s, c[i], b[i]) with b and c the patterns above. */
GPUCHECK_HD float gpucheck_triad_elem(uint64_t i)
{
	return GPUCHECK_FMAF(GPUCHECK_TRIAD_SCALAR,
			     gpucheck_pattern_float(i, GPUCHECK_TRIAD_SEED_C),
			     gpucheck_pattern_float(i, GPUCHECK_TRIAD_SEED_B));
}

/*
 * GEMM inputs: small integers in [-3, 3]. Every product and every partial
 * sum of a K <= 2^20 inner product is then an integer far below 2^24, so a
 * correct FP32-accumulating tensor-core GEMM is exact in any summation
 * order, and BF16 and FP16 represent the inputs exactly.
 */
GPUCHECK_HD int gpucheck_gemm_input(uint64_t i, uint32_t seed)
{
	uint32_t w = gpucheck_pattern_word(i, seed);
	w ^= w >> 15;
	w *= 0x2c1b3c6du;
	w ^= w >> 12;
	return (int)(w % 7u) - 3;
}
#define GPUCHECK_GEMM_SEED_A 0x0000a000u
#define GPUCHECK_GEMM_SEED_B 0x0000b000u

/*
 * FMA chains: x <- fma(x, a, b), iterated; the fixed point b / (1 - a) is 1
 * and a start in [1, 2) stays in [1, 2), so no overflow or subnormals.
 * Each GPU thread runs GPUCHECK_FMA_CHAINS chains whose start depends only
 * on (thread index mod GPUCHECK_FMA_CLASSES) and the chain, and stores the
 * in-order sum of its chains: the whole output has GPUCHECK_FMA_CLASSES
 * distinct values, each reproducible on the CPU.
 */
#define GPUCHECK_FMA_CHAINS 8
#define GPUCHECK_FMA_CLASSES 4
#define GPUCHECK_FMA_A32 0.99993896484375f /* 1 - 2^-14 */
#define GPUCHECK_FMA_B32 0.00006103515625f /* 2^-14 */
#define GPUCHECK_FMA_A64 0.99993896484375
#define GPUCHECK_FMA_B64 0.00006103515625

/* Start of chain @chain for thread class @cls. */
GPUCHECK_HD double gpucheck_fma_start(unsigned cls, unsigned chain)
{
	return 1.0 + (double)(cls * GPUCHECK_FMA_CHAINS + chain) /
			 (double)(GPUCHECK_FMA_CLASSES * GPUCHECK_FMA_CHAINS);
}

#endif
