// The kernels the gpu suite covers; main_gpu.cpp refuses to run if a CUDA twin is missing here.
#pragma once

#include <array>
#include <string_view>

namespace gkd::test {
inline constexpr std::array<std::string_view, 24> kParityCovered = {"fill",
                                                                    "axpby",
                                                                    "bias_act",
                                                                    "bias_act_backward",
                                                                    "unary",
                                                                    "binary",
                                                                    "reduce_sum",
                                                                    "dropout",
                                                                    "softmax_rows",
                                                                    "softmax_rows_backward",
                                                                    "adam",
                                                                    "sgd",
                                                                    "spmm",
                                                                    "sddmm",
                                                                    "sddmm_backward",
                                                                    "u_add_v",
                                                                    "edge_reduce",
                                                                    "edge_map",
                                                                    "edge_map_backward",
                                                                    "edge_softmax",
                                                                    "edge_softmax_backward",
                                                                    "edge_kl",
                                                                    "edge_kl_backward",
                                                                    "gemm"};
}  // namespace gkd::test
