// The kernels the gpu suite covers; main_gpu.cpp refuses to run if a CUDA twin is missing here.
#pragma once

#include <array>
#include <string_view>

namespace gkd::test {
inline constexpr std::array<std::string_view, 1> kParityCovered = {"fill"};
}  // namespace gkd::test
