// Narrow float GEMMs (kernels/cpu/gemm_narrow.h): blocks of rows of C, each row's accumulators
// in vector registers across the inner dimension, op(B) packed once per call.
#include "kernels/cpu/gemm_narrow.h"

#include <algorithm>
#include <cmath>
#include <vector>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace gkd::kernels::cpu {

namespace {

constexpr int64_t kLanes = 8;  // floats per 256-bit vector
// Accumulator vectors per block of rows: half the vector registers, the rest for loads.
#if defined(__AVX512F__)
constexpr int64_t kAccumulators = 16;
#else
constexpr int64_t kAccumulators = 8;
#endif

// op(B_k) as [inner, width] contiguous rows, zero past C's columns.
void pack_b(const GemmArgs<float>& g, int64_t k, int64_t inner, int64_t width, float* out) {
  const float* b = g.b.data + k * g.stride_b;
  const int64_t cols = g.c.cols, ld = g.b.ld;
  std::fill(out, out + inner * width, 0.0f);
  for (int64_t p = 0; p < inner; ++p) {
    float* row = out + p * width;
    if (g.trans_b) {
      for (int64_t j = 0; j < cols; ++j) row[j] = b[j * ld + p];
    } else {
      std::copy(b + p * ld, b + p * ld + cols, row);
    }
  }
}

// out[j] for j < n from the accumulated sum: alpha sum, or beta out + alpha sum.
inline void store_narrow(float* out, const float* sum, int64_t n, float alpha, float beta) {
  for (int64_t j = 0; j < n; ++j) {
    out[j] = beta == 0.0f ? alpha * sum[j] : beta * out[j] + alpha * sum[j];
  }
}

// One item of a narrow product.
struct NarrowItem {
  const float* a;  // A_k as stored: [M, inner], or [inner, M] when trans_a; row stride lda
  int64_t lda;
  bool trans_a;
  const float* packed;  // op(B_k) from pack_b: [inner, 8 * kChunks] contiguous, zero past cols
  int64_t inner;
  float* c;  // C_k: [M, cols], row stride ldc; overwritten (beta = 0) or scaled
  int64_t ldc, cols;
  float alpha, beta;
};

// Rows [begin, end) of C, end - begin a multiple of kRows, kRows at a time: acc = fma(op(A)[i, p],
// op(B)[p, j], acc) for p = 0, 1, ... from 0, then store_narrow.
template <int64_t kChunks, int64_t kRows, bool kTransA>
void narrow_rows(const NarrowItem& m, int64_t begin, int64_t end) {
  constexpr int64_t kWidth = kLanes * kChunks;
  const int64_t lda = m.lda, inner = m.inner, cols = m.cols;
  const float* packed = m.packed;
  for (int64_t i0 = begin; i0 < end; i0 += kRows) {
    // op(A)[i0 + r, p]: a row of A, or a column when transposed.
    const float* a0 = kTransA ? m.a + i0 : m.a + i0 * lda;
    const auto a_at = [&](int64_t r, int64_t p) {
      return kTransA ? a0[p * lda + r] : a0[r * lda + p];
    };
#if defined(__AVX2__) && defined(__FMA__)
    __m256 acc[kRows][kChunks];
    for (auto& r : acc) {
      for (__m256& v : r) v = _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < inner; ++p) {
      __m256 b[kChunks];
      for (int64_t ch = 0; ch < kChunks; ++ch) {
        b[ch] = _mm256_loadu_ps(packed + p * kWidth + ch * kLanes);
      }
      for (int64_t r = 0; r < kRows; ++r) {
        const __m256 x = _mm256_set1_ps(a_at(r, p));
        for (int64_t ch = 0; ch < kChunks; ++ch) {
          acc[r][ch] = _mm256_fmadd_ps(x, b[ch], acc[r][ch]);
        }
      }
    }
    // Whole vectors of C's row, then its last columns.
    const __m256 alpha = _mm256_set1_ps(m.alpha), beta = _mm256_set1_ps(m.beta);
    for (int64_t r = 0; r < kRows; ++r) {
      float* out = m.c + (i0 + r) * m.ldc;
      int64_t ch = 0;
      for (; ch < kChunks && (ch + 1) * kLanes <= cols; ++ch) {
        __m256 v = _mm256_mul_ps(alpha, acc[r][ch]);
        if (m.beta != 0.0f) {
          v = _mm256_add_ps(_mm256_mul_ps(beta, _mm256_loadu_ps(out + ch * kLanes)), v);
        }
        _mm256_storeu_ps(out + ch * kLanes, v);
      }
      if (ch < kChunks && ch * kLanes < cols) {
        alignas(32) float sum[kLanes];
        _mm256_store_ps(sum, acc[r][ch]);
        store_narrow(out + ch * kLanes, sum, cols - ch * kLanes, m.alpha, m.beta);
      }
    }
#else
    float sum[kRows][kWidth] = {};
    for (int64_t p = 0; p < inner; ++p) {
      for (int64_t r = 0; r < kRows; ++r) {
        const float x = a_at(r, p);
        for (int64_t j = 0; j < kWidth; ++j) {
          sum[r][j] = std::fma(x, packed[p * kWidth + j], sum[r][j]);
        }
      }
    }
    for (int64_t r = 0; r < kRows; ++r) {
      store_narrow(m.c + (i0 + r) * m.ldc, sum[r], cols, m.alpha, m.beta);
    }
#endif
  }
}

// Rows [r0, r0 + n) of C for a narrow product: blocks of kRows rows, then the last rows one at a
// time.
template <int64_t kChunks, bool kTransA>
void narrow_panel(const NarrowItem& m, int64_t r0, int64_t n) {
  constexpr int64_t kRows = std::max<int64_t>(1, kAccumulators / kChunks);
  const int64_t split = r0 + n / kRows * kRows;
  narrow_rows<kChunks, kRows, kTransA>(m, r0, split);
  narrow_rows<kChunks, 1, kTransA>(m, split, r0 + n);
}

template <int64_t kChunks>
void narrow_panel(const NarrowItem& m, int64_t r0, int64_t n) {
  if (m.trans_a) {
    narrow_panel<kChunks, true>(m, r0, n);
  } else {
    narrow_panel<kChunks, false>(m, r0, n);
  }
}

// Vectors per packed row of op(B) for C's columns: 1, 2, 4 or 8.
int64_t narrow_chunks(int64_t cols) {
  int64_t chunks = 1;
  while (chunks * kLanes < cols) chunks *= 2;
  return chunks;
}

}  // namespace

