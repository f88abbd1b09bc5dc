// SPDX-License-Identifier: GPL-2.0-or-later
// backend_cuda: the project's GPU kernels (HBM, GEMM, FMA, links) and their driver.
//
// Every kernel's output is verified: on the device over every element
// (pattern checks, GEMM column checksums, FMA tables) and on the host over
// sampled elements with the shared code of gpucheck_verify.c. All logic
// beyond launching and timing lives in the plain-C core.
//
// GEMM: on Hopper (the default there) TMA + wgmma, at cuBLAS's rate on
// H100 and H200; elsewhere, or with --mma-sync, mma.sync (m16n8k16) with
// ldmatrix and a cp.async pipeline, which runs on sm_80 and sm_90 alike
// (0.42 of cuBLAS on an H100). Measured figures: docs/gpucheck.md.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>
#include <cublas_v2.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpucheck_arith.h"
#include "gpucheck_cuda.h"
#include "gpucheck_gemm_layout.h"
#include "gpucheck_verify.h"

namespace {

// ---- errors and RAII ----------------------------------------------------

struct Fail {
	char *buf;
	size_t len;
};

// Records the first failure of a CUDA call into @f; returns false on error.
bool ok(Fail &f, cudaError_t e, const char *what)
{
	if (e == cudaSuccess)
		return true;
	if (f.buf && !f.buf[0])
		snprintf(f.buf, f.len, "%s: %s (%s)", what,
			 cudaGetErrorString(e), cudaGetErrorName(e));
	return false;
}

bool ok(Fail &f, cublasStatus_t s, const char *what)
{
	if (s == CUBLAS_STATUS_SUCCESS)
		return true;
	if (f.buf && !f.buf[0])
		snprintf(f.buf, f.len, "%s: cuBLAS status %d", what, (int)s);
	return false;
}

#define CK(f, call)                                                            \
	do {                                                                   \
		if (!ok((f), (call), #call))                                   \
			return false;                                          \
	} while (0)

// A device allocation freed on scope exit.
struct DevBuf {
	void *p = nullptr;
	~DevBuf()
	{
		if (p)
			cudaFree(p);
	}
	template <typename T> T *as() const
	{
		return static_cast<T *>(p);
	}
};

struct HostBuf {
	void *p = nullptr;
	~HostBuf()
	{
		if (p)
			cudaFreeHost(p);
	}
	template <typename T> T *as() const
	{
		return static_cast<T *>(p);
	}
};

struct Events {
	cudaEvent_t a = nullptr, b = nullptr;
	~Events()
	{
		if (a)
			cudaEventDestroy(a);
		if (b)
			cudaEventDestroy(b);
	}
};

struct Stream {
	cudaStream_t s = nullptr;
	~Stream()
	{
		if (s)
			cudaStreamDestroy(s);
	}
};

struct Blas {
	cublasHandle_t h = nullptr;
	~Blas()
	{
		if (h)
			cublasDestroy(h);
	}
};

// ---- bandwidth kernels --------------------------------------------------

// Fills @n 16-byte vectors with the word pattern of @seed (the write kernel).
__global__ void k_fill_words(uint4 *buf, size_t n, uint32_t seed)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x; v < n;
	     v += stride) {
		uint64_t i = 4 * (uint64_t)v;
		buf[v] = make_uint4(gpucheck_pattern_word(i, seed),
				    gpucheck_pattern_word(i + 1, seed),
				    gpucheck_pattern_word(i + 2, seed),
				    gpucheck_pattern_word(i + 3, seed));
	}
}

__device__ __forceinline__ unsigned bad_words(uint4 w, uint64_t i,
					      uint32_t seed)
{
	return (w.x != gpucheck_pattern_word(i, seed)) +
	       (w.y != gpucheck_pattern_word(i + 1, seed)) +
	       (w.z != gpucheck_pattern_word(i + 2, seed)) +
	       (w.w != gpucheck_pattern_word(i + 3, seed));
}

// Reads every word and counts those that differ from the pattern (the
// read kernel, and the full verifier of every buffer of words).
__global__ void k_read_verify(const uint4 *__restrict__ buf, size_t n,
			      uint32_t seed, unsigned long long *bad)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	unsigned long long mine = 0;

	for (; v + 3 * stride < n; v += 4 * stride) {
		uint4 a = buf[v], b = buf[v + stride], c = buf[v + 2 * stride],
		      d = buf[v + 3 * stride];
		mine += bad_words(a, 4 * (uint64_t)v, seed);
		mine += bad_words(b, 4 * (uint64_t)(v + stride), seed);
		mine += bad_words(c, 4 * (uint64_t)(v + 2 * stride), seed);
		mine += bad_words(d, 4 * (uint64_t)(v + 3 * stride), seed);
	}
	for (; v < n; v += stride)
		mine += bad_words(buf[v], 4 * (uint64_t)v, seed);
	if (mine)
		atomicAdd(bad, mine);
}

__device__ __forceinline__ uint32_t xor4(uint4 w)
{
	return w.x ^ w.y ^ w.z ^ w.w;
}

// XOR of the 32 lanes' @x into *@out (every lane must arrive here).
__device__ __forceinline__ void warp_xor_out(uint32_t x, unsigned *out)
{
	for (int o = 16; o > 0; o /= 2)
		x ^= __shfl_xor_sync(0xffffffffu, x, o);
	if ((threadIdx.x & 31) == 0 && x)
		atomicXor(out, x);
}

// The timed read kernel: XOR of every word into *@out, one operation per
// word so that it stays memory-bound; checked against the CPU's
// gpucheck_ref_pattern_xor().
__global__ void k_read_xor(const uint4 *__restrict__ buf, size_t n,
			   unsigned *out)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	uint32_t x = 0;

	for (; v + 3 * stride < n; v += 4 * stride) {
		uint4 a = buf[v], b = buf[v + stride], c = buf[v + 2 * stride],
		      d = buf[v + 3 * stride];
		x ^= xor4(a) ^ xor4(b) ^ xor4(c) ^ xor4(d);
	}
	for (; v < n; v += stride)
		x ^= xor4(buf[v]);
	warp_xor_out(x, out);
}

__global__ void k_copy(uint4 *__restrict__ dst, const uint4 *__restrict__ src,
		       size_t n)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	for (; v + 3 * stride < n; v += 4 * stride) {
		uint4 a = src[v], b = src[v + stride], c = src[v + 2 * stride],
		      d = src[v + 3 * stride];
		dst[v] = a;
		dst[v + stride] = b;
		dst[v + 2 * stride] = c;
		dst[v + 3 * stride] = d;
	}
	for (; v < n; v += stride)
		dst[v] = src[v];
}

__global__ void k_fill_floats(float4 *buf, size_t n, uint32_t seed)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x; v < n;
	     v += stride) {
		uint64_t i = 4 * (uint64_t)v;
		buf[v] = make_float4(gpucheck_pattern_float(i, seed),
				     gpucheck_pattern_float(i + 1, seed),
				     gpucheck_pattern_float(i + 2, seed),
				     gpucheck_pattern_float(i + 3, seed));
	}
}

__device__ __forceinline__ float4 triad4(float4 b, float4 c)
{
	const float s = GPUCHECK_TRIAD_SCALAR;
	return make_float4(__fmaf_rn(s, c.x, b.x), __fmaf_rn(s, c.y, b.y),
			   __fmaf_rn(s, c.z, b.z), __fmaf_rn(s, c.w, b.w));
}

// a = b + s * c, fused exactly as gpucheck_triad_elem() computes it.
__global__ void k_triad(float4 *__restrict__ a, const float4 *__restrict__ b,
			const float4 *__restrict__ c, size_t n)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x;

	for (; v + stride < n; v += 2 * stride) {
		float4 b0 = b[v], c0 = c[v], b1 = b[v + stride],
		       c1 = c[v + stride];
		a[v] = triad4(b0, c0);
		a[v + stride] = triad4(b1, c1);
	}
	for (; v < n; v += stride)
		a[v] = triad4(b[v], c[v]);
}

__global__ void k_triad_verify(const float4 *__restrict__ a, size_t n,
			       unsigned long long *bad)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	unsigned long long mine = 0;

	for (size_t v = blockIdx.x * (size_t)blockDim.x + threadIdx.x; v < n;
	     v += stride) {
		float4 x = a[v];
		uint64_t i = 4 * (uint64_t)v;
		mine += __float_as_uint(x.x) !=
			__float_as_uint(gpucheck_triad_elem(i));
		mine += __float_as_uint(x.y) !=
			__float_as_uint(gpucheck_triad_elem(i + 1));
		mine += __float_as_uint(x.z) !=
			__float_as_uint(gpucheck_triad_elem(i + 2));
		mine += __float_as_uint(x.w) !=
			__float_as_uint(gpucheck_triad_elem(i + 3));
	}
	if (mine)
		atomicAdd(bad, mine);
}

