// CPU twin of sparse dropout (kernels/sparse.h): the keep mask in batches of Philox words (in
// parallel), then the kept entries of A's rows and of Aᵀ's rows, each compacted in one serial pass
// over chunks of 16 entries. A chunk's kept entries are stored at the next free slots, in order
// (AVX-512: compress-stores; otherwise a branch-free scalar loop: a branch on the random mask would
// mispredict on most entries); each chunk records its mask and the kept count before it, from
// which the row pointers follow. The passes are serial, so the result does not depend on the
// thread count; they cost far less than the SpMMs they shrink.
#include <algorithm>
#include <bit>
#include <type_traits>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/philox_batch.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

constexpr int64_t kLanes = 16;

// The kept count before each chunk and each chunk's mask (bit l: entry 16 j + l kept), and an
// empty chunk past the end holding the total, so the count before any position 0..entries is
// defined.
struct ChunkMasks {
  std::vector<int32_t> before;
  std::vector<uint16_t> mask;
  explicit ChunkMasks(int64_t entries)
      : before((entries + kLanes - 1) / kLanes + 1), mask(before.size(), 0) {}
  // Kept entries before position k.
  int64_t kept_before(int64_t k) const {
    const uint32_t below = (1u << (k % kLanes)) - 1u;
    return before[k / kLanes] + std::popcount(static_cast<uint32_t>(mask[k / kLanes]) & below);
  }
  // out[r] = kept entries before the start of row r, for each of a CSR's rows + 1 pointers.
  void row_pointers(const CsrView& csr, int64_t* out) const {
    for (int64_t r = 0; r <= csr.rows; ++r) out[r] = kept_before(csr.indptr[r]);
  }
};

// A's entries [k0, k0 + n), n <= 16, kept where position[k] is 1: their columns and scaled values
// stored from slot q on, each entry's kept position (-1 when dropped) into position[k], and the
// chunk's mask into *mask_out. Returns the next free slot.
template <class T>
int32_t compact_rows_chunk(const CsrView& rows, const T* values, T scale, int32_t* position,
                           int64_t k0, int64_t n, int32_t q, int32_t* indices, T* kept_values,
                           uint16_t* mask_out) {
#if defined(__AVX512F__)
  if (n == kLanes) {
    const __m512i flags = _mm512_loadu_si512(position + k0);
    const __mmask16 m = _mm512_test_epi32_mask(flags, flags);
    _mm512_mask_compressstoreu_epi32(indices + q, m, _mm512_loadu_si512(rows.indices + k0));
    if constexpr (std::is_same_v<T, float>) {
      const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(values + k0), _mm512_set1_ps(scale));
      _mm512_mask_compressstoreu_ps(kept_values + q, m, v);
    } else {
      const __mmask8 low = static_cast<__mmask8>(m), high = static_cast<__mmask8>(m >> 8);
      const __m512d s = _mm512_set1_pd(scale);
      _mm512_mask_compressstoreu_pd(kept_values + q, low,
                                    _mm512_mul_pd(_mm512_loadu_pd(values + k0), s));
      _mm512_mask_compressstoreu_pd(kept_values + q + std::popcount(static_cast<unsigned>(low)),
                                    high, _mm512_mul_pd(_mm512_loadu_pd(values + k0 + 8), s));
    }
    const __m512i slots =
        _mm512_add_epi32(_mm512_set1_epi32(q),
                         _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    _mm512_storeu_si512(position + k0, _mm512_mask_expand_epi32(_mm512_set1_epi32(-1), m, slots));
    *mask_out = m;
    return q + std::popcount(static_cast<unsigned>(m));
  }
#endif
  uint32_t m = 0;
  for (int64_t l = 0; l < n; ++l) {
    const int64_t k = k0 + l;
    const int32_t kept = position[k];  // 1 or 0
    // Written at the next free slot either way (at most position k: inside the outputs).
    indices[q] = rows.indices[k];
    kept_values[q] = values[k] * scale;
    position[k] = (q + 1) * kept - 1;
    m |= static_cast<uint32_t>(kept) << l;
    q += kept;
  }
  *mask_out = static_cast<uint16_t>(m);
  return q;
}

