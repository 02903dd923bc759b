// CUDA twins of inverted dropout (kernels/dense.h) and sparse dropout (kernels/sparse.h). Dense:
// a thread takes four consecutive logical indices 4b .. 4b+3 of the [N, F] view: one Philox block
// gives their four words, the same words philox_bits draws on the CPU, so the mask is
// bit-identical.
#include <cuda_runtime.h>

#include <algorithm>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/philox.h"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__global__ void dropout_kernel(DropoutArgs<float> a, float scale) {
  const int64_t n = a.x.rows * a.x.cols, blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; b < blocks;
       b += int64_t{gridDim.x} * blockDim.x) {
    const auto block = static_cast<uint64_t>(b);
    const Philox4 r = philox4x32_10(
        Philox4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                 static_cast<uint32_t>(a.stream), static_cast<uint32_t>(a.stream >> 32)}},
        static_cast<uint32_t>(a.seed), static_cast<uint32_t>(a.seed >> 32));
    for (int w = 0; w < 4; ++w) {
      const int64_t k = 4 * b + w;
      if (k >= n) break;
      const int64_t i = k / a.x.cols, j = k % a.x.cols;
      // philox_uniform's float compare, as the CPU twin.
      const bool keep = static_cast<float>(r.v[w] >> 8) * (1.0f / 16777216.0f) >= a.p;
      // Explicitly rounded operations: no contraction into an FMA, so y matches the CPU bit for
      // bit (its build compiles with -ffp-contract=off).
      const float value = __fmul_rn(a.x(i, j), keep ? scale : 0.0f);
      float& y = a.y(i, j);
      y = a.accumulate ? __fadd_rn(y, value) : value;
    }
  }
}

}  // namespace

void dropout(const DropoutArgs<float>& a, Stream stream) {
  const int64_t n = a.x.rows * a.x.cols;
  if (n == 0) return;
  const float scale = 1.0f / (1.0f - a.p);
  dropout_kernel<<<grid_for((n + 3) / 4, kBlock), kBlock, 0, raw(stream)>>>(a, scale);
  check_launch("dropout");
}

}  // namespace gkd::kernels::cuda

// ---- sparse dropout (kernels/sparse.h): mask, then A's rows and Aᵀ's rows as count, scan, fill.
// A thread per row; the scans run in one block of kScanThreads with CUB's block scan (no scratch
// memory: each thread scans a contiguous run of rows, the block scans the runs' totals).
namespace gkd::kernels::cuda {
namespace {

constexpr int kScanThreads = 1024;

__global__ void sparse_keep_kernel(int32_t* position, int64_t nnz, float p, uint64_t seed,
                                   uint64_t stream) {
  GKD_GRID_STRIDE(k, nnz) {
    const bool keep = static_cast<float>(philox_bits(seed, stream, static_cast<uint64_t>(k)) >> 8) *
                          (1.0f / 16777216.0f) >=
                      p;
    position[k] = keep ? 1 : 0;
  }
}

// indptr[r + 1] = kept entries of row r: position[k] is 1/0 (A's rows, before the fill) or, with
// `by_id`, position[edge_ids[k]] >= 0 (Aᵀ's rows, after it).
__global__ void count_kept_kernel(CsrView a, const int32_t* position, bool by_id, int64_t* indptr) {
  GKD_GRID_STRIDE(r, a.rows) {
    int64_t n = 0;
    for (int64_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k) {
      n += by_id ? position[a.edge_ids[k]] >= 0 : position[k];
    }
    indptr[r + 1] = n;
  }
}

// indptr[0] = 0 and indptr[1 .. rows] (counts) into their running sums, in one block.
__global__ void scan_counts_kernel(int64_t* indptr, int64_t rows) {
  using BlockScan = cub::BlockScan<int64_t, kScanThreads>;
  __shared__ typename BlockScan::TempStorage temp;
  if (threadIdx.x == 0) indptr[0] = 0;
  const int64_t per_thread = (rows + kScanThreads - 1) / kScanThreads;
  const int64_t begin = 1 + threadIdx.x * per_thread;
  const int64_t end = min(rows + 1, begin + per_thread);
  int64_t total = 0;
  for (int64_t r = begin; r < end; ++r) total += indptr[r];
  int64_t offset;
  BlockScan(temp).ExclusiveSum(total, offset);
  for (int64_t r = begin; r < end; ++r) {
    offset += indptr[r];
    indptr[r] = offset;
  }
}

__global__ void fill_rows_kernel(SparseDropoutArgs<float> a, float scale) {
  GKD_GRID_STRIDE(r, a.a.rows) {
    int64_t q = a.indptr[r];
    for (int64_t k = a.a.indptr[r]; k < a.a.indptr[r + 1]; ++k) {
      if (a.position[k] != 0) {
        a.indices[q] = a.a.indices[k];
        a.kept_values[q] = __fmul_rn(a.values[k], scale);  // unfused, as the CPU
        a.position[k] = static_cast<int32_t>(q++);
      } else {
        a.position[k] = -1;
      }
    }
  }
}

__global__ void fill_transposed_kernel(SparseDropoutArgs<float> a) {
  GKD_GRID_STRIDE(c, a.at.rows) {
    int64_t q = a.t_indptr[c];
    for (int64_t t = a.at.indptr[c]; t < a.at.indptr[c + 1]; ++t) {
      const int32_t position = a.position[a.at.edge_ids[t]];
      if (position >= 0) {
        a.t_indices[q] = a.at.indices[t];
        a.t_positions[q++] = position;
      }
    }
  }
}

}  // namespace

void sparse_dropout(const SparseDropoutArgs<float>& a, Stream stream) {
  const cudaStream_t s = raw(stream);
  const float scale = 1.0f / (1.0f - a.p);
  if (a.a.nnz > 0) {
    sparse_keep_kernel<<<grid_for(a.a.nnz, kBlock), kBlock, 0, s>>>(a.position, a.a.nnz, a.p,
                                                                    a.seed, a.stream);
  }
  count_kept_kernel<<<grid_for(std::max<int64_t>(a.a.rows, 1), kBlock), kBlock, 0, s>>>(
      a.a, a.position, false, a.indptr);
  scan_counts_kernel<<<1, kScanThreads, 0, s>>>(a.indptr, a.a.rows);
  fill_rows_kernel<<<grid_for(std::max<int64_t>(a.a.rows, 1), kBlock), kBlock, 0, s>>>(a, scale);
  count_kept_kernel<<<grid_for(std::max<int64_t>(a.at.rows, 1), kBlock), kBlock, 0, s>>>(
      a.at, a.position, true, a.t_indptr);
  scan_counts_kernel<<<1, kScanThreads, 0, s>>>(a.t_indptr, a.at.rows);
  fill_transposed_kernel<<<grid_for(std::max<int64_t>(a.at.rows, 1), kBlock), kBlock, 0, s>>>(a);
  check_launch("sparse_dropout");
}

}  // namespace gkd::kernels::cuda