// Gathers @n 32-bit words at @idx for the host-side sampled check.
__global__ void k_gather32(const uint32_t *src, const uint64_t *idx,
			   uint32_t *out, size_t n)
{
	size_t s = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	if (s < n)
		out[s] = src[idx[s]];
}

// --plant-fault: flips one bit of one 32-bit element.
__global__ void k_plant(uint32_t *buf, uint64_t i)
{
	buf[i] ^= 0x00010000u;
}

// --plant-fault for GEMM outputs: adds 1 to one element (a bit flip of an
// element that happens to be 0 would only make a subnormal).
__global__ void k_plant_add(float *buf, uint64_t i)
{
	buf[i] += 1.0f;
}

// ---- tensor-core GEMM (mma.sync m16n8k16, FP32 accumulate) -------------

constexpr int BM = GPUCHECK_BM, BN = GPUCHECK_BN, BK = GPUCHECK_BK;
constexpr int STAGES = GPUCHECK_GEMM_STAGES, GTHREADS = GPUCHECK_GEMM_THREADS;
constexpr size_t GEMM_SMEM = (size_t)STAGES * (BM + BN) * BK * 2;

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem)
{
	unsigned s = (unsigned)__cvta_generic_to_shared(smem);
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s),
		     "l"(gmem));
}

__device__ __forceinline__ void cp_async_commit()
{
	asm volatile("cp.async.commit_group;\n" ::);
}

template <int N> __device__ __forceinline__ void cp_async_wait()
{
	asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(unsigned r[4], const void *smem)
{
	unsigned s = (unsigned)__cvta_generic_to_shared(smem);
	asm volatile(
		"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
		: "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		: "r"(s));
}

template <bool BF16>
__device__ __forceinline__ void mma16816(float d[4], const unsigned a[4],
					 const unsigned b[2])
{
	if (BF16)
		asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16."
			     "f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
			     "{%0,%1,%2,%3};\n"
			     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
			     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]),
			       "r"(b[0]), "r"(b[1]));
	else
		asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16."
			     "f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
			     "{%0,%1,%2,%3};\n"
			     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
			     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]),
			       "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ int swz(int row, int ch)
{
	return gpucheck_gemm_swz(row, ch);
}

__device__ __forceinline__ void gemm_load_stage(uint16_t *as, uint16_t *bs,
						const uint16_t *ag,
						const uint16_t *bg, int K,
						int tid)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		int row, ch;
		gpucheck_gemm_load_chunk(tid, i, &row, &ch);
		cp_async16(as + swz(row, ch), ag + (size_t)row * K + ch * 8);
		cp_async16(bs + swz(row, ch), bg + (size_t)row * K + ch * 8);
	}
}

// C (M x N, FP32, row-major) = A (M x K, row-major) x Bt (N x K,
// row-major)^T, in BF16 or FP16. M, N multiples of 128, K of 32. A block
// computes a 128x128 tile with four warps of 64x64.
template <bool BF16>
__global__ void __launch_bounds__(GTHREADS)
	k_gemm_tc(const uint16_t *__restrict__ A, const uint16_t *__restrict__ Bt,
		  float *__restrict__ C, int M, int N, int K)
{
	extern __shared__ __align__(128) uint16_t smem[];
	uint16_t *sA = smem;
	uint16_t *sB = smem + STAGES * BM * BK;
	const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
	const int wm = warp >> 1, wn = warp & 1;
	const uint16_t *Ab = A + (size_t)blockIdx.y * BM * K;
	const uint16_t *Bb = Bt + (size_t)blockIdx.x * BN * K;
	const int KT = K / BK;
	float acc[4][8][4];

#pragma unroll
	for (int mi = 0; mi < 4; mi++)
#pragma unroll
		for (int ni = 0; ni < 8; ni++)
#pragma unroll
			for (int r = 0; r < 4; r++)
				acc[mi][ni][r] = 0.0f;

#pragma unroll
	for (int s = 0; s < STAGES - 1; s++) {
		if (s < KT)
			gemm_load_stage(sA + s * BM * BK, sB + s * BN * BK,
					Ab + s * BK, Bb + s * BK, K, tid);
		cp_async_commit();
	}
	for (int kt = 0; kt < KT; kt++) {
		cp_async_wait<STAGES - 2>();
		__syncthreads();
		// Refill the stage every warp finished with last iteration.
		int nk = kt + STAGES - 1;
		if (nk < KT) {
			int st = nk % STAGES;
			gemm_load_stage(sA + st * BM * BK, sB + st * BN * BK,
					Ab + nk * BK, Bb + nk * BK, K, tid);
		}
		cp_async_commit();
		const uint16_t *as = sA + (kt % STAGES) * BM * BK;
		const uint16_t *bs = sB + (kt % STAGES) * BN * BK;
#pragma unroll
		for (int kk = 0; kk < BK / 16; kk++) {
			unsigned af[4][4], bf[8][2];
#pragma unroll
			for (int mi = 0; mi < 4; mi++) {
				int row, ch;
				gpucheck_gemm_ldm_a(lane, wm, mi, kk, &row,
						    &ch);
				ldmatrix_x4(af[mi], as + swz(row, ch));
			}
#pragma unroll
			for (int nj = 0; nj < 4; nj++) {
				unsigned r[4];
				int row, ch;
				gpucheck_gemm_ldm_b(lane, wn, nj, kk, &row,
						    &ch);
				ldmatrix_x4(r, bs + swz(row, ch));
				bf[2 * nj][0] = r[0];
				bf[2 * nj][1] = r[1];
				bf[2 * nj + 1][0] = r[2];
				bf[2 * nj + 1][1] = r[3];
			}
#pragma unroll
			for (int mi = 0; mi < 4; mi++)
#pragma unroll
				for (int ni = 0; ni < 8; ni++)
					mma16816<BF16>(acc[mi][ni], af[mi],
						       bf[ni]);
		}
	}
	cp_async_wait<0>();

#pragma unroll
	for (int mi = 0; mi < 4; mi++) {
#pragma unroll
		for (int ni = 0; ni < 8; ni++) {
			int row, col;
			gpucheck_gemm_c_coord(lane, wm, wn, mi, ni, 0, &row,
					      &col);
			size_t r0 = (size_t)blockIdx.y * BM + row;
			size_t c0 = (size_t)blockIdx.x * BN + col;
			// Elements 0,1 at (row, col..col+1); 2,3 eight rows down.
			*reinterpret_cast<float2 *>(&C[r0 * N + c0]) =
				make_float2(acc[mi][ni][0], acc[mi][ni][1]);
			*reinterpret_cast<float2 *>(&C[(r0 + 8) * N + c0]) =
				make_float2(acc[mi][ni][2], acc[mi][ni][3]);
		}
	}
}

// ---- Hopper GEMM: TMA + wgmma (sm_90a; the default on Hopper) ------------
//
// A block computes 128 x 256 of C: warpgroup 0 issues TMA loads of 128x64
// A and 256x64 Bt tiles (128-byte swizzle) into a 4-stage ring guarded by
// mbarriers; warpgroups 1 and 2 each run wgmma.m64n256k16 on 64 rows,
// keeping one k-tile's wgmma batch in flight while the next is issued (a
// stage is handed back to the producer only once the batch reading it has
// retired). Blocks are rasterised in groups of WG_GROUP_M row-blocks so
// that the tiles one wave reads stay in L2.

constexpr int WG_BM = 128, WG_BN = 256, WG_BK = 64, WG_STAGES = 4;
constexpr int WG_THREADS = 384;
#ifndef WG_GROUP_M
#define WG_GROUP_M 16
#endif
constexpr size_t WG_TILE_A = (size_t)WG_BM * WG_BK; // elements
constexpr size_t WG_TILE_B = (size_t)WG_BN * WG_BK;
constexpr size_t WG_SMEM = 1024 + WG_STAGES * (WG_TILE_A + WG_TILE_B) * 2 +
			   2 * WG_STAGES * sizeof(uint64_t);

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define GPUCHECK_HAVE_WGMMA 1

__device__ __forceinline__ uint32_t smem_u32(const void *p)
{
	return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void mbar_init(uint64_t *bar, uint32_t count)
{
	asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(
			     smem_u32(bar)),
		     "r"(count)
		     : "memory");
}

