// Narrow float GEMMs for the CPU twin of GEMM (kernels/cpu/gemm.cpp): C at most 16 columns wide,
// or at most 64 over an inner dimension of at most 16, as in a GNN's output layer ([N, 64] x
// [64, 7]), its weight gradient ([64, N] x [N, 7]) and its input gradient ([N, 7] x [7, 64]).
// Eigen's kernel, shaped for wide products, took 2.5x the time of this loop on the first two
// and 1.15x on the third (Cora's shapes, 1 thread: 74 -> 29, 80 -> 31 and 43 -> 37 us).
//
// Each element is one chain of fused multiply-adds over the inner dimension in order from 0, in
// float: acc = fma(op(A)[i, p], op(B)[p, j], acc), then C = alpha acc, or beta C + alpha acc.
// Vector and scalar builds give the same bits, at any thread count. Compiled at the library's
// -march (gemm.cpp stays at x86-64-v3 for Eigen's sake): AVX-512's 32 registers hold twice the
// rows per block.
#pragma once

#include <cstdint>

#include "kernels/gemm.h"

namespace gkd::kernels::cpu {

bool is_narrow_gemm(const GemmArgs<float>& g);

// C in panels of panel_rows rows per batch item, over threads when `parallel`.
void gemm_narrow(const GemmArgs<float>& g, int64_t panel_rows, bool parallel);

}  // namespace gkd::kernels::cpu
