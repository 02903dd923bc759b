// Compile-time widths for loops over a few heads: with_static_width<1, 8>(n, fn) calls
// fn(std::integral_constant<int64_t, n>) when n is listed, else fn(std::integral_constant<int64_t,
// 0>), 0 meaning "known only at run time". A loop bound the compiler knows unrolls and vectorises;
// over GAT's 8 heads per edge, the run-time bound left these loops scalar.
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace gkd::kernels::cpu {

template <int64_t... Widths, class Fn>
void with_static_width(int64_t n, Fn&& fn) {
  const bool listed =
      ((n == Widths && (fn(std::integral_constant<int64_t, Widths>{}), true)) || ...);
  if (!listed) fn(std::integral_constant<int64_t, 0>{});
}

// The width a kernel instantiated for W uses: W itself, or the run-time n when W is 0. Call it
// inside the OpenMP region whose loops use it: a local computed outside is shared with the
// outlined region and reaches those loops as a run-time value, so per-head values do not stay in
// registers (GAT's 8-head edge softmax spent a store-to-load round trip per edge on its row max).
// A static count can also hurt: GCC unrolls a loop over 8 completely, and then may leave the
// unrolled body scalar (u_add_v's blends; head_dot_backward's 8-wide heads, whose width is
// therefore a run-time value inside its lambdas). Measure both.
template <int64_t W>
constexpr int64_t static_or(int64_t n) {
  return W > 0 ? W : n;
}

// Per-head values of a row for a width W from with_static_width: a std::array when W is static (the
// compiler keeps it in registers), else a vector of the run-time count.
template <int64_t W>
struct PerHead : std::array<double, W> {
  explicit PerHead(int64_t) : std::array<double, W>{} {}
};
template <>
struct PerHead<0> : std::vector<double> {
  explicit PerHead(int64_t n) : std::vector<double>(static_cast<size_t>(n)) {}
};

}  // namespace gkd::kernels::cpu