// Returns the barrier state token (unused by the callers).
__device__ __forceinline__ uint64_t mbar_expect_tx(uint64_t *bar,
						   uint32_t bytes)
{
	uint64_t state;
	asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 %0, [%1], %2;\n"
		     : "=l"(state)
		     : "r"(smem_u32(bar)), "r"(bytes)
		     : "memory");
	return state;
}

__device__ __forceinline__ uint64_t mbar_arrive(uint64_t *bar)
{
	uint64_t state;
	asm volatile("mbarrier.arrive.shared::cta.b64 %0, [%1];\n"
		     : "=l"(state)
		     : "r"(smem_u32(bar))
		     : "memory");
	return state;
}

// Waits until the phase of parity @parity of @bar has completed.
__device__ __forceinline__ void mbar_wait(uint64_t *bar, uint32_t parity)
{
	uint32_t done;
	do {
		asm volatile("{\n"
			     ".reg .pred p;\n"
			     "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], "
			     "%2;\n"
			     "selp.u32 %0, 1, 0, p;\n"
			     "}\n"
			     : "=r"(done)
			     : "r"(smem_u32(bar)), "r"(parity)
			     : "memory");
	} while (!done);
}

// TMA: the box at (@x = k, @y = row) of @tm into @dst, completing on @bar.
__device__ __forceinline__ void tma_load_2d(void *dst, const CUtensorMap *tm,
					    int x, int y, uint64_t *bar)
{
	asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile."
		     "mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], "
		     "[%4];\n" ::"r"(smem_u32(dst)),
		     "l"((uint64_t)tm), "r"(x), "r"(y), "r"(smem_u32(bar))
		     : "memory");
}

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row core
// groups 1024 bytes apart.
__device__ __forceinline__ uint64_t wg_desc(const void *p)
{
	uint64_t a = smem_u32(p);
	return ((a & 0x3ffff) >> 4) | ((uint64_t)(16 >> 4) << 16) |
	       ((uint64_t)(1024 >> 4) << 32) | (1ull << 62);
}

// One wgmma.m64n256k16 (BF16 or F16 in, FP32 accumulate), both operands
// K-major in shared memory (descriptors @da, @db): D += A x B. DT names the
// input type in PTX; the 128 accumulators are the same for both.
#define WGMMA_M64N256K16_ASM(DT)                                              \
	"{\n" \
		".reg .pred p;\n" \
		"setp.ne.b32 p, %130, 0;\n" \
		"wgmma.mma_async.sync.aligned.m64n256k16.f32." DT "." DT " " \
		"{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, " \
		"%128, %129, p, 1, 1, 0, 0;\n" \
		"}\n" \
		: "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[0][4]), "+f"(d[0][5]), "+f"(d[0][6]), "+f"(d[0][7]), \
		  "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[1][4]), "+f"(d[1][5]), "+f"(d[1][6]), "+f"(d[1][7]), \
		  "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[2][4]), "+f"(d[2][5]), "+f"(d[2][6]), "+f"(d[2][7]), \
		  "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[3][4]), "+f"(d[3][5]), "+f"(d[3][6]), "+f"(d[3][7]), \
		  "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[4][4]), "+f"(d[4][5]), "+f"(d[4][6]), "+f"(d[4][7]), \
		  "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[5][4]), "+f"(d[5][5]), "+f"(d[5][6]), "+f"(d[5][7]), \
		  "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[6][4]), "+f"(d[6][5]), "+f"(d[6][6]), "+f"(d[6][7]), \
		  "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[7][4]), "+f"(d[7][5]), "+f"(d[7][6]), "+f"(d[7][7]), \
		  "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[8][4]), "+f"(d[8][5]), "+f"(d[8][6]), "+f"(d[8][7]), \
		  "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[9][4]), "+f"(d[9][5]), "+f"(d[9][6]), "+f"(d[9][7]), \
		  "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[10][4]), "+f"(d[10][5]), "+f"(d[10][6]), "+f"(d[10][7]), \
		  "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[11][4]), "+f"(d[11][5]), "+f"(d[11][6]), "+f"(d[11][7]), \
		  "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[12][4]), "+f"(d[12][5]), "+f"(d[12][6]), "+f"(d[12][7]), \
		  "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[13][4]), "+f"(d[13][5]), "+f"(d[13][6]), "+f"(d[13][7]), \
		  "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[14][4]), "+f"(d[14][5]), "+f"(d[14][6]), "+f"(d[14][7]), \
		  "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3]), "+f"(d[15][4]), "+f"(d[15][5]), "+f"(d[15][6]), "+f"(d[15][7]) \
		: "l"(da), "l"(db), "r"(1)                                    \
		: "memory"

template <bool BF16>
__device__ __forceinline__ void wgmma_m64n256k16(float d[16][8], uint64_t da,
						 uint64_t db)
{
	if (BF16)
		asm volatile(WGMMA_M64N256K16_ASM("bf16"));
	else
		asm volatile(WGMMA_M64N256K16_ASM("f16"));
}

#endif

template <bool BF16>
__global__ void __launch_bounds__(WG_THREADS, 1)
	k_gemm_wgmma(const __grid_constant__ CUtensorMap tmA,
		     const __grid_constant__ CUtensorMap tmB,
		     float *__restrict__ C, int M, int N, int K)
{
#ifdef GPUCHECK_HAVE_WGMMA
	extern __shared__ __align__(1024) uint8_t wg_smem[];
	uint8_t *base = wg_smem + ((1024 - (smem_u32(wg_smem) & 1023)) & 1023);
	uint16_t *sA = reinterpret_cast<uint16_t *>(base);
	uint16_t *sB = sA + WG_STAGES * WG_TILE_A;
	uint64_t *full = reinterpret_cast<uint64_t *>(sB + WG_STAGES * WG_TILE_B);
	uint64_t *empty = full + WG_STAGES;
	const int wg = threadIdx.x / 128, tid = threadIdx.x % 128;
	// Grouped raster: WG_GROUP_M row-blocks share a column sweep.
	const int nbn = N / WG_BN, nbm = M / WG_BM;
	const int per_group = WG_GROUP_M * nbn;
	const int first_m = (int)blockIdx.x / per_group * WG_GROUP_M;
	const int gsz = min(nbm - first_m, WG_GROUP_M);
	const int in_group = (int)blockIdx.x % per_group;
	const int bm = first_m + in_group % gsz, bn = in_group / gsz;
	const int KT = K / WG_BK;

	if (threadIdx.x == 0) {
		for (int s = 0; s < WG_STAGES; s++) {
			mbar_init(&full[s], 1);
			mbar_init(&empty[s], 2 * 128);
		}
		asm volatile("fence.mbarrier_init.release.cluster;\n" ::
				     : "memory");
		asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
	}
	__syncthreads();

	if (wg == 0) { // producer
		asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
		if (tid == 0) {
			for (int kt = 0; kt < KT; kt++) {
				int s = kt % WG_STAGES, r = kt / WG_STAGES;
				if (r > 0)
					mbar_wait(&empty[s], (r - 1) & 1);
				mbar_expect_tx(&full[s], (uint32_t)((WG_TILE_A +
								     WG_TILE_B) *
								    2));
				tma_load_2d(sA + s * WG_TILE_A, &tmA,
					    kt * WG_BK, bm * WG_BM, &full[s]);
				tma_load_2d(sB + s * WG_TILE_B, &tmB,
					    kt * WG_BK, bn * WG_BN, &full[s]);
			}
		}
		return;
	}
	asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
	const int c = wg - 1; // rows 64c .. 64c+63 of the block tile
	float d[16][8];
#pragma unroll
	for (int w = 0; w < 16; w++)
#pragma unroll
		for (int j = 0; j < 8; j++)
			d[w][j] = 0.0f;
	for (int kt = 0; kt < KT; kt++) {
		int s = kt % WG_STAGES, r = kt / WG_STAGES;
		mbar_wait(&full[s], r & 1);
		asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
		for (int k16 = 0; k16 < WG_BK / 16; k16++) {
			uint64_t da = wg_desc(sA + s * WG_TILE_A +
					      c * 64 * WG_BK + k16 * 16);
			uint64_t db = wg_desc(sB + s * WG_TILE_B + k16 * 16);
			wgmma_m64n256k16<BF16>(d, da, db);
		}
		asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
		// The previous k-tile's batch has retired: its stage is free.
		asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
		if (kt > 0)
			mbar_arrive(&empty[(kt - 1) % WG_STAGES]);
	}
	asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
	// Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15;
	// d[n16][0,1] at (g, 16 n16 + 2t), [2,3] at g + 8, [4..7] 8 columns on.
	const int warp = tid / 32, lane = tid % 32;
	const size_t row = (size_t)bm * WG_BM + c * 64 + warp * 16 + lane / 4;
	const size_t col0 = (size_t)bn * WG_BN + 2 * (lane % 4);
#pragma unroll
	for (int w = 0; w < 16; w++) {
		size_t col = col0 + 16 * w;
		*reinterpret_cast<float2 *>(&C[row * N + col]) =
			make_float2(d[w][0], d[w][1]);
		*reinterpret_cast<float2 *>(&C[(row + 8) * N + col]) =
			make_float2(d[w][2], d[w][3]);
		*reinterpret_cast<float2 *>(&C[row * N + col + 8]) =
			make_float2(d[w][4], d[w][5]);
		*reinterpret_cast<float2 *>(&C[(row + 8) * N + col + 8]) =
			make_float2(d[w][6], d[w][7]);
	}
#else
	(void)tmA;
	(void)tmB;
	(void)C;
	(void)M;
	(void)N;
	(void)K;
#endif
}

