// The kernels the gpu suite covers; main_gpu.cpp refuses to run if a CUDA twin is missing here.
#pragma once

#include <array>
#include <string_view>

namespace gkd::test {
// clang-format off
inline constexpr std::array<std::string_view, 43> kParityCovered = {
    // test_parity.cpp
    "fill",
    // test_parity_dense.cpp
    "axpby", "bias_act", "bias_act_backward", "unary", "binary", "reduce_sum", "head_dot",
    "head_dot_backward", "dropout", "sparse_dropout",
    "softmax_rows", "softmax_rows_backward", "adam", "sgd", "gemm",
    // test_parity_graph.cpp
    "spmm", "sddmm", "sddmm_backward", "u_add_v", "edge_reduce", "edge_map", "edge_map_backward",
    "edge_softmax", "edge_softmax_backward", "edge_kl", "edge_kl_backward", "structure_kl",
    "structure_kl_backward",
    // test_parity_loss.cpp
    "cross_entropy", "bce_with_logits", "kl_div", "softmax_entropy", "mse", "scaled_add",
    "segment_reduce", "segment_reduce_backward", "gather_rows", "batch_norm",
    "batch_norm_backward", "cohort_kl", "cohort_kl_backward",
    "scatter_add_rows"};
// clang-format on
}  // namespace gkd::test
