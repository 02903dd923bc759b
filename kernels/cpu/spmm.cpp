// CPU twin of SpMM: one output row at a time (row-parallel, no shared writes), edges summed in CSR
// order in double, so the result is deterministic at any thread count.
//
// Columns are processed in blocks: a block's accumulators stay in registers across the row's edges
// (a whole-row accumulator in memory makes every edge wait on a store-to-load round trip); a block
// may hold several narrow heads (GAT's 8 heads of 8) with one weight per head; a wide x runs in
// passes of columns that fit in L2. Each output element still sums its edges in CSR order, so no
// blocking changes a bit.
#include <algorithm>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/avx512.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// Columns per block within one head, and per block of narrow heads. GCC keeps 16 double
// accumulators of one weight in registers, but not 32 (it falls back to scalar code).
constexpr int64_t kBlock = 16;
// Columns per block within one head of a width that is a multiple of it, and per block of narrow
// heads: each block is one walk of the row's edges, whose end is a mispredicted branch on rows of
// a few edges. 8 accumulator vectors still leave registers for the weights and loads: four lanes
// of 32 columns with AVX2's 16 registers, eight of 64 with AVX-512's 32 (GAT's 8 heads of 8 and a
// 64-wide projection in one walk instead of two).
#if defined(__AVX512F__)
constexpr int64_t kWideBlock = 64;
#else
constexpr int64_t kWideBlock = 32;
#endif
constexpr int64_t kHeadsBlock = kWideBlock;

// Edge weights: weight(e, g) = w[e * stride + g] (null: all ones). g counts heads from the first
// head of the block.
template <class T>
struct HeadWeights {
  const T* w;
  int64_t stride;
};

// Double lanes (GCC/Clang vector extension): the block below is written in these so that every
// edge is a few full-width converts, multiplies and adds. Left to itself, GCC's SLP vectoriser
// split a 16-column block into runs of 1 + 8 + 4 + 2 + 1 lanes. Four lanes fill an AVX2
// register; with AVX-512 a block of whole 8-column vectors runs in eight, which halves the
// converts, multiplies and adds per edge. Narrow blocks (7 classes) keep four lanes and a scalar
// tail: one masked 8-lane vector measured slower (gkd-bench cpu spmm --feat 7: 25 against 22 us).
template <class T, int64_t W>
struct VectorOf;  // W lanes of T (an attribute on a dependent type would be ignored)
template <>
struct VectorOf<double, 4> {
  using type = double __attribute__((vector_size(32)));
};
template <>
struct VectorOf<double, 8> {
  using type = double __attribute__((vector_size(64)));
};
template <>
struct VectorOf<float, 4> {
  using type = float __attribute__((vector_size(16)));
};
template <>
struct VectorOf<float, 8> {
  using type = float __attribute__((vector_size(32)));
};
// Without AVX, compilers note that returning lanes by value has an ABI of its own. No lanes value
// crosses a call: every helper that returns one is inlined into the block below.
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__AVX512F__)
constexpr int64_t kMaxLanes = 8;
#else
constexpr int64_t kMaxLanes = 4;
#endif

// Lanes per vector for a block of N columns in heads of width F: a vector holds whole heads or
// lies inside one.
template <int64_t N, int64_t F>
constexpr int64_t lanes_for() {
  const bool wide = kMaxLanes == 8 && N % 8 == 0 && (F % 8 == 0 || 8 % F == 0);
  return wide ? 8 : 4;
}

template <int64_t W, class T>
inline typename VectorOf<double, W>::type load_lanes(const T* p) {
  using V = typename VectorOf<double, W>::type;
#if defined(__AVX512F__)
  if constexpr (W == 8) return reinterpret_cast<V>(avx512::load8(p));
#endif
  if constexpr (W == 4) {
#if defined(__AVX__)
    // GCC 12 splits a converting vector-extension load into two 2-lane halves.
    if constexpr (std::is_same_v<T, float>) {
      return reinterpret_cast<V>(_mm256_cvtps_pd(_mm_loadu_ps(p)));
    } else {
      return reinterpret_cast<V>(_mm256_loadu_pd(p));
    }
#else
    return V{static_cast<double>(p[0]), static_cast<double>(p[1]), static_cast<double>(p[2]),
             static_cast<double>(p[3])};
#endif
  }
}