// GEMM inputs: the integers of gpucheck_gemm_input() as BF16 or FP16 bits.
template <bool BF16>
__global__ void k_fill_gemm(uint16_t *p, size_t n, uint32_t seed)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += stride) {
		float v = (float)gpucheck_gemm_input(i, seed);
		p[i] = BF16 ? __bfloat16_as_ushort(__float2bfloat16_rn(v))
			    : __half_as_ushort(__float2half_rn(v));
	}
}

// Checksum reference: rs[k] = sum_i A[i][k], from the pattern (so a
// corrupted input in memory shows up too). Exact in FP64.
__global__ void k_colsum_a(double *rs, int M, int K)
{
	int k = blockIdx.x * blockDim.x + threadIdx.x;
	if (k >= K)
		return;
	double s = 0;
	for (int i = 0; i < M; i++)
		s += gpucheck_gemm_input((uint64_t)i * K + k,
					 GPUCHECK_GEMM_SEED_A);
	rs[k] = s;
}

// ex[j] = sum_k rs[k] * Bt[j][k]: the exact column sums of C. One block per
// column, 256 threads.
__global__ void k_expected_colsum(const double *rs, double *ex, int K)
{
	__shared__ double part[256];
	int j = blockIdx.x;
	double s = 0;

	for (int k = threadIdx.x; k < K; k += blockDim.x)
		s += rs[k] * gpucheck_gemm_input((uint64_t)j * K + k,
						 GPUCHECK_GEMM_SEED_B);
	part[threadIdx.x] = s;
	__syncthreads();
	for (int w = blockDim.x / 2; w > 0; w /= 2) {
		if ((int)threadIdx.x < w)
			part[threadIdx.x] += part[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		ex[j] = part[0];
}

// Counts columns of C whose FP64 sum differs from the exact one. Every
// element of C is an integer below 2^17 and every column sum below 2^30,
// so the sums are exact and any changed element changes its column's.
__global__ void k_check_colsum(const float *C, const double *ex, int M, int N,
			       unsigned long long *bad)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= N)
		return;
	double s = 0;
	for (int i = 0; i < M; i++)
		s += (double)C[(size_t)i * N + j];
	if (s != ex[j])
		atomicAdd(bad, 1ull);
}

__global__ void k_gather_c(const float *C, const uint32_t *rows,
			   const uint32_t *cols, int N, float *out, int n)
{
	int s = blockIdx.x * blockDim.x + threadIdx.x;
	if (s < n)
		out[s] = C[(size_t)rows[s] * N + cols[s]];
}

// ---- FMA chains ---------------------------------------------------------

constexpr long FMA_ITERS = 65536;

template <typename T> __device__ __forceinline__ T fma_rn(T x, T a, T b);
template <> __device__ __forceinline__ float fma_rn(float x, float a, float b)
{
	return __fmaf_rn(x, a, b);
}
template <>
__device__ __forceinline__ double fma_rn(double x, double a, double b)
{
	return __fma_rn(x, a, b);
}

// Each thread runs GPUCHECK_FMA_CHAINS independent chains of @iters fused
// multiply-adds and stores their in-order sum (gpucheck_ref_fma32/64).
template <typename T>
__global__ void k_fma(T *out, long iters, T a, T b)
{
	size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
	unsigned cls = (unsigned)(t % GPUCHECK_FMA_CLASSES);
	T x[GPUCHECK_FMA_CHAINS], s = 0;

#pragma unroll
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		x[c] = (T)gpucheck_fma_start(cls, (unsigned)c);
#pragma unroll 4
	for (long i = 0; i < iters; i++) {
#pragma unroll
		for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
			x[c] = fma_rn(x[c], a, b);
	}
#pragma unroll
	for (int c = 0; c < GPUCHECK_FMA_CHAINS; c++)
		s += x[c];
	out[t] = s;
}

__device__ __forceinline__ bool same_bits(float a, float b)
{
	return __float_as_uint(a) == __float_as_uint(b);
}

__device__ __forceinline__ bool same_bits(double a, double b)
{
	return __double_as_longlong(a) == __double_as_longlong(b);
}

template <typename T> struct RefTable {
	T v[GPUCHECK_FMA_CLASSES];
};

template <typename T>
__global__ void k_fma_verify(const T *out, size_t n, RefTable<T> ref,
			     unsigned long long *bad)
{
	size_t stride = (size_t)gridDim.x * blockDim.x;
	unsigned long long mine = 0;
	for (size_t t = blockIdx.x * (size_t)blockDim.x + threadIdx.x; t < n;
	     t += stride)
		mine += !same_bits(out[t], ref.v[t % GPUCHECK_FMA_CLASSES]);
	if (mine)
		atomicAdd(bad, mine);
}

// ---- host side ----------------------------------------------------------

struct Dev {
	int gpu;
	int sms;
	int cc_major;
	Fail f;
	const gpucheck_plan *plan;
	gpucheck_measure *m;
	cudaStream_t st;
	unsigned long long *d_bad; // one device counter
};

bool time_start(Dev &d, Events &ev)
{
	CK(d.f, cudaEventRecord(ev.a, d.st));
	return true;
}

// Milliseconds since time_start().
bool time_stop(Dev &d, Events &ev, float *ms)
{
	CK(d.f, cudaEventRecord(ev.b, d.st));
	CK(d.f, cudaEventSynchronize(ev.b));
	CK(d.f, cudaEventElapsedTime(ms, ev.a, ev.b));
	return true;
}

bool reset_bad(Dev &d)
{
	CK(d.f, cudaMemsetAsync(d.d_bad, 0, sizeof(*d.d_bad), d.st));
	return true;
}

bool read_bad(Dev &d, unsigned long long *bad)
{
	CK(d.f, cudaMemcpyAsync(bad, d.d_bad, sizeof(*bad),
				cudaMemcpyDeviceToHost, d.st));
	CK(d.f, cudaStreamSynchronize(d.st));
	return true;
}

// A copy ordered on the check's own stream, finished on return. Never
// plain cudaMemcpy here: it runs on the legacy default stream, which a
// non-blocking stream does not wait for, and from pageable memory it may
// return before the data reach the device (a race that showed on an H100
// time-sliced with another process: the sampled check read a half-copied
// index table and reported wrong results).
cudaError_t copy_sync(Dev &d, void *dst, const void *src, size_t n,
		      cudaMemcpyKind kind)
{
	cudaError_t e = cudaMemcpyAsync(dst, src, n, kind, d.st);
	return e != cudaSuccess ? e : cudaStreamSynchronize(d.st);
}

int grid_for(const Dev &d)
{
	return d.sms * 8; // 8 blocks of 256 threads fill an SM
}

bool planted(const Dev &d, const char *kernel)
{
	return d.plan->plant_fault[0] && d.plan->plant_gpu == d.gpu &&
	       strcmp(d.plan->plant_fault, kernel) == 0;
}

