/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_gemm_layout: tiles and indices of the tensor-core GEMM. */
#ifndef GPUCHECK_GEMM_LAYOUT_H
#define GPUCHECK_GEMM_LAYOUT_H

/*
 * The GEMM kernel (backend_cuda.cu, k_gemm_tc) takes all its shared-memory
 * and fragment indices from here, so that the unit tests can replay the
 * kernel's data movement on the CPU against the PTX ISA's ldmatrix and
 * mma.m16n8k16 fragment layouts and check that it computes C = A x Bt^T.
 *
 * A block computes a GPUCHECK_BM x GPUCHECK_BN tile of C with four warps
 * in a 2 x 2 grid, each 64 x 64 (4 m16 x 8 n8 MMA tiles). K advances in
 * steps of GPUCHECK_BK (two k16 MMA steps). Operand tiles are stored in
 * shared memory as rows of GPUCHECK_BK 16-bit elements (64 bytes = four
 * 16-byte chunks), the chunk index XOR-swizzled by bits 1..2 of the row so
 * that the eight rows one ldmatrix phase reads fall in eight different
 * 16-byte bank groups.
 */
#include "gpucheck_arith.h"

#define GPUCHECK_BM 128
#define GPUCHECK_BN 128
#define GPUCHECK_BK 32
#define GPUCHECK_GEMM_STAGES 4
#define GPUCHECK_GEMM_THREADS 128

/* Element offset in a stage tile of 16-byte chunk @ch of row @row. */
GPUCHECK_HD int gpucheck_gemm_swz(int row, int ch)
{
	return row * GPUCHECK_BK + ((ch ^ ((row >> 1) & 3)) << 3);
}

/* cp.async: load @i (0..3) of thread @tid moves chunk *@ch of tile row
 * *@row (512 chunks per operand tile, 128 threads). */
GPUCHECK_HD void gpucheck_gemm_load_chunk(int tid, int i, int *row, int *ch)
{
	int c = tid + i * GPUCHECK_GEMM_THREADS;
	*row = c >> 2;
	*ch = c & 3;
}

/* ldmatrix.x4 for the A fragment of MMA tile @mi of warp row @wm at k16
 * step @kk: the tile row and chunk whose address lane @lane supplies.
 * Matrices 0..3 = (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15),
 * (rows 8-15, k 8-15): registers a0..a3 of mma.m16n8k16. */
GPUCHECK_HD void gpucheck_gemm_ldm_a(int lane, int wm, int mi, int kk, int *row,
				     int *ch)
{
	*row = wm * 64 + mi * 16 + (lane & 15);
	*ch = kk * 2 + (lane >> 4);
}

/* ldmatrix.x4 for the B fragments of n8 tiles 2*@nj and 2*@nj+1 of warp
 * column @wn: matrices = (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7),
 * (n 8-15, k 8-15): registers b0, b1 of tile 2nj, then of tile 2nj+1. */
GPUCHECK_HD void gpucheck_gemm_ldm_b(int lane, int wn, int nj, int kk, int *row,
				     int *ch)
{
	*row = wn * 64 + nj * 16 + (lane & 7) + ((lane >> 4) << 3);
	*ch = kk * 2 + ((lane >> 3) & 1);
}

/* Row and column, within the block tile, of accumulator element @r (0..3)
 * of MMA tile (@mi, @ni) of warp (@wm, @wn) held by lane @lane. */
GPUCHECK_HD void gpucheck_gemm_c_coord(int lane, int wm, int wn, int mi, int ni,
				       int r, int *row, int *col)
{
	*row = wm * 64 + mi * 16 + (lane >> 2) + (r >= 2 ? 8 : 0);
	*col = wn * 64 + ni * 8 + (lane & 3) * 2 + (r & 1);
}

#endif