// acc + w * x. With float operands, w * x is exact in double (24 + 24 significant bits), so a
// fused multiply-add rounds exactly once, as the add alone would: the same bits in one instruction
// instead of two. Double operands keep the rounded product, then the add.
template <class T, class V>
__attribute__((always_inline)) inline V multiply_add(V acc, V w, V x) {
#if defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (sizeof(V) == 64) {
#if defined(__AVX512F__)
      return reinterpret_cast<V>(_mm512_fmadd_pd(reinterpret_cast<__m512d>(w),
                                                 reinterpret_cast<__m512d>(x),
                                                 reinterpret_cast<__m512d>(acc)));
#endif
    } else if constexpr (sizeof(V) == 32) {
      return reinterpret_cast<V>(_mm256_fmadd_pd(reinterpret_cast<__m256d>(w),
                                                 reinterpret_cast<__m256d>(x),
                                                 reinterpret_cast<__m256d>(acc)));
    } else {
      return __builtin_fma(w, x, acc);  // a scalar double
    }
  }
#endif
  return acc + w * x;
}

// A vector whose lane l is lane(l).
template <class V, class Lane, size_t... L>
__attribute__((always_inline)) inline V lanes_from(Lane&& lane, std::index_sequence<L...>) {
  return V{lane(static_cast<int64_t>(L))...};
}