// Host check of sampled words of @buf (device) against @seed.
bool sample_words(Dev &d, const uint32_t *buf, uint64_t nwords, uint32_t seed,
		  long long *bad)
{
	size_t n = (size_t)d.plan->samples;
	uint64_t *idx = (uint64_t *)malloc(n * sizeof(uint64_t));
	uint32_t *vals = (uint32_t *)malloc(n * sizeof(uint32_t));
	DevBuf didx, dvals;
	bool good = idx && vals;

	if (good) {
		gpucheck_sample_indices(idx, n, nwords, seed ^ 0x5a5a5a5au);
		good = ok(d.f, cudaMalloc(&didx.p, n * 8), "cudaMalloc") &&
		       ok(d.f, cudaMalloc(&dvals.p, n * 4), "cudaMalloc") &&
		       ok(d.f, cudaMemcpyAsync(didx.p, idx, n * 8,
					       cudaMemcpyHostToDevice, d.st),
			  "cudaMemcpy samples");
		if (good) {
			k_gather32<<<(unsigned)((n + 255) / 256), 256, 0,
				     d.st>>>(buf, didx.as<uint64_t>(),
					     dvals.as<uint32_t>(), n);
			good = ok(d.f, cudaGetLastError(), "k_gather32") &&
			       ok(d.f, cudaMemcpyAsync(vals, dvals.p, n * 4,
						       cudaMemcpyDeviceToHost,
						       d.st),
				  "cudaMemcpy samples") &&
			       ok(d.f, cudaStreamSynchronize(d.st), "sync");
		}
		if (good)
			*bad += (long long)gpucheck_verify_words(
				vals, idx, 0, n, seed, NULL);
	} else if (d.f.buf && !d.f.buf[0]) {
		snprintf(d.f.buf, d.f.len, "out of host memory");
	}
	free(idx);
	free(vals);
	return good;
}

// Full device check plus host samples of a word buffer; adds to metric @k.
bool verify_words(Dev &d, const uint4 *buf, size_t nvec, uint32_t seed,
		  gpucheck_metric k)
{
	unsigned long long bad = 0;
	long long sbad = 0;

	if (!reset_bad(d))
		return false;
	k_read_verify<<<grid_for(d), 256, 0, d.st>>>(buf, nvec, seed, d.d_bad);
	CK(d.f, cudaGetLastError());
	if (!read_bad(d, &bad) ||
	    !sample_words(d, (const uint32_t *)buf, 4 * (uint64_t)nvec, seed,
			  &sbad))
		return false;
	d.m->checked[k] += (long long)(4 * nvec);
	d.m->mismatches[k] += (long long)bad > sbad ? (long long)bad : sbad;
	return true;
}

void set_value(Dev &d, gpucheck_metric k, double v)
{
	d.m->measured[k] = 1;
	d.m->value[k] = v;
}

bool run_hbm(Dev &d)
{
	const size_t bytes = d.plan->hbm_bytes & ~(size_t)15;
	const size_t nvec = bytes / 16;
	const int reps = d.plan->hbm_reps > 0 ? d.plan->hbm_reps : 1;
	const uint32_t seed = 0x1234abcdu ^ (uint32_t)d.gpu;
	DevBuf a, b, c;
	Events ev;
	float ms, best;

	CK(d.f, cudaEventCreate(&ev.a));
	CK(d.f, cudaEventCreate(&ev.b));
	CK(d.f, cudaMalloc(&a.p, bytes));
	CK(d.f, cudaMalloc(&b.p, bytes));
	CK(d.f, cudaMalloc(&c.p, bytes));

	// Write: fill a with the pattern.
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev))
			return false;
		k_fill_words<<<grid_for(d), 256, 0, d.st>>>(a.as<uint4>(), nvec,
							   seed);
		CK(d.f, cudaGetLastError());
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best) // r == 0 warms up
			best = ms;
	}
	set_value(d, GPUCHECK_HBM_WRITE, bytes / (best * 1e-3) / 1e12);
	if (planted(d, "hbm_write")) {
		k_plant<<<1, 1, 0, d.st>>>(a.as<uint32_t>(), nvec * 2 + 7);
		CK(d.f, cudaGetLastError());
	}

	// What the write kernel wrote: every word, counted (untimed).
	unsigned long long first_bad = 0;
	if (!reset_bad(d))
		return false;
	k_read_verify<<<grid_for(d), 256, 0, d.st>>>(a.as<uint4>(), nvec, seed,
						    d.d_bad);
	CK(d.f, cudaGetLastError());
	if (!read_bad(d, &first_bad))
		return false;
	d.m->checked[GPUCHECK_HBM_WRITE] += (long long)(4 * nvec);
	d.m->mismatches[GPUCHECK_HBM_WRITE] += (long long)first_bad;
	{
		long long sbad = 0;
		if (!sample_words(d, a.as<uint32_t>(), 4 * (uint64_t)nvec, seed,
				  &sbad))
			return false;
		if (sbad > (long long)first_bad)
			d.m->mismatches[GPUCHECK_HBM_WRITE] +=
				sbad - (long long)first_bad;
	}

	// Read: each timed pass XORs every word; the result must equal the
	// CPU's XOR of the pattern (or, after a write fault, what the first
	// pass read), so a flaky read is caught too.
	{
		DevBuf xr;
		unsigned got = 0;
		const unsigned want =
			gpucheck_ref_pattern_xor(4 * (uint64_t)nvec, seed);
		CK(d.f, cudaMalloc(&xr.p, 2 * sizeof(unsigned)));
		long long flaky = 0;
		unsigned first_read = 0;
		best = 1e30f;
		for (int r = 0; r <= reps; r++) {
			CK(d.f, cudaMemsetAsync(xr.as<unsigned>() + 1, 0,
						sizeof(unsigned), d.st));
			if (!time_start(d, ev))
				return false;
			k_read_xor<<<grid_for(d), 256, 0, d.st>>>(
				a.as<uint4>(), nvec, xr.as<unsigned>() + 1);
			CK(d.f, cudaGetLastError());
			if (!time_stop(d, ev, &ms))
				return false;
			CK(d.f, cudaMemcpyAsync(&got, xr.as<unsigned>() + 1,
						sizeof(unsigned),
						cudaMemcpyDeviceToHost, d.st));
			CK(d.f, cudaStreamSynchronize(d.st));
			if (r == 0)
				first_read = got;
			// With a correct buffer every pass finds the pattern's
			// XOR; with a write fault (counted above) every pass
			// must still agree with the first.
			if (first_bad == 0 ? got != want : got != first_read)
				flaky++;
			if (r > 0 && ms < best)
				best = ms;
		}
		set_value(d, GPUCHECK_HBM_READ, bytes / (best * 1e-3) / 1e12);
		d.m->checked[GPUCHECK_HBM_READ] += (long long)(4 * nvec) * reps;
		d.m->mismatches[GPUCHECK_HBM_READ] += flaky;
	}

	// Copy b <- a, counted as 2 bytes moved per byte (read + write).
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev))
			return false;
		k_copy<<<grid_for(d), 256, 0, d.st>>>(b.as<uint4>(),
						     a.as<uint4>(), nvec);
		CK(d.f, cudaGetLastError());
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, GPUCHECK_HBM_COPY, 2.0 * bytes / (best * 1e-3) / 1e12);
	if (planted(d, "hbm_copy")) {
		k_plant<<<1, 1, 0, d.st>>>(b.as<uint32_t>(), nvec * 3 + 1);
		CK(d.f, cudaGetLastError());
	}
	if (!verify_words(d, b.as<uint4>(), nvec, seed, GPUCHECK_HBM_COPY))
		return false;

	// cudaMemcpy device-to-device: the baseline of the HBM kernels.
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev))
			return false;
		CK(d.f, cudaMemcpyAsync(c.p, a.p, bytes,
					cudaMemcpyDeviceToDevice, d.st));
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, GPUCHECK_D2D_MEMCPY, 2.0 * bytes / (best * 1e-3) / 1e12);
	if (!verify_words(d, c.as<uint4>(), nvec, seed, GPUCHECK_D2D_MEMCPY))
		return false;

	// Triad a = b + s*c over float buffers (3 bytes moved per byte).
	k_fill_floats<<<grid_for(d), 256, 0, d.st>>>(
		b.as<float4>(), nvec, GPUCHECK_TRIAD_SEED_B);
	k_fill_floats<<<grid_for(d), 256, 0, d.st>>>(
		c.as<float4>(), nvec, GPUCHECK_TRIAD_SEED_C);
	CK(d.f, cudaGetLastError());
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev))
			return false;
		k_triad<<<grid_for(d), 256, 0, d.st>>>(
			a.as<float4>(), b.as<float4>(), c.as<float4>(), nvec);
		CK(d.f, cudaGetLastError());
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, GPUCHECK_HBM_TRIAD, 3.0 * bytes / (best * 1e-3) / 1e12);
	if (planted(d, "hbm_triad")) {
		k_plant<<<1, 1, 0, d.st>>>(a.as<uint32_t>(), nvec + 5);
		CK(d.f, cudaGetLastError());
	}
	{
		unsigned long long bad = 0;
		size_t n = (size_t)d.plan->samples;
		uint64_t *idx = (uint64_t *)malloc(n * 8);
		float *vals = (float *)malloc(n * 4);
		DevBuf didx, dvals;
		bool good = idx && vals && reset_bad(d);
		if (good) {
			k_triad_verify<<<grid_for(d), 256, 0, d.st>>>(
				a.as<float4>(), nvec, d.d_bad);
			gpucheck_sample_indices(idx, n, 4 * (uint64_t)nvec, 99);
			good = ok(d.f, cudaGetLastError(), "k_triad_verify") &&
			       read_bad(d, &bad) &&
			       ok(d.f, cudaMalloc(&didx.p, n * 8), "cudaMalloc") &&
			       ok(d.f, cudaMalloc(&dvals.p, n * 4), "cudaMalloc") &&
			       ok(d.f, copy_sync(d, didx.p, idx, n * 8,
						  cudaMemcpyHostToDevice),
				  "cudaMemcpy");
		}
		if (good) {
			k_gather32<<<(unsigned)((n + 255) / 256), 256, 0, d.st>>>(
				a.as<uint32_t>(), didx.as<uint64_t>(),
				dvals.as<uint32_t>(), n);
			good = ok(d.f, cudaGetLastError(), "k_gather32") &&
			       ok(d.f, cudaMemcpyAsync(vals, dvals.p, n * 4,
						       cudaMemcpyDeviceToHost,
						       d.st),
				  "cudaMemcpy") &&
			       ok(d.f, cudaStreamSynchronize(d.st), "sync");
		}
		if (good) {
			long long sbad = (long long)gpucheck_verify_triad(
				vals, idx, 0, n, NULL);
			d.m->checked[GPUCHECK_HBM_TRIAD] += (long long)(4 * nvec);
			d.m->mismatches[GPUCHECK_HBM_TRIAD] +=
				(long long)bad > sbad ? (long long)bad : sbad;
		}
		free(idx);
		free(vals);
		if (!good)
			return false;
	}
	return true;
}

