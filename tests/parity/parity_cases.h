// The kernels the gpu suite covers; main_gpu.cpp refuses to run if a CUDA twin is missing here.
#pragma once

#include <array>
#include <string_view>

namespace gkd::test {
inline constexpr std::array<std::string_view, 12> kParityCovered = {
    "fill",       "axpby",   "bias_act",     "bias_act_backward",     "unary", "binary",
    "reduce_sum", "dropout", "softmax_rows", "softmax_rows_backward", "adam",  "sgd"};
}  // namespace gkd::test
