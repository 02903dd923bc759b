// Raw views shared by every kernel twin. This header includes nothing of ours and no CUDA header:
// kernels/ sits at the bottom of the layering (GUIDE §2).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GKD_HD __host__ __device__
#else
#define GKD_HD
#endif

struct CUstream_st;  // cudaStream_t is CUstream_st*; forward-declared so .h files stay CUDA-free

namespace gkd::kernels {

// An opaque CUDA stream; null is the legacy default stream.
struct Stream {
  CUstream_st* handle = nullptr;
};

// Compressed sparse rows. For a graph's in-CSR, row = destination node, column = source node and
// the edge id of position p is p ("canonical order"). For the transposed (out-) CSR, edge_ids maps
// each position back to the canonical edge id.
struct CsrView {
  int64_t rows = 0;                 // number of rows (destination nodes)
  int64_t cols = 0;                 // number of columns (source nodes)
  int64_t nnz = 0;                  // number of stored edges
  const int64_t* indptr = nullptr;  // [rows + 1], non-decreasing, indptr[0] = 0, indptr[rows] = nnz
  const int32_t* indices = nullptr;  // [nnz], column of each edge, strictly increasing per row
  const int32_t* edge_ids =
      nullptr;  // [nnz] canonical edge id of each position, or null = identity
};

GKD_HD inline int64_t edge_id(const CsrView& csr, int64_t position) {
  return csr.edge_ids ? csr.edge_ids[position] : position;
}

// A row-major matrix view with leading dimension ld >= cols (column slices are views).
template <class T>
struct MatView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  GKD_HD T& operator()(int64_t r, int64_t c) const { return data[r * ld + c]; }
};

template <class T>
struct ConstMatView {
  const T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  GKD_HD const T& operator()(int64_t r, int64_t c) const { return data[r * ld + c]; }
};

}  // namespace gkd::kernels