struct GemmBufs {
	DevBuf a, b, c, rs, ex, rows, cols, samp;
	uint32_t *hrows = nullptr, *hcols = nullptr;
	float *hsamp = nullptr;
	int n = 0;
	~GemmBufs()
	{
		free(hrows);
		free(hcols);
		free(hsamp);
	}
};

// Verifies C of the pattern GEMM: every column's checksum on the device,
// sampled elements against the CPU reference on the host.
bool verify_gemm(Dev &d, GemmBufs &g, gpucheck_dtype t, gpucheck_metric k)
{
	const int N = d.plan->gemm_n, S = g.n;
	unsigned long long bad = 0;

	if (!reset_bad(d))
		return false;
	k_check_colsum<<<(N + 255) / 256, 256, 0, d.st>>>(
		g.c.as<float>(), g.ex.as<double>(), N, N, d.d_bad);
	CK(d.f, cudaGetLastError());
	k_gather_c<<<(S + 255) / 256, 256, 0, d.st>>>(
		g.c.as<float>(), g.rows.as<uint32_t>(), g.cols.as<uint32_t>(),
		N, g.samp.as<float>(), S);
	CK(d.f, cudaGetLastError());
	if (!read_bad(d, &bad))
		return false;
	CK(d.f, copy_sync(d, g.hsamp, g.samp.p, S * sizeof(float),
			   cudaMemcpyDeviceToHost));
	long long sbad = (long long)gpucheck_verify_gemm(
		t, N, g.hsamp, g.hrows, g.hcols, (size_t)S, NULL);
	d.m->checked[k] += (long long)N * N;
	d.m->mismatches[k] += (long long)bad > sbad ? (long long)bad : sbad;
	return true;
}

// A TMA descriptor for a @rows x @k row-major 16-bit matrix at @ptr, boxes
// of @box_rows x 64 with 128-byte swizzle (the driver's encoder is looked
// up at run time, so the binary needs no libcuda at link time).
bool make_tmap(Dev &d, CUtensorMap *tm, void *ptr, int rows, int k,
	       int box_rows, bool bf16)
{
	void *fn = nullptr;
	cudaDriverEntryPointQueryResult q;
	CK(d.f, cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn,
						 12000, cudaEnableDefault, &q));
	if (!fn || q != cudaDriverEntryPointSuccess) {
		snprintf(d.f.buf, d.f.len,
			 "cuTensorMapEncodeTiled not in this driver");
		return false;
	}
	auto encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
	cuuint64_t dims[2] = {(cuuint64_t)k, (cuuint64_t)rows};
	cuuint64_t strides[1] = {(cuuint64_t)k * 2};
	cuuint32_t box[2] = {(cuuint32_t)WG_BK, (cuuint32_t)box_rows};
	cuuint32_t estr[2] = {1, 1};
	CUresult r = encode(tm,
			    bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
				 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
			    2, ptr, dims, strides, box, estr,
			    CU_TENSOR_MAP_INTERLEAVE_NONE,
			    CU_TENSOR_MAP_SWIZZLE_128B,
			    CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
			    CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
	if (r != CUDA_SUCCESS) {
		snprintf(d.f.buf, d.f.len, "cuTensorMapEncodeTiled: error %d",
			 (int)r);
		return false;
	}
	return true;
}

template <bool BF16>
bool run_gemm_type(Dev &d, GemmBufs &g, cublasHandle_t blas)
{
	const int N = d.plan->gemm_n;
	const int reps = d.plan->gemm_reps > 0 ? d.plan->gemm_reps : 1;
	const double flop = 2.0 * N * (double)N * N;
	const gpucheck_dtype t = BF16 ? GPUCHECK_BF16 : GPUCHECK_FP16;
	const gpucheck_metric own = BF16 ? GPUCHECK_GEMM_BF16 : GPUCHECK_GEMM_FP16;
	const gpucheck_metric lib =
		BF16 ? GPUCHECK_CUBLAS_BF16 : GPUCHECK_CUBLAS_FP16;
	const size_t nel = (size_t)N * N;
	Events ev;
	float ms, best;

	CK(d.f, cudaEventCreate(&ev.a));
	CK(d.f, cudaEventCreate(&ev.b));
	k_fill_gemm<BF16><<<grid_for(d), 256, 0, d.st>>>(g.a.as<uint16_t>(), nel,
							GPUCHECK_GEMM_SEED_A);
	k_fill_gemm<BF16><<<grid_for(d), 256, 0, d.st>>>(g.b.as<uint16_t>(), nel,
							GPUCHECK_GEMM_SEED_B);
	CK(d.f, cudaGetLastError());

	// The project's kernel: wgmma + TMA on Hopper when asked for, else
	// mma.sync.
	const bool wgmma = d.plan->wgmma && d.cc_major == 9 && N % WG_BN == 0;
	CUtensorMap tmA, tmB;
	if (wgmma) {
		if (!make_tmap(d, &tmA, g.a.p, N, N, WG_BM, BF16) ||
		    !make_tmap(d, &tmB, g.b.p, N, N, WG_BN, BF16))
			return false;
		CK(d.f, cudaFuncSetAttribute(
				k_gemm_wgmma<BF16>,
				cudaFuncAttributeMaxDynamicSharedMemorySize,
				(int)WG_SMEM));
	} else {
		CK(d.f, cudaFuncSetAttribute(
				k_gemm_tc<BF16>,
				cudaFuncAttributeMaxDynamicSharedMemorySize,
				(int)GEMM_SMEM));
	}
	snprintf(d.m->gemm_kernel, sizeof(d.m->gemm_kernel), "%s",
		 wgmma ? "wgmma+tma" : "mma.sync");
	dim3 grid(N / BN, N / BM);
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		CK(d.f, cudaMemsetAsync(g.c.p, 0xff, nel * 4, d.st)); // NaNs
		if (!time_start(d, ev))
			return false;
		if (wgmma)
			k_gemm_wgmma<BF16>
				<<<(N / WG_BM) * (N / WG_BN), WG_THREADS, WG_SMEM,
				   d.st>>>(tmA, tmB, g.c.as<float>(), N, N, N);
		else
			k_gemm_tc<BF16><<<grid, GTHREADS, GEMM_SMEM, d.st>>>(
				g.a.as<uint16_t>(), g.b.as<uint16_t>(),
				g.c.as<float>(), N, N, N);
		CK(d.f, cudaGetLastError());
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, own, flop / (best * 1e-3) / 1e12);
	if (planted(d, BF16 ? "gemm_bf16" : "gemm_fp16")) {
		k_plant_add<<<1, 1, 0, d.st>>>(g.c.as<float>(), nel / 2 + 12345);
		CK(d.f, cudaGetLastError());
	}
	if (!verify_gemm(d, g, t, own))
		return false;

	// cuBLAS on the same operands: C^T = Bt^T' x A^T in column-major terms.
	const float alpha = 1.0f, beta = 0.0f;
	const cudaDataType_t dt = BF16 ? CUDA_R_16BF : CUDA_R_16F;
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (r == 0)
			CK(d.f, cudaMemsetAsync(g.c.p, 0xff, nel * 4, d.st));
		if (!time_start(d, ev))
			return false;
		CK(d.f, cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, N, N, N,
				     &alpha, g.b.p, dt, N, g.a.p, dt, N, &beta,
				     g.c.p, CUDA_R_32F, N, CUBLAS_COMPUTE_32F,
				     CUBLAS_GEMM_DEFAULT));
		if (!time_stop(d, ev, &ms))
			return false;
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, lib, flop / (best * 1e-3) / 1e12);
	return verify_gemm(d, g, t, lib);
}

