/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_gemm_layout: the GEMM kernel's data movement replayed on the CPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gpucheck_gemm_layout.h"

/*
 * PTX ISA semantics modelled here (independently of the kernel):
 * - ldmatrix.sync.aligned.m8n8.x4.b16: lanes 8q..8q+7 give the addresses
 *   of the eight 16-byte rows of matrix q; lane t receives, in register q,
 *   elements 2(t%4) and 2(t%4)+1 of row t/4 of matrix q.
 * - mma.sync.aligned.m16n8k16.row.col (g = t/4, c = t%4): A registers
 *   a0 (row g, k 2c..2c+1), a1 (row g+8), a2 (row g, k+8), a3 (row g+8,
 *   k+8); B registers b0 (k 2c..2c+1, column g), b1 (k+8); accumulators
 *   d0,d1 (row g, columns 2c, 2c+1), d2,d3 (row g+8).
 */

typedef struct {
	float v[2];
} reg2;

/* ldmatrix.x4 from @smem with per-lane row offsets @addr. */
static void ldmatrix_x4(const float *smem, const int addr[32], reg2 out[32][4])
{
	for (int q = 0; q < 4; q++)
		for (int t = 0; t < 32; t++) {
			const float *row = smem + addr[8 * q + t / 4];
			out[t][q].v[0] = row[2 * (t % 4)];
			out[t][q].v[1] = row[2 * (t % 4) + 1];
		}
}

/* One mma.m16n8k16 over the 32 lanes' fragments. */
static void mma16816(float acc[32][4], reg2 a[32][4], reg2 b[32][2])
{
	float A[16][16], B[16][8];

	for (int t = 0; t < 32; t++) {
		int g = t / 4, c = t % 4;
		for (int j = 0; j < 2; j++) {
			A[g][2 * c + j] = a[t][0].v[j];
			A[g + 8][2 * c + j] = a[t][1].v[j];
			A[g][8 + 2 * c + j] = a[t][2].v[j];
			A[g + 8][8 + 2 * c + j] = a[t][3].v[j];
			B[2 * c + j][g] = b[t][0].v[j];
			B[8 + 2 * c + j][g] = b[t][1].v[j];
		}
	}
	for (int t = 0; t < 32; t++) {
		int g = t / 4, c = t % 4;
		for (int r = 0; r < 4; r++) {
			int row = g + (r >= 2 ? 8 : 0), col = 2 * c + (r & 1);
			float s = 0;
			for (int k = 0; k < 16; k++)
				s += A[row][k] * B[k][col];
			acc[t][r] += s;
		}
	}
}

enum { M = 2 * GPUCHECK_BM, N = 2 * GPUCHECK_BN, K = 3 * GPUCHECK_BK };

static float acc[4][4][8][32][4]; /* warp, mi, ni, lane, element */

