// Kernels over a sparse matrix's structure (engine/sparse_matrix.h): a CSR and its transpose.
//
//   sparse_dropout: inverted dropout of the stored values that keeps only the survivors, as a new
//   CSR and its transpose. Bytes: about 48 per stored entry (flags, columns, values and positions
//   read and written, the transpose's gather) + 16 per row pointer; ~40 int ops per entry
//   (Philox).
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

// Entry k of A (CSR position k) is kept iff philox_uniform(seed, stream, k) >= p: the mask
// the dense dropout kernel (kernels/dense.h) draws for the [nnz, 1] column of A's values, so both
// keep the same entries. Outputs: the kept entries in CSR order, valued values[k] * scale with
// scale = T(1) / (T(1) - T(p)), and their transpose in the order of at's rows; then
// indptr[a.rows] is the kept count. Dropped entries are gone, not zeros: an SpMM over the result
// reads 1 - p of A's entries (the sparse dropout of Kipf & Welling's GCN code).
template <class T>
struct SparseDropoutArgs {
  CsrView a;        // A's rows; position k holds values[k]
  CsrView at;       // Aᵀ's rows; at.edge_ids = the A position of each (required)
  const T* values;  // [a.nnz]
  float p;          // drop probability in [0, 1)
  uint64_t seed;
  uint64_t stream;
  // Outputs, with room for every entry of A:
  int64_t* indptr;       // [a.rows + 1]
  int32_t* indices;      // [a.nnz]: column of each kept entry
  T* kept_values;        // [a.nnz]
  int64_t* t_indptr;     // [a.cols + 1]
  int32_t* t_indices;    // [a.nnz]: row of each kept transposed entry
  int32_t* t_positions;  // [a.nnz]: its kept CSR position
  int32_t* position;     // [a.nnz]: the kept position of each A position, -1 when dropped
};

}  // namespace gkd::kernels
