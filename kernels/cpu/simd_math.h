// exp and expm1 in double as branch-free arithmetic, so that loops over them vectorise. glibc's
// are scalar calls, and were a fifth of a GAT epoch on the CPU (edge softmax and ELU).
//
// exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 in two parts, n ln2_hi exact), e^r by a
// degree-13 Taylor polynomial (truncation below 5e-18), and 2^n assembled in the exponent bits.
// Within 2 ulp of the correctly rounded result (tests/unit/test_simd_math.cpp measures it), except
// below e^-707.7 (about 1e-307), which flushes to 0. Overflow gives inf and NaN stays NaN.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace gkd::kernels::cpu {

inline double exp_vec(double x) {
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits (fdlibm)
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  // Adding 1.5 * 2^52 rounds to an integer and leaves it in the low bits of the mantissa.
  constexpr double kShift = 0x1.8p52;
  const double t = x * kLog2e + kShift;
  const double n = t - kShift;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^(n-1) times 2: n reaches 1024 just below the overflow threshold, where 2^n is not a double.
  const int64_t n_bits = std::bit_cast<int64_t>(t) - std::bit_cast<int64_t>(kShift);
  const double half_scale = std::bit_cast<double>((n_bits + 1022) << 52);
  const double y = p * half_scale * 2.0;
  // Out of range, n_bits is garbage: the selects below replace it (NaN falls through as NaN).
  return x < -707.7 ? 0.0 : x > 709.782712893384 ? std::numeric_limits<double>::infinity() : y;
}

// e^x - 1 with relative precision near 0: for |x| < 1/2 the Taylor series of e^x - 1 to degree 16
// (truncation below 1e-19 relative), elsewhere exp_vec(x) - 1, where |e^x - 1| > 0.39 keeps the
// cancellation under 2 bits. Within 4 ulp; both branches are computed, so a loop still vectorises.
inline double expm1_vec(double x) {
  // x (1/1! + x/2! + ... + x^15/16!) by Horner; k! is exact in a double up to 16!.
  double p = 1.0 / 20922789888000.0;
  p = p * x + 1.0 / 1307674368000.0;
  p = p * x + 1.0 / 87178291200.0;
  p = p * x + 1.0 / 6227020800.0;
  p = p * x + 1.0 / 479001600.0;
  p = p * x + 1.0 / 39916800.0;
  p = p * x + 1.0 / 3628800.0;
  p = p * x + 1.0 / 362880.0;
  p = p * x + 1.0 / 40320.0;
  p = p * x + 1.0 / 5040.0;
  p = p * x + 1.0 / 720.0;
  p = p * x + 1.0 / 120.0;
  p = p * x + 1.0 / 24.0;
  p = p * x + 1.0 / 6.0;
  p = p * x + 1.0 / 2.0;
  p = p * x + 1.0 / 1.0;
  const double small = p * x;
  const double large = exp_vec(x) - 1.0;
  return std::abs(x) < 0.5 ? small : large;
}

}  // namespace gkd::kernels::cpu
