// Differentiable functions for students as a batch dimension (models::Model::forward_cohort): K
// students of one architecture keep their per-layer tensors side by side, [N, K*F] with student k
// in column block k, so each layer runs as one batched GEMM and one SpMM over the shared CSR.
// Parameters stay per student; a step stacks them with concat_cols and the backward splits the
// gradient back, so optimizers and checkpoints see K ordinary models.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "autograd/tape.h"

namespace gkd::autograd {

// [R, C_0 + C_1 + ...]: the inputs side by side (all [R, C_i], one dtype). One input: itself.
Var concat_cols(const std::vector<Var>& xs);

// Columns [begin, end) of x as a new [R, end - begin] value; the gradient goes to that block.
Var slice_cols(Var x, int64_t begin, int64_t end);
// x [R, K*F] as its K column blocks [R, F], student order (K = 1: x itself).
std::vector<Var> split_cols(Var x, int64_t blocks);

// Column block k of the result is a's block k times b's block k, for k < blocks: a [M, K*A],
// b [A, K*B] -> [M, K*B] (ops::gemm_batched, one strided-batched GEMM). blocks = 1: matmul.
Var block_matmul(Var a, Var b, int64_t blocks);

// Inverted dropout with one Philox seed per column block: block k of the result is
// dropout(block k of x, p, seeds[k], stream), bit for bit the mask a lone [R, F] tensor gets from
// the same seed (kernels/dense.h indexes the mask by the block's own row-major index). x holds
// seeds.size() blocks, or with `broadcast` one block shared by every student (each drops it with
// its own seed). When !training or p = 0 it returns x itself (no node, still shared).
Var dropout_blocks(Var x, float p, std::span<const uint64_t> seeds, uint64_t stream, bool training,
                   bool broadcast = false);

}  // namespace gkd::autograd
