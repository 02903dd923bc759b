// exp and expm1 as branch-free arithmetic, so that loops over them vectorise (glibc's are scalar
// calls, and were a fifth of a GAT epoch on the CPU: edge softmax and ELU), a branch-free select,
// and a vectorisable fixed-order sum.
//
// exp_vec and expm1_vec compute in the type of their argument: for float in float
// arithmetic (sixteen lanes per AVX-512 register, and shorter series), within 1 ulp (exp) and
// 2 ulp (expm1) of the correctly rounded float; the double ones within 2 and 4 ulp of the double
// (tests/unit/test_simd_math.cpp measures all four). They evaluate a function; sums of their
// results are still the caller's, in double.
//
// exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 in two parts, n ln2_hi exact), e^r by a
// Taylor polynomial, and 2^n assembled in the exponent bits. Results below about 1e-307 (double)
// or 1.7e-38 (float, e^-86.9), near the smallest normal number, flush to 0; overflow gives inf
// and NaN stays NaN.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace gkd::kernels::cpu {

namespace simd_detail {

// 1/k! for k = 0..16 in T (k! is exact in a double up to 22!).
template <class T>
inline constexpr T kInvFactorial[] = {T(1.0),
                                      T(1.0),
                                      T(1.0 / 2.0),
                                      T(1.0 / 6.0),
                                      T(1.0 / 24.0),
                                      T(1.0 / 120.0),
                                      T(1.0 / 720.0),
                                      T(1.0 / 5040.0),
                                      T(1.0 / 40320.0),
                                      T(1.0 / 362880.0),
                                      T(1.0 / 3628800.0),
                                      T(1.0 / 39916800.0),
                                      T(1.0 / 479001600.0),
                                      T(1.0 / 6227020800.0),
                                      T(1.0 / 87178291200.0),
                                      T(1.0 / 1307674368000.0),
                                      T(1.0 / 20922789888000.0)};

// Σ_{k=First}^{Last} x^(k-First) / k! by Horner, unrolled at compile time (a loop left in the
// body of an element loop would keep that loop from vectorising).
template <int First, int Last, class T>
inline T taylor(T x) {
  if constexpr (First == Last) {
    return kInvFactorial<T>[Last];
  } else {
    return taylor<First + 1, Last>(x) * x + kInvFactorial<T>[First];
  }
}

// The constants of exp_vec for each type. ln2 is split so that n ln2_hi is exact for every n in
// range; the series degree puts the truncation for |r| <= ln2/2 far below the type's rounding;
// results below kFlush (near the smallest normal number) flush to 0.
template <class T>
struct ExpConstants;
template <>
struct ExpConstants<double> {
  using Bits = uint64_t;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits (fdlibm)
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr int kMantissaBits = 52;
  static constexpr int kDegree = 13;                     // truncation below 5e-18
  static constexpr double kFlush = -707.7;               // e^x about 1e-307
  static constexpr double kOverflow = 709.782712893384;  // ln of the largest double
};
template <>
struct ExpConstants<float> {
  using Bits = uint32_t;
  static constexpr float kLn2Hi = 0.693359375f;  // 9 significant bits (Cephes)
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr int kMantissaBits = 23;
  static constexpr int kDegree = 7;                // truncation below 6e-9
  static constexpr float kFlush = -86.9f;          // e^x about 1.7e-38
  static constexpr float kOverflow = 88.7228391f;  // ln of the largest float
};

}  // namespace simd_detail

template <class T>
inline T exp_vec(T x) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  using C = simd_detail::ExpConstants<T>;
  using Bits = typename C::Bits;
  constexpr T kLog2e = T(1.4426950408889634);
  // Adding 1.5 * 2^mantissa rounds to an integer and leaves it in the low bits of the mantissa.
  constexpr T kShift = T(1.5) * T(Bits{1} << C::kMantissaBits);
  const T t = x * kLog2e + kShift;
  const T n = t - kShift;
  const T r = (x - n * C::kLn2Hi) - n * C::kLn2Lo;
  const T p = simd_detail::taylor<0, C::kDegree>(r);
  // 2^(n-1) times 2: n reaches the exponent bias just below the overflow threshold, where 2^n is
  // not representable; the flush keeps 2^(n-1) normal, and p * 2 >= 1.4 keeps the product
  // normal. Unsigned, so out-of-range garbage wraps instead of overflowing.
  constexpr Bits kHalfBias = (Bits{1} << (sizeof(T) * 8 - C::kMantissaBits - 2)) - 2;
  const Bits n_bits = std::bit_cast<Bits>(t) - std::bit_cast<Bits>(kShift);
  const T half_scale = std::bit_cast<T>(Bits((n_bits + kHalfBias) << C::kMantissaBits));
  const T y = (p * T(2)) * half_scale;
  // Out of range, n_bits is garbage: the selects below replace it (NaN falls through as NaN).
  return x < C::kFlush ? T(0) : x > C::kOverflow ? std::numeric_limits<T>::infinity() : y;
}

// e^x - 1 with relative precision near 0: for |x| < 1/2 the Taylor series x (1 + x/2! + ...),
// elsewhere exp_vec(x) - 1, where |e^x - 1| > 0.39 keeps the cancellation under 2 bits. Both
// sides are computed, so a loop vectorises. Truncation for |x| < 1/2, relative: double to
// x^16/16!, below 5e-20; float to x^8/8!, below 2e-8.
template <class T>
inline T expm1_vec(T x) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  constexpr int kDegree = std::is_same_v<T, double> ? 16 : 8;
  const T small = simd_detail::taylor<1, kDegree>(x) * x;
  const T large = exp_vec(x) - T(1);
  return std::abs(x) < T(0.5) ? small : large;
}

// c ? a : b without a branch: the bits of a or b through an all-ones or all-zero mask. Over a
// random sign (LeakyReLU on attention logits) GCC compiled the plain select to a branch in loops
// over one head, which mispredicted on half the edges; vectorised, this is a blend.
inline double branchless_select(bool c, double a, double b) {
  const uint64_t mask = 0 - static_cast<uint64_t>(c);
  return std::bit_cast<double>((std::bit_cast<uint64_t>(a) & mask) |
                               (std::bit_cast<uint64_t>(b) & ~mask));
}

// Σ_{j<n} term(j) in double as kLanes interleaved partial sums, added in a fixed order at the end:
// the same result on every run and thread count, and a loop the compiler vectorises (a single
// running sum is a dependency chain it must keep in order, one scalar add at a time).
template <class Term>
inline double lane_sum(int64_t n, Term&& term) {
  constexpr int64_t kLanes = 8;
  double part[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) part[l] += term(j + l);
  }
  double tail = 0;
  for (; j < n; ++j) tail += term(j);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7])) +
         tail;
}

}  // namespace gkd::kernels::cpu
