// AVX-512 helpers for the CPU twins' intrinsic paths (eight double lanes): float <-> double
// conversion, loads and stores of eight values of T as doubles, and the interleaving rounds of an
// 8 x 8 transpose. Included only where __AVX512F__ is defined; a twin keeps its scalar loop for
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

}  // namespace gkd::kernels::cpu::avx512
#endif