// Σ_{p in [begin, end)} w_p(head) x[col(p), j0 + j] for the N columns from j0, which span N / F
// heads of width F (F = N: one head's weights for all N), scaled, into y[j0 ..). N is a
// compile-time constant, so the accumulators stay in registers across the row's edges: whole
// vectors, then (one head only) a scalar tail of N % W columns. Each element is w * x added to its
// sum edge by edge in CSR order (no weights: x itself, the same as 1.0 * x), so the lane layout
// changes no bit.
template <class T, int64_t N, int64_t F, bool kWeighted>
void block(const SpmmArgs<T>& a, HeadWeights<T> hw, int64_t begin, int64_t end, int64_t j0,
           double scale, T* y) {
  constexpr int64_t W = lanes_for<N, F>();
  using Lanes = typename VectorOf<double, W>::type;
  constexpr int64_t kChunks = N / W, kTail = N % W;
  static_assert(kTail == 0 ? F % W == 0 || W % F == 0 : F == N, "whole lanes of whole heads");
  // Edge p's row of x, and its weight for every lane (w) and the tail (w_tail). Always inlined:
  // as a call, the accumulators would live in memory (GCC stops inlining in many instantiations).
  const auto edge = [&](int64_t p, Lanes * w, double* w_tail) __attribute__((always_inline)) {
    if constexpr (kWeighted) {
      const T* wp = hw.w + edge_id(a.a, p) * hw.stride;
      if constexpr (kTail > 0) *w_tail = static_cast<double>(wp[0]);
      for (int64_t c = 0; c < kChunks; ++c) {
        if constexpr (F % W == 0 || kTail != 0) {  // one head per chunk: a broadcast
          const double v = static_cast<double>(wp[W * c / F]);
          w[c] = lanes_from<Lanes>([&](int64_t) { return v; }, std::make_index_sequence<W>{});
        } else {
          w[c] =
              lanes_from<Lanes>([&](int64_t l) { return static_cast<double>(wp[(W * c + l) / F]); },
                                std::make_index_sequence<W>{});
        }
      }
    }
    return a.x.data + a.a.indices[p] * a.x.ld + j0;
  };
  const auto term = [](const T* x, const Lanes* w, int64_t c) __attribute__((always_inline)) {
    if constexpr (kWeighted) {
      return w[c] * load_lanes<W>(x + W * c);
    } else {
      return load_lanes<W>(x + W * c);
    }
  };
  const auto tail_term = [](const T* x, double w, int64_t j) __attribute__((always_inline)) {
    if constexpr (kWeighted) {
      return w * static_cast<double>(x[W * kChunks + j]);
    } else {
      return static_cast<double>(x[W * kChunks + j]);
    }
  };
  Lanes acc[kChunks > 0 ? kChunks : 1], w[kWeighted && kChunks > 0 ? kChunks : 1];
  double tail[kTail > 0 ? kTail : 1], w_tail = 1.0;
  // The first edge initialises the accumulators: zeroing them first costs a `rep stos` per call
  // (the compiler's choice), which rows of a few edges (sparse features) notice.
  if (begin == end) {
    for (int64_t c = 0; c < kChunks; ++c) acc[c] = Lanes{};
    for (int64_t j = 0; j < kTail; ++j) tail[j] = 0.0;
  } else {
    const T* x = edge(begin, w, &w_tail);
    for (int64_t c = 0; c < kChunks; ++c) acc[c] = term(x, w, c);
    for (int64_t j = 0; j < kTail; ++j) tail[j] = tail_term(x, w_tail, j);
  }
  for (int64_t p = begin + 1; p < end; ++p) {
    const T* x = edge(p, w, &w_tail);
    if constexpr (kWeighted) {
      for (int64_t c = 0; c < kChunks; ++c) {
        acc[c] = multiply_add<T>(acc[c], w[c], load_lanes<W>(x + W * c));
      }
      for (int64_t j = 0; j < kTail; ++j) {
        tail[j] = multiply_add<T>(tail[j], w_tail, static_cast<double>(x[W * kChunks + j]));
      }
    } else {
      for (int64_t c = 0; c < kChunks; ++c) acc[c] += term(x, w, c);
      for (int64_t j = 0; j < kTail; ++j) tail[j] += tail_term(x, w_tail, j);
    }
  }
  // Each element is static_cast<T>(sum * scale), added to y in T when accumulating: whole vectors
  // (a store lane by lane is as long as the sum itself on rows of a few edges), then the tail.
  T* out = y + j0;
  using Out = typename VectorOf<T, W>::type;
  const Lanes scales =
      lanes_from<Lanes>([&](int64_t) { return scale; }, std::make_index_sequence<W>{});
  for (int64_t c = 0; c < kChunks; ++c) {
    Out v = __builtin_convertvector(acc[c] * scales, Out);
    if (a.accumulate) {
      Out old;
      std::memcpy(&old, out + W * c, sizeof(Out));
      v += old;
    }
    std::memcpy(out + W * c, &v, sizeof(Out));
  }
  for (int64_t j = 0; j < kTail; ++j) {
    const T v = static_cast<T>(tail[j] * scale);
    out[W * kChunks + j] = a.accumulate ? out[W * kChunks + j] + v : v;
  }
}

// A block of N columns (heads of width F), weighted or not.
template <class T, int64_t N, int64_t F>
void any_block(const SpmmArgs<T>& a, HeadWeights<T> hw, int64_t begin, int64_t end, int64_t j0,
               double scale, T* y) {
  if (hw.w) {
    block<T, N, F, true>(a, hw, begin, end, j0, scale, y);
  } else {
    block<T, N, F, false>(a, hw, begin, end, j0, scale, y);
  }
}

// Calls fn(std::integral_constant<int64_t, n>) for 1 <= n <= sizeof...(I).
template <class Fn, size_t... I>
void with_width(int64_t n, Fn&& fn, std::index_sequence<I...>) {
  (void)((n == static_cast<int64_t>(I + 1) &&
          (fn(std::integral_constant<int64_t, I + 1>{}), true)) ||
         ...);
}

// n < kBlock columns of one head (class counts, a width's remainder): a block of exactly n.
template <class T>
void narrow_block(const SpmmArgs<T>& a, HeadWeights<T> hw, int64_t begin, int64_t end, int64_t j0,
                  int64_t n, double scale, T* y) {
  with_width(
      n,
      [&](auto width) {
        constexpr int64_t kWidth = decltype(width)::value;
        any_block<T, kWidth, kWidth>(a, hw, begin, end, j0, scale, y);
      },
      std::make_index_sequence<kBlock - 1>{});
}