// Aᵀ's entries [t0, t0 + n), n <= 16, kept where their A position was (position[] after A's
// pass): their rows and kept CSR positions stored from slot q on, the chunk's mask into *mask_out.
// Returns the next free slot.
inline int32_t compact_cols_chunk(const CsrView& cols, const int32_t* position, int64_t t0,
                                  int64_t n, int32_t q, int32_t* t_indices, int32_t* t_positions,
                                  uint16_t* mask_out) {
#if defined(__AVX512F__)
  if (n == kLanes) {
    // The masked form with every lane on: GCC 12 warns that the plain form's pass-through
    // operand may be used uninitialized.
    const __m512i kept = _mm512_mask_i32gather_epi32(
        _mm512_setzero_si512(), 0xFFFF, _mm512_loadu_si512(cols.edge_ids + t0), position, 4);
    const __mmask16 m = _mm512_cmpge_epi32_mask(kept, _mm512_setzero_si512());
    _mm512_mask_compressstoreu_epi32(t_indices + q, m, _mm512_loadu_si512(cols.indices + t0));
    _mm512_mask_compressstoreu_epi32(t_positions + q, m, kept);
    *mask_out = m;
    return q + std::popcount(static_cast<unsigned>(m));
  }
#endif
  uint32_t m = 0;
  for (int64_t l = 0; l < n; ++l) {
    const int32_t kept_position = position[cols.edge_ids[t0 + l]];
    const auto kept = static_cast<int32_t>(~static_cast<uint32_t>(kept_position) >> 31);
    t_indices[q] = cols.indices[t0 + l];
    t_positions[q] = kept_position;
    m |= static_cast<uint32_t>(kept) << l;
    q += kept;
  }
  *mask_out = static_cast<uint16_t>(m);
  return q;
}

}  // namespace

template <class T>
void sparse_dropout(const SparseDropoutArgs<T>& a) {
  const int64_t nnz = a.a.nnz;
  const float p = a.p;  // a local: stores through the outputs may alias a's fields
  const T scale = T(1) / (T(1) - static_cast<T>(p));
  // The mask, as position[k] = 1 (kept) or 0: the words ops::dropout draws for [nnz, 1] values.
  constexpr int64_t kBatch = 4 * kPhiloxLanes;
  const int64_t batches = (nnz + kBatch - 1) / kBatch;
#pragma omp parallel for schedule(static) if (nnz > (int64_t{1} << 14))
  for (int64_t b = 0; b < batches; ++b) {
    uint32_t words[kBatch];
    philox_words(a.seed, a.stream, static_cast<uint64_t>(b) * kPhiloxLanes, words);
    const int64_t begin = b * kBatch, n = std::min(nnz, begin + kBatch) - begin;
    for (int64_t k = 0; k < n; ++k) a.position[begin + k] = keep(words[k], p) ? 1 : 0;
  }
  ChunkMasks chunks(nnz);
  int32_t q = 0;
  for (int64_t k0 = 0, j = 0; k0 < nnz; k0 += kLanes, ++j) {
    chunks.before[j] = q;
    q = compact_rows_chunk(a.a, a.values, scale, a.position, k0, std::min(kLanes, nnz - k0), q,
                           a.indices, a.kept_values, &chunks.mask[j]);
  }
  chunks.before.back() = q;
  chunks.row_pointers(a.a, a.indptr);
  q = 0;
  for (int64_t t0 = 0, j = 0; t0 < nnz; t0 += kLanes, ++j) {
    chunks.before[j] = q;
    q = compact_cols_chunk(a.at, a.position, t0, std::min(kLanes, nnz - t0), q, a.t_indices,
                           a.t_positions, &chunks.mask[j]);
  }
  chunks.before.back() = q;
  chunks.row_pointers(a.at, a.t_indptr);
}

template void sparse_dropout<float>(const SparseDropoutArgs<float>&);
template void sparse_dropout<double>(const SparseDropoutArgs<double>&);

}  // namespace gkd::kernels::cpu
