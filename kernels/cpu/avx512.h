// AVX-512 helpers for the CPU twins' intrinsic paths (eight double lanes): float <-> double
// conversion, loads and stores of eight values of T as doubles, and an 8 x 8 transpose in
// interleaving rounds. Included only where __AVX512F__ is defined; a twin keeps its scalar loop for
// other builds, with the same bits.
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>

#include <type_traits>

namespace gkd::kernels::cpu::avx512 {

// The zero-masked conversions with every lane kept: GCC 12 warns that the plain forms'
// undefined pass-through operand may be used uninitialized.
inline __m512d widen(__m256 x) {
  return _mm512_maskz_cvtps_pd(0xFF, x);
}
inline __m256 narrow(__m512d x) {
  return _mm512_maskz_cvtpd_ps(0xFF, x);
}

// p[0..8) as doubles (exact for float).
template <class T>
inline __m512d load8(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return widen(_mm256_loadu_ps(p));
  } else {
    return _mm512_loadu_pd(p);
  }
}

// p[0..8) = v, each lane rounded to T.
template <class T>
inline void store8(T* p, __m512d v) {
  if constexpr (std::is_same_v<T, float>) {
    _mm256_storeu_ps(p, narrow(v));
  } else {
    _mm512_storeu_pd(p, v);
  }
}

// Round R (1, 2, 3) of an 8 x 8 transpose: x and y cut into blocks of 2^(R-1) lanes; the low
// interleave is x's and y's even-numbered blocks in turn, the high one their odd-numbered blocks.
// Round 1: (x0, y0, x2, y2, ...) and (x1, y1, x3, y3, ...); round 3: (x0..x3, y0..y3) and
// (x4..x7, y4..y7). Two-source permutes: the unpack forms make GCC 12 warn as above.
template <int R, bool High>
inline __m512d interleave(__m512d x, __m512d y) {
  static_assert(R >= 1 && R <= 3);
  constexpr auto index = [](int l) {
    constexpr int b = 1 << (R - 1);
    const int block = l / b;  // output blocks alternate between x (even) and y (odd)
    return (block % 2 ? 8 : 0) + (block / 2) * 2 * b + (High ? b : 0) + l % b;
  };
  return _mm512_permutex2var_pd(x,
                                _mm512_setr_epi64(index(0), index(1), index(2), index(3), index(4),
                                                  index(5), index(6), index(7)),
                                y);
}

// m[c] becomes column c of the 8 x 8 matrix whose row r was m[r] (lane r of the result: m[r][c]),
// in the three interleaving rounds above.
inline void transpose8(__m512d m[8]) {
  // Round 1: t[2k] = (m_2k[0], m_2k+1[0], m_2k[2], m_2k+1[2], ...), t[2k+1] the odd columns.
  __m512d t[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = interleave<1, false>(m[2 * k], m[2 * k + 1]);
    t[2 * k + 1] = interleave<1, true>(m[2 * k], m[2 * k + 1]);
  }
  // Round 2: u[4q + c] holds columns c and c + 4 of rows 4q..4q+3.
  __m512d u[8];
  for (int q = 0; q < 2; ++q) {
    u[4 * q + 0] = interleave<2, false>(t[4 * q], t[4 * q + 2]);      // columns 0, 4
    u[4 * q + 2] = interleave<2, true>(t[4 * q], t[4 * q + 2]);       // columns 2, 6
    u[4 * q + 1] = interleave<2, false>(t[4 * q + 1], t[4 * q + 3]);  // columns 1, 5
    u[4 * q + 3] = interleave<2, true>(t[4 * q + 1], t[4 * q + 3]);   // columns 3, 7
  }
  // Round 3: column c of all eight rows, for c < 4 from the low halves, c + 4 from the high.
  for (int c = 0; c < 4; ++c) {
    m[c] = interleave<3, false>(u[c], u[4 + c]);
    m[c + 4] = interleave<3, true>(u[c], u[4 + c]);
  }
}

}  // namespace gkd::kernels::cpu::avx512
#endif