// Runs `fn(std::integral_constant<int64_t, F>)` for a head width F that divides kHeadsBlock (so a
// block holds whole heads, e.g. GAT's 8 heads of 8), else does nothing.
template <class Fn>
void with_small_head(int64_t f, Fn&& fn) {
  switch (f) {
    case 2:
      return fn(std::integral_constant<int64_t, 2>{});
    case 4:
      return fn(std::integral_constant<int64_t, 4>{});
    case 8:
      return fn(std::integral_constant<int64_t, 8>{});
    case 16:
      return fn(std::integral_constant<int64_t, 16>{});
    case 32:
      if constexpr (kHeadsBlock > 32) return fn(std::integral_constant<int64_t, 32>{});
      return;
    default:
      return;
  }
}

// Columns of x per pass over the CSR: a pass gathers rows of x at random, so the columns it reads
// should stay in L2 (a wide x, e.g. K students' features side by side, would otherwise come from
// L3 edge after edge). A pass covers whole heads, or lies inside one head. 1 MiB, a server core's
// L2: at 512 KiB, GAT's [2708, 64] on Cora ran in passes of 48 columns, three walks of 16 each
// (gkd-bench cpu spmm --feat 64 --weighted true --heads 8 on Cora: 57 us; one pass of 64: 43 us).
constexpr int64_t kPassBytes = 1 << 20;

template <class T>
std::vector<std::pair<int64_t, int64_t>> column_passes(const SpmmArgs<T>& a, int64_t f) {
  const int64_t row_bytes = std::max<int64_t>(1, a.x.rows * static_cast<int64_t>(sizeof(T)));
  // Whole wide blocks when 32 columns fit: a pass of 48 would run as three walks of 16.
  const int64_t columns = kPassBytes / row_bytes;
  const int64_t unit = columns >= kWideBlock ? kWideBlock : kBlock;
  const int64_t fit = std::max<int64_t>(kBlock, columns / unit * unit);
  std::vector<std::pair<int64_t, int64_t>> passes;
  if (f >= fit) {
    for (int64_t h = 0; h < a.heads; ++h) {
      for (int64_t c0 = h * f; c0 < (h + 1) * f; c0 += fit) {
        passes.emplace_back(c0, std::min(c0 + fit, (h + 1) * f));
      }
    }
  } else {
    const int64_t heads_per_pass = std::max<int64_t>(1, fit / f);
    for (int64_t h = 0; h < a.heads; h += heads_per_pass) {
      passes.emplace_back(h * f, std::min(a.heads, h + heads_per_pass) * f);
    }
  }
  return passes;
}

// Edge weights of head h: one head's gathered column, a column of [E, H] weights, or none.
template <class T>
HeadWeights<T> head_weights(const SpmmArgs<T>& a, const T* column, int64_t h) {
  return column     ? HeadWeights<T>{column, 1}
         : a.edge_w ? HeadWeights<T>{a.edge_w + h, a.heads}
                    : HeadWeights<T>{nullptr, 0};
}

// A pass whose columns [c0, c1) are whole blocks of one shape (N columns of heads of width F;
// head width f): the row loop calls that block directly. Rows of a few edges (Cora's graph has
// four per row) otherwise spend as long choosing their blocks as summing them.
template <class T, int64_t N, int64_t F, bool kWeighted>
void uniform_pass(const SpmmArgs<T>& a, int64_t f, int64_t c0, int64_t c1, const T* column) {
#pragma omp parallel for schedule(dynamic, 64) if (a.a.nnz * (c1 - c0) > (1 << 16))
  for (int64_t v = 0; v < a.a.rows; ++v) {
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    const double scale = a.mean && end > begin ? 1.0 / static_cast<double>(end - begin) : 1.0;
    T* y = a.y.data + v * a.y.ld;
    for (int64_t j0 = c0; j0 < c1; j0 += N) {
      block<T, N, F, kWeighted>(a, head_weights(a, column, j0 / f), begin, end, j0, scale, y);
    }
  }
}

