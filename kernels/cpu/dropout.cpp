// CPU twin of inverted dropout. The keep mask is a pure function of (seed, stream, i * cols + j)
// (kernels/philox.h), so forward and backward, CPU and CUDA, draw the same mask without storing it.
// The Philox words come in batches (kernels/cpu/philox_batch.h). A backward call given the
// forward pass reads the mask off it wherever it can, skipping Philox.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/philox_batch.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// The words of logical indices [begin, end) read off the forward pass (kernels/dense.h), when
// every forward input among them is finite and nonzero: all ones where the forward output is
// nonzero (kept: keep() is true for any p < 1), zero where it is not (dropped: false for any
// p > 0, and p = 0 drops nothing, so no output is zero there). Returns false, leaving `words`
// unspecified, when an input does not qualify. The indices run as unit-stride runs: the whole
// range when both forward tensors are contiguous, else runs along rows (row by row, an [E, 8]
// attention tensor cost twice what Philox does). They go in groups of 16 with an early exit:
// inputs after a ReLU hold zeros in most groups, and should cost little more than one group.
template <class T>
bool forward_words(const DropoutArgs<T>& a, int64_t begin, int64_t end, uint32_t* words) {
  constexpr int64_t kGroup = 16;
  const int64_t cols = a.x.cols;
  const bool flat = a.fwd_x.ld == cols && a.fwd_y.ld == cols;
  for (int64_t k = begin; k < end;) {
    const int64_t i = k / cols, j = k % cols, n = flat ? end - k : std::min(end - k, cols - j);
    const T* x = a.fwd_x.data + i * a.fwd_x.ld + j;
    const T* y = a.fwd_y.data + i * a.fwd_y.ld + j;
    uint32_t* w = words + (k - begin);
    for (int64_t g = 0; g < n; g += kGroup) {
      uint32_t ok = 1;  // a qualifying input has 0 < |x| <= max (false for NaN); branch-free
      for (int64_t r = g; r < std::min(n, g + kGroup); ++r) {
        const T magnitude = std::abs(x[r]);
        ok &= static_cast<uint32_t>(magnitude > T(0)) &
              static_cast<uint32_t>(magnitude <= std::numeric_limits<T>::max());
        w[r] = 0u - static_cast<uint32_t>(y[r] != T(0));
      }
      if (ok == 0) return false;
    }
    k += n;
  }
  return true;
}

}  // namespace

template <class T>
void dropout(const DropoutArgs<T>& a) {
  const int64_t rows = a.x.rows, cols = a.x.cols;
  // Locals, not a's fields, in the loops: a store to y (a float) may alias a.p for all the compiler
  // knows, and would then reload it every element and keep the loops scalar.
  const float p = a.p;
  const bool accumulate = a.accumulate;
  const T scale = T(1) / (T(1) - static_cast<T>(p));
  // Chunks of the logical index space k = i * cols + j, one batch of Philox words each, so narrow
  // tensors (an [nnz, 1] value column) use every word drawn instead of one per row.
  constexpr int64_t kChunk = 4 * kPhiloxLanes;
  const int64_t total = rows * cols;
  const int64_t chunks = (total + kChunk - 1) / kChunk;
  // Reading the mask off the forward pass pays when most chunks qualify (inputs after ELU or a
  // softmax); after a ReLU almost none do, and scanning them would only add to Philox's cost. A
  // few chunks across the tensor decide; every chunk is still checked before it is used.
  bool from_forward = a.fwd_x.data != nullptr;
  for (int64_t probe = 0; probe < 4 && from_forward; ++probe) {
    uint32_t scratch[kChunk];
    const int64_t c = probe * (chunks - 1) / 3;
    from_forward = forward_words(a, c * kChunk, std::min(total, (c + 1) * kChunk), scratch);
  }
#pragma omp parallel for schedule(static) if (total > (1 << 14))
  for (int64_t c = 0; c < chunks; ++c) {
    uint32_t words[kChunk];
    const int64_t end = std::min(total, (c + 1) * kChunk);
    if (!from_forward || !forward_words(a, c * kChunk, end, words)) {
      philox_words(a.seed, a.stream, static_cast<uint64_t>(c) * kPhiloxLanes, words);
    }
    if (a.x.ld == cols && a.y.ld == cols) {
      // Contiguous: one flat loop, branch-free (a kept/dropped branch mispredicts half the time)
      // so that it vectorises; the integer test equals philox_uniform(...) >= p exactly.
      const T* x = a.x.data + c * kChunk;
      T* y = a.y.data + c * kChunk;
      const int64_t n = end - c * kChunk;
      if (accumulate) {
        for (int64_t k = 0; k < n; ++k) y[k] += x[k] * (keep(words[k], p) ? scale : T(0));
      } else {
        for (int64_t k = 0; k < n; ++k) y[k] = x[k] * (keep(words[k], p) ? scale : T(0));
      }
      continue;
    }
    if (cols == 1) {  // one column of a wider tensor: a single strided run
      const T* x = a.x.data + c * kChunk * a.x.ld;
      T* y = a.y.data + c * kChunk * a.y.ld;
      for (int64_t t = 0; t < end - c * kChunk; ++t) {
        const T value = x[t * a.x.ld] * (keep(words[t], p) ? scale : T(0));
        y[t * a.y.ld] = accumulate ? y[t * a.y.ld] + value : value;
      }
      continue;
    }
    // A block of a wider tensor (one student's columns of a cohort tensor): the chunk's indices as
    // unit-stride runs along rows, each branch-free like the contiguous loop. Written inline: as a
    // lambda called per run, GCC left these loops scalar (a batched DML pair of GCNs on Cora took
    // 3.2-3.4 instead of 2.0 ms per epoch).
    for (int64_t k = c * kChunk; k < end;) {
      const int64_t i = k / cols, j = k % cols, n = std::min(end - k, cols - j);
      const uint32_t* w = words + (k - c * kChunk);
      const T* x = a.x.data + i * a.x.ld + j;
      T* y = a.y.data + i * a.y.ld + j;
      if (accumulate) {
        for (int64_t t = 0; t < n; ++t) y[t] += x[t] * (keep(w[t], p) ? scale : T(0));
      } else {
        for (int64_t t = 0; t < n; ++t) y[t] = x[t] * (keep(w[t], p) ? scale : T(0));
      }
      k += n;
    }
  }
}

template void dropout<float>(const DropoutArgs<float>&);
template void dropout<double>(const DropoutArgs<double>&);

}  // namespace gkd::kernels::cpu