bool run_gemm(Dev &d)
{
	const int N = d.plan->gemm_n;
	const size_t nel = (size_t)N * N;
	GemmBufs g;
	Blas blas;

	if (N <= 0 || N % 128) {
		snprintf(d.f.buf, d.f.len, "GEMM size %d is not a multiple of 128",
			 N);
		return false;
	}
	g.n = d.plan->samples / 4 > 0 ? d.plan->samples / 4 : 1;
	CK(d.f, cublasCreate(&blas.h));
	CK(d.f, cublasSetStream(blas.h, d.st));
	CK(d.f, cudaMalloc(&g.a.p, nel * 2));
	CK(d.f, cudaMalloc(&g.b.p, nel * 2));
	CK(d.f, cudaMalloc(&g.c.p, nel * 4));
	CK(d.f, cudaMalloc(&g.rs.p, N * sizeof(double)));
	CK(d.f, cudaMalloc(&g.ex.p, N * sizeof(double)));
	CK(d.f, cudaMalloc(&g.rows.p, g.n * 4));
	CK(d.f, cudaMalloc(&g.cols.p, g.n * 4));
	CK(d.f, cudaMalloc(&g.samp.p, g.n * 4));
	g.hrows = (uint32_t *)malloc(g.n * 4);
	g.hcols = (uint32_t *)malloc(g.n * 4);
	g.hsamp = (float *)malloc(g.n * 4);
	uint64_t *pick = (uint64_t *)malloc(g.n * 8);
	if (!g.hrows || !g.hcols || !g.hsamp || !pick) {
		free(pick);
		snprintf(d.f.buf, d.f.len, "out of host memory");
		return false;
	}
	gpucheck_sample_indices(pick, g.n, nel, 0xc0ffee + d.gpu);
	for (int s = 0; s < g.n; s++) {
		g.hrows[s] = (uint32_t)(pick[s] / N);
		g.hcols[s] = (uint32_t)(pick[s] % N);
	}
	free(pick);
	CK(d.f, copy_sync(d, g.rows.p, g.hrows, g.n * 4, cudaMemcpyHostToDevice));
	CK(d.f, copy_sync(d, g.cols.p, g.hcols, g.n * 4, cudaMemcpyHostToDevice));
	// The exact column sums, shared by all four GEMMs (same integers).
	k_colsum_a<<<(N + 255) / 256, 256, 0, d.st>>>(g.rs.as<double>(), N, N);
	k_expected_colsum<<<N, 256, 0, d.st>>>(g.rs.as<double>(),
					       g.ex.as<double>(), N);
	CK(d.f, cudaGetLastError());
	return run_gemm_type<true>(d, g, blas.h) &&
	       run_gemm_type<false>(d, g, blas.h);
}

template <typename T>
bool run_fma_type(Dev &d, const gpucheck_model *model)
{
	const bool is32 = sizeof(T) == 4;
	const gpucheck_metric k = is32 ? GPUCHECK_FMA_FP32 : GPUCHECK_FMA_FP64;
	double nominal = model ? (is32 ? model->fp32_tflops : model->fp64_tflops)
			       : (is32 ? 60.0 : 30.0);
	// Enough threads for about fma_seconds at the nominal rate, at least
	// two full waves.
	const double per_thread = 2.0 * GPUCHECK_FMA_CHAINS * FMA_ITERS;
	double want = nominal * 1e12 * d.plan->fma_seconds / per_thread;
	size_t threads = (size_t)want;
	size_t minimum = (size_t)d.sms * 2048 * 2;
	if (threads < minimum)
		threads = minimum;
	threads = (threads + 255) / 256 * 256;
	DevBuf out;
	Events ev;
	float ms;

	CK(d.f, cudaEventCreate(&ev.a));
	CK(d.f, cudaEventCreate(&ev.b));
	CK(d.f, cudaMalloc(&out.p, threads * sizeof(T)));
	const T a = is32 ? (T)GPUCHECK_FMA_A32 : (T)GPUCHECK_FMA_A64;
	const T b = is32 ? (T)GPUCHECK_FMA_B32 : (T)GPUCHECK_FMA_B64;
	// Warm-up (clocks, module load), then one timed launch.
	k_fma<T><<<(unsigned)(threads / 256), 256, 0, d.st>>>(out.as<T>(), 64,
							      a, b);
	CK(d.f, cudaGetLastError());
	if (!time_start(d, ev))
		return false;
	k_fma<T><<<(unsigned)(threads / 256), 256, 0, d.st>>>(out.as<T>(),
							      FMA_ITERS, a, b);
	CK(d.f, cudaGetLastError());
	if (!time_stop(d, ev, &ms))
		return false;
	set_value(d, k, per_thread * threads / (ms * 1e-3) / 1e12);
	if (planted(d, is32 ? "fma_fp32" : "fma_fp64")) {
		k_plant<<<1, 1, 0, d.st>>>(out.as<uint32_t>(),
					   (threads / 3) * (sizeof(T) / 4));
		CK(d.f, cudaGetLastError());
	}
	// Device: every output against the four CPU reference values.
	RefTable<T> ref;
	for (unsigned c = 0; c < GPUCHECK_FMA_CLASSES; c++)
		ref.v[c] = is32 ? (T)gpucheck_ref_fma32(c, FMA_ITERS)
				: (T)gpucheck_ref_fma64(c, FMA_ITERS);
	unsigned long long bad = 0;
	if (!reset_bad(d))
		return false;
	k_fma_verify<T><<<grid_for(d), 256, 0, d.st>>>(out.as<T>(), threads,
						       ref, d.d_bad);
	CK(d.f, cudaGetLastError());
	if (!read_bad(d, &bad))
		return false;
	// Host: a sample of outputs with the shared verifier.
	size_t n = 256;
	T *vals = (T *)malloc(n * sizeof(T));
	uint64_t *thr = (uint64_t *)malloc(n * 8);
	if (!vals || !thr) {
		free(vals);
		free(thr);
		snprintf(d.f.buf, d.f.len, "out of host memory");
		return false;
	}
	gpucheck_sample_indices(thr, n, threads, 1234);
	bool good = true;
	for (size_t s = 0; s < n && good; s++)
		good = ok(d.f, copy_sync(d, &vals[s], out.as<T>() + thr[s],
					  sizeof(T), cudaMemcpyDeviceToHost),
			  "cudaMemcpy sample");
	long long sbad = 0;
	if (good)
		sbad = is32 ? (long long)gpucheck_verify_fma32(
				      (const float *)vals, thr, n, FMA_ITERS, NULL)
			    : (long long)gpucheck_verify_fma64(
				      (const double *)vals, thr, n, FMA_ITERS,
				      NULL);
	free(vals);
	free(thr);
	if (!good)
		return false;
	d.m->checked[k] += (long long)threads;
	d.m->mismatches[k] += (long long)bad > sbad ? (long long)bad : sbad;
	return true;
}