bool is_narrow_gemm(const GemmArgs<float>& g) {
  const int64_t inner = g.trans_a ? g.a.rows : g.a.cols;
  return g.c.cols <= 16 || (g.c.cols <= 64 && inner <= 16);
}

void gemm_narrow(const GemmArgs<float>& g, int64_t panel_rows, bool parallel) {
  const int64_t inner = g.trans_a ? g.a.rows : g.a.cols;
  const int64_t panels = (g.c.rows + panel_rows - 1) / panel_rows, tasks = g.batch * panels;
  const int64_t chunks = narrow_chunks(g.c.cols), width = chunks * kLanes;
  const int64_t items = g.stride_b == 0 ? 1 : g.batch;  // a shared B is packed once
  std::vector<float> packed(static_cast<size_t>(items * inner * width));
  for (int64_t k = 0; k < items; ++k) pack_b(g, k, inner, width, packed.data() + k * inner * width);
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t k = t / panels, r0 = (t % panels) * panel_rows;
    const int64_t n = std::min(panel_rows, g.c.rows - r0);
    const NarrowItem m{.a = g.a.data + k * g.stride_a,
                       .lda = g.a.ld,
                       .trans_a = g.trans_a,
                       .packed = packed.data() + (items == 1 ? 0 : k) * inner * width,
                       .inner = inner,
                       .c = g.c.data + k * g.stride_c,
                       .ldc = g.c.ld,
                       .cols = g.c.cols,
                       .alpha = g.alpha,
                       .beta = g.beta};
    switch (chunks) {
      case 1:
        narrow_panel<1>(m, r0, n);
        break;
      case 2:
        narrow_panel<2>(m, r0, n);
        break;
      case 4:
        narrow_panel<4>(m, r0, n);
        break;
      default:
        narrow_panel<8>(m, r0, n);
        break;
    }
  }
}

}  // namespace gkd::kernels::cpu