// Runs the pass through uniform_pass when its blocks, as the general loop in spmm would choose
// them, all have one shape; returns false otherwise.
template <class T>
bool run_uniform_pass(const SpmmArgs<T>& a, int64_t f, int64_t c0, int64_t c1, const T* column) {
  bool done = false;
  const auto run = [&](auto n, auto width) {
    constexpr int64_t kN = decltype(n)::value, kF = decltype(width)::value;
    if (a.edge_w) {
      uniform_pass<T, kN, kF, true>(a, f, c0, c1, column);
    } else {
      uniform_pass<T, kN, kF, false>(a, f, c0, c1, column);
    }
    done = true;
  };
  if (f < kHeadsBlock && (c1 - c0) % kHeadsBlock == 0) {  // whole blocks of narrow heads
    with_small_head(
        f, [&](auto width) { run(std::integral_constant<int64_t, kHeadsBlock>{}, width); });
  }
  if (done) return true;
  if (f % kWideBlock == 0 && c0 % kWideBlock == 0 && (c1 - c0) % kWideBlock == 0) {
    run(std::integral_constant<int64_t, kWideBlock>{},
        std::integral_constant<int64_t, kWideBlock>{});
  } else if (f % kBlock == 0) {  // blocks of 16 within each head
    run(std::integral_constant<int64_t, kBlock>{}, std::integral_constant<int64_t, kBlock>{});
  } else if (f < kBlock) {  // one block per narrow head
    with_width(
        f, [&](auto width) { run(width, width); }, std::make_index_sequence<kBlock - 1>{});
  }
  return done;
}

}  // namespace

template <class T>
void spmm(const SpmmArgs<T>& a) {
  const int64_t f = a.y.cols / a.heads;
  std::vector<T> column;  // one head's weights, contiguous
  for (const std::pair<int64_t, int64_t>& pass : column_passes(a, f)) {
    // Named copies: an OpenMP region cannot capture structured bindings (clang 14).
    const int64_t c0 = pass.first, c1 = pass.second;
    const int64_t first = c0 / f, last = (c1 - 1) / f;
    // A pass over one head of many-headed weights reads that head's column contiguously: edges
    // are visited in random edge-id order (a transposed CSR), and a stride of H would spread the
    // gathers over H times the cache lines.
    const bool gather = a.edge_w != nullptr && a.heads > 1 && first == last;
    if (gather) {
      column.resize(static_cast<size_t>(a.a.nnz));
      for (int64_t e = 0; e < a.a.nnz; ++e) column[e] = a.edge_w[e * a.heads + first];
    }
    const T* gathered = gather ? column.data() : nullptr;
    if (run_uniform_pass(a, f, c0, c1, gathered)) continue;
#pragma omp parallel for schedule(dynamic, 64) if (a.a.nnz * (c1 - c0) > (1 << 16))
    for (int64_t v = 0; v < a.a.rows; ++v) {
      const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
      const double scale = a.mean && end > begin ? 1.0 / static_cast<double>(end - begin) : 1.0;
      T* y = a.y.data + v * a.y.ld;  // [H*F]
      const auto weights = [&](int64_t h) { return head_weights(a, gathered, h); };
      int64_t h = first;
      // Narrow heads: kHeadsBlock / f whole heads per block.
      if (f < kHeadsBlock) {
        with_small_head(f, [&](auto width) {
          constexpr int64_t kWidth = decltype(width)::value;
          for (; h + kHeadsBlock / kWidth - 1 <= last; h += kHeadsBlock / kWidth) {
            any_block<T, kHeadsBlock, kWidth>(a, weights(h), begin, end, h * kWidth, scale, y);
          }
        });
      }
      for (; h <= last; ++h) {
        const int64_t stop = std::min(c1, (h + 1) * f);
        for (int64_t j0 = std::max(c0, h * f); j0 < stop; j0 += kBlock) {
          if (stop - j0 >= kBlock) {
            any_block<T, kBlock, kBlock>(a, weights(h), begin, end, j0, scale, y);
          } else {
            narrow_block<T>(a, weights(h), begin, end, j0, stop - j0, scale, y);
          }
        }
      }
    }
  }
}

template void spmm<float>(const SpmmArgs<float>&);
template void spmm<double>(const SpmmArgs<double>&);

}  // namespace gkd::kernels::cpu