bool setup(Dev &d, int gpu, const gpucheck_plan *plan, gpucheck_measure *m,
	   Stream &st, DevBuf &bad)
{
	cudaDeviceProp p;

	d.gpu = gpu;
	d.plan = plan;
	d.m = m;
	d.f.buf = m->error;
	d.f.len = sizeof(m->error);
	CK(d.f, cudaSetDevice(gpu));
	CK(d.f, cudaGetDeviceProperties(&p, gpu));
	d.sms = p.multiProcessorCount > 0 ? p.multiProcessorCount : 1;
	d.cc_major = p.major;
	CK(d.f, cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
	d.st = st.s;
	CK(d.f, cudaMalloc(&bad.p, sizeof(unsigned long long)));
	d.d_bad = bad.as<unsigned long long>();
	return true;
}

// ---- backend entry points ----------------------------------------------

int cuda_count(void *, int *n, char *err, size_t errlen)
{
	cudaError_t e = cudaGetDeviceCount(n);

	if (e != cudaSuccess) {
		snprintf(err, errlen,
			 "no usable NVIDIA GPU and driver (%s: %s)",
			 cudaGetErrorName(e), cudaGetErrorString(e));
		*n = 0;
		errno = ENODEV;
		return -1;
	}
	return 0;
}

int cuda_info(void *, int gpu, gpucheck_device_info *info)
{
	cudaDeviceProp p;

	if (cudaGetDeviceProperties(&p, gpu) != cudaSuccess) {
		errno = ENODEV;
		return -1;
	}
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%.*s",
		 (int)sizeof(info->name) - 1, p.name);
	info->pci_domain = p.pciDomainID;
	info->pci_bus = p.pciBusID;
	info->pci_dev = p.pciDeviceID;
	info->pci_id = gpucheck_pci_device_id("/sys", p.pciDomainID,
					      p.pciBusID, p.pciDeviceID);
	info->cc_major = p.major;
	info->cc_minor = p.minor;
	info->sm_count = p.multiProcessorCount;
	info->mem_bytes = p.totalGlobalMem;
	return 0;
}

int cuda_run_device(void *, int gpu, const gpucheck_plan *plan,
		    const gpucheck_model *model, gpucheck_measure *m)
{
	Dev d;
	Stream st;
	DevBuf bad;

	if (!setup(d, gpu, plan, m, st, bad) || !run_hbm(d) || !run_gemm(d) ||
	    !run_fma_type<float>(d, model) || !run_fma_type<double>(d, model)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int cuda_run_host_link(void *, int gpu, const gpucheck_plan *plan,
		       gpucheck_measure *m)
{
	Dev d;
	Stream st;
	DevBuf bad, dbuf;
	HostBuf hbuf;
	Events ev;
	const size_t bytes = plan->pcie_bytes & ~(size_t)15;
	const size_t nwords = bytes / 4;
	const int reps = plan->pcie_reps > 0 ? plan->pcie_reps : 1;
	const uint32_t hseed = 0x4d2d0000u ^ (uint32_t)gpu;
	const uint32_t dseed = 0x2d4d0000u ^ (uint32_t)gpu;
	float ms, best;

	auto fail = [&]() {
		errno = EIO;
		return -1;
	};
	if (!setup(d, gpu, plan, m, st, bad))
		return fail();
	if (!ok(d.f, cudaEventCreate(&ev.a), "event") ||
	    !ok(d.f, cudaEventCreate(&ev.b), "event") ||
	    !ok(d.f, cudaMallocHost(&hbuf.p, bytes), "cudaMallocHost") ||
	    !ok(d.f, cudaMalloc(&dbuf.p, bytes), "cudaMalloc"))
		return fail();
	uint32_t *h = hbuf.as<uint32_t>();
	for (size_t i = 0; i < nwords; i++)
		h[i] = gpucheck_pattern_word(i, hseed);

	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev) ||
		    !ok(d.f, cudaMemcpyAsync(dbuf.p, hbuf.p, bytes,
					     cudaMemcpyHostToDevice, d.st),
			"cudaMemcpy H2D") ||
		    !time_stop(d, ev, &ms))
			return fail();
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, GPUCHECK_H2D, bytes / (best * 1e-3) / 1e9);
	if (planted(d, "h2d"))
		k_plant<<<1, 1, 0, d.st>>>(dbuf.as<uint32_t>(), nwords / 2);
	if (!verify_words(d, dbuf.as<uint4>(), bytes / 16, hseed, GPUCHECK_H2D))
		return fail();

	k_fill_words<<<grid_for(d), 256, 0, d.st>>>(dbuf.as<uint4>(),
						   bytes / 16, dseed);
	if (!ok(d.f, cudaGetLastError(), "k_fill_words"))
		return fail();
	best = 1e30f;
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev) ||
		    !ok(d.f, cudaMemcpyAsync(hbuf.p, dbuf.p, bytes,
					     cudaMemcpyDeviceToHost, d.st),
			"cudaMemcpy D2H") ||
		    !time_stop(d, ev, &ms))
			return fail();
		if (r > 0 && ms < best)
			best = ms;
	}
	set_value(d, GPUCHECK_D2H, bytes / (best * 1e-3) / 1e9);
	// Every word that arrived, on the host.
	m->checked[GPUCHECK_D2H] += (long long)nwords;
	m->mismatches[GPUCHECK_D2H] +=
		(long long)gpucheck_verify_words(h, NULL, 0, nwords, dseed, NULL);
	return 0;
}

int cuda_run_p2p(void *, int src, int dst, const gpucheck_plan *plan,
		 gpucheck_p2p *p)
{
	gpucheck_measure m; // for its error buffer and the verify helpers
	Dev d;
	Stream st;
	DevBuf bad, sbuf, dbuf;
	Events ev;
	const size_t bytes = plan->p2p_bytes & ~(size_t)15;
	const int reps = plan->p2p_reps > 0 ? plan->p2p_reps : 1;
	const uint32_t seed = 0x9e370000u ^ (uint32_t)(src * 64 + dst);
	int can = 0;
	float ms, best = 1e30f;

	memset(&m, 0, sizeof(m));
	auto fail = [&]() {
		snprintf(p->error, sizeof(p->error), "%.*s",
			 (int)sizeof(p->error) - 1, m.error);
		errno = EIO;
		return -1;
	};
	// Destination buffer and verification live on @dst.
	if (!setup(d, dst, plan, &m, st, bad) ||
	    !ok(d.f, cudaMalloc(&dbuf.p, bytes), "cudaMalloc dst"))
		return fail();
	if (!ok(d.f, cudaSetDevice(src), "cudaSetDevice") ||
	    !ok(d.f, cudaMalloc(&sbuf.p, bytes), "cudaMalloc src") ||
	    !ok(d.f, cudaDeviceCanAccessPeer(&can, src, dst), "canAccessPeer"))
		return fail();
	if (can) {
		cudaError_t e = cudaDeviceEnablePeerAccess(dst, 0);
		if (e == cudaErrorPeerAccessAlreadyEnabled)
			cudaGetLastError(); // clear it
		else if (!ok(d.f, e, "cudaDeviceEnablePeerAccess"))
			return fail();
	}
	p->peer_access = can;
	{
		cudaDeviceProp prop;
		if (!ok(d.f, cudaGetDeviceProperties(&prop, src), "props"))
			return fail();
		k_fill_words<<<prop.multiProcessorCount * 8, 256>>>(
			sbuf.as<uint4>(), bytes / 16, seed);
		if (!ok(d.f, cudaGetLastError(), "k_fill_words") ||
		    !ok(d.f, cudaDeviceSynchronize(), "sync"))
			return fail();
	}
	// Time on @dst's stream (events belong to its device).
	if (!ok(d.f, cudaSetDevice(dst), "cudaSetDevice") ||
	    !ok(d.f, cudaEventCreate(&ev.a), "event") ||
	    !ok(d.f, cudaEventCreate(&ev.b), "event"))
		return fail();
	for (int r = 0; r <= reps; r++) {
		if (!time_start(d, ev) ||
		    !ok(d.f, cudaMemcpyPeerAsync(dbuf.p, dst, sbuf.p, src, bytes,
						 d.st),
			"cudaMemcpyPeer") ||
		    !time_stop(d, ev, &ms))
			return fail();
		if (r > 0 && ms < best)
			best = ms;
	}
	p->gbs = bytes / (best * 1e-3) / 1e9;
	if (plan->plant_fault[0] && strcmp(plan->plant_fault, "p2p") == 0 &&
	    plan->plant_gpu == src && dst == (src == 0 ? 1 : 0))
		k_plant<<<1, 1, 0, d.st>>>(dbuf.as<uint32_t>(), bytes / 8);
	if (!verify_words(d, dbuf.as<uint4>(), bytes / 16, seed, GPUCHECK_H2D))
		return fail();
	p->checked = m.checked[GPUCHECK_H2D];
	p->mismatches = m.mismatches[GPUCHECK_H2D];
	return 0;
}

const gpucheck_backend cuda_backend = {"cuda",	    nullptr,
				       cuda_count,  cuda_info,
				       cuda_run_device, cuda_run_host_link,
				       cuda_run_p2p};

} // namespace

extern "C" const gpucheck_backend *gpucheck_cuda_backend(void)
{
	return &cuda_backend;
}