static void run_kernel_on_cpu(const float *A, const float *Bt, float *C)
{
	static float sA[GPUCHECK_BM * GPUCHECK_BK],
	    sB[GPUCHECK_BN * GPUCHECK_BK];
	static int hitA[GPUCHECK_BM * GPUCHECK_BK];

	for (int by = 0; by < M / GPUCHECK_BM; by++)
		for (int bx = 0; bx < N / GPUCHECK_BN; bx++) {
			memset(acc, 0, sizeof(acc));
			for (int kt = 0; kt < K / GPUCHECK_BK; kt++) {
				/* cp.async loads: every element exactly once.
				 */
				memset(hitA, 0, sizeof(hitA));
				for (int tid = 0; tid < GPUCHECK_GEMM_THREADS;
				     tid++)
					for (int i = 0; i < 4; i++) {
						int row, ch;
						gpucheck_gemm_load_chunk(
						    tid, i, &row, &ch);
						for (int e = 0; e < 8; e++) {
							int off =
							    gpucheck_gemm_swz(
								row, ch) +
							    e;
							sA[off] = A
							    [(size_t)(by *
									  GPUCHECK_BM +
								      row) *
								 K +
							     kt * GPUCHECK_BK +
							     ch * 8 + e];
							sB[off] = Bt
							    [(size_t)(bx *
									  GPUCHECK_BN +
								      row) *
								 K +
							     kt * GPUCHECK_BK +
							     ch * 8 + e];
							hitA[off]++;
						}
					}
				for (int o = 0; o < GPUCHECK_BM * GPUCHECK_BK;
				     o++)
					assert_int_equal(hitA[o], 1);
				for (int w = 0; w < 4; w++) {
					int wm = w >> 1, wn = w & 1;
					for (int kk = 0; kk < GPUCHECK_BK / 16;
					     kk++) {
						static reg2 af[4][32][4],
						    bf[8][32][2];
						int addr[32];
						for (int mi = 0; mi < 4; mi++) {
							for (int l = 0; l < 32;
							     l++) {
								int row, ch;
								gpucheck_gemm_ldm_a(
								    l, wm, mi,
								    kk, &row,
								    &ch);
								addr[l] =
								    gpucheck_gemm_swz(
									row,
									ch);
							}
							ldmatrix_x4(sA, addr,
								    af[mi]);
						}
						for (int nj = 0; nj < 4; nj++) {
							reg2 r[32][4];
							for (int l = 0; l < 32;
							     l++) {
								int row, ch;
								gpucheck_gemm_ldm_b(
								    l, wn, nj,
								    kk, &row,
								    &ch);
								addr[l] =
								    gpucheck_gemm_swz(
									row,
									ch);
							}
							ldmatrix_x4(sB, addr,
								    r);
							for (int l = 0; l < 32;
							     l++) {
								bf[2 * nj][l]
								  [0] = r[l][0];
								bf[2 * nj][l]
								  [1] = r[l][1];
								bf[2 * nj + 1]
								  [l][0] =
								      r[l][2];
								bf[2 * nj + 1]
								  [l][1] =
								      r[l][3];
							}
						}
						for (int mi = 0; mi < 4; mi++)
							for (int ni = 0; ni < 8;
							     ni++)
								mma16816(
								    acc[w][mi]
								       [ni],
								    af[mi],
								    bf[ni]);
					}
				}
			}
			/* Epilogue: the kernel stores elements 0,1 at (row,
			 * col), (row, col+1) and 2,3 eight rows down; c_coord
			 * must agree. */
			for (int w = 0; w < 4; w++)
				for (int mi = 0; mi < 4; mi++)
					for (int ni = 0; ni < 8; ni++)
						for (int l = 0; l < 32; l++) {
							int row0, col0;
							gpucheck_gemm_c_coord(
							    l, w >> 1, w & 1,
							    mi, ni, 0, &row0,
							    &col0);
							for (int r = 0; r < 4;
							     r++) {
								int row, col;
								gpucheck_gemm_c_coord(
								    l, w >> 1,
								    w & 1, mi,
								    ni, r, &row,
								    &col);
								assert_int_equal(
								    row,
								    row0 +
									(r >= 2
									     ? 8
									     : 0));
								assert_int_equal(
								    col,
								    col0 + (r &
									    1));
								C[(size_t)(by *
									       GPUCHECK_BM +
									   row) *
								      N +
								  bx *
								      GPUCHECK_BN +
								  col] =
								    acc[w][mi]
								       [ni][l]
								       [r];
							}
						}
		}
}

static void test_kernel_layout_computes_gemm(void **state)
{
	float *A = malloc(sizeof(float) * M * K),
	      *Bt = malloc(sizeof(float) * N * K);
	float *C = malloc(sizeof(float) * M * N);
	long wrong = 0;

	for (int i = 0; i < M * K; i++)
		A[i] = (float)gpucheck_gemm_input((uint64_t)i,
						  GPUCHECK_GEMM_SEED_A);
	for (int i = 0; i < N * K; i++)
		Bt[i] = (float)gpucheck_gemm_input((uint64_t)i,
						   GPUCHECK_GEMM_SEED_B);
	for (int i = 0; i < M * N; i++)
		C[i] = -12345.0f; /* every element must be written */
	run_kernel_on_cpu(A, Bt, C);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			float s = 0;
			for (int k = 0; k < K; k++)
				s += A[(size_t)i * K + k] *
				     Bt[(size_t)j * K + k];
			wrong +=
			    C[(size_t)i * N + j] != s; /* integers: exact */
		}
	assert_int_equal(wrong, 0);
	free(A);
	free(Bt);
	free(C);
}

static void test_swizzle_is_conflict_free(void **state)
{
	/* Each ldmatrix phase (8 lanes) must touch 8 distinct 16-byte bank
	 * groups of a 128-byte line, and stay within its row. */
	for (int kk = 0; kk < GPUCHECK_BK / 16; kk++)
		for (int mi = 0; mi < 4; mi++)
			for (int q = 0; q < 4; q++) {
				int seen = 0;
				for (int l = 8 * q; l < 8 * q + 8; l++) {
					int row, ch;
					gpucheck_gemm_ldm_a(l, 1, mi, kk, &row,
							    &ch);
					int off = gpucheck_gemm_swz(row, ch);
					assert_int_equal(off / GPUCHECK_BK,
							 row);
					seen |= 1 << ((off * 2 / 16) % 8);
					gpucheck_gemm_ldm_b(l, 1, mi, kk, &row,
							    &ch);
					assert_int_equal(
					    gpucheck_gemm_swz(row, ch) /
						GPUCHECK_BK,
					    row);
				}
				assert_int_equal(seen, 0xff);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_swizzle_is_conflict_free),
	    cmocka_unit_test(test_kernel_layout_computes_gemm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
