// SparseMatrix: a rectangular sparse matrix [rows, cols] in CSR, stored with its transpose (by
// column, with a map back to CSR positions) so that A·x and Aᵀ·g both run row-parallel through the
// SpMM kernel with no atomics. Its use: bag-of-words node features (Cora: 2708 × 1433 with 1.3%
// nonzeros), whose first-layer product X·W is an SpMM, not a dense GEMM.
//
// Immutable and cheap to copy (shared state), like Graph. Values are one floating dtype. Input
// dropout makes a smaller matrix per step (dropout below): the dropped entries are gone, so the
// step's SpMMs read only the kept ones.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/dtype.h"
#include "engine/tensor.h"
#include "kernels/common.h"

namespace gkd {

class Context;

namespace detail {
struct SparseStructure;
}  // namespace detail

class SparseMatrix {
 public:
  SparseMatrix();  // [0, 0]

  // Row i holds columns indices[indptr[i] .. indptr[i+1]) strictly increasing, with `values`
  // ([nnz, 1], f32 or f64, CPU) in the same order. Fully validated; errors name the field.
  static SparseMatrix from_csr(int64_t rows, int64_t cols, std::vector<int64_t> indptr,
                               std::vector<int32_t> indices, Tensor values);
  // The nonzeros of a dense CPU matrix (tests, small inputs).
  static SparseMatrix from_dense(const Tensor& dense);

  int64_t rows() const;
  int64_t cols() const;
  int64_t nnz() const;
  Device device() const;
  DType dtype() const;
  SparseMatrix to(Device device) const;
  SparseMatrix to_dtype(DType dtype) const;
  Tensor to_dense() const;  // [rows, cols] on the CPU

  kernels::CsrView csr() const;             // rows of A, position p = value p
  kernels::CsrView csr_transposed() const;  // rows of Aᵀ, edge_ids -> position in csr()
  const Tensor& values() const;             // [nnz, 1] on device(), CSR order
  // The same structure (shared) with other values: [nnz, 1] contiguous, f32 or f64, on device().
  SparseMatrix with_values(Tensor values) const;

  // Inverted dropout of the values that keeps only the survivors, on ctx's device: entry p stays,
  // scaled by 1 / (1 - p_drop), when ops::dropout on values() with (seed, stream) would keep it
  // (the same Philox mask), and is removed otherwise. p_drop in [0, 1).
  SparseMatrix dropout(const Context& ctx, float p_drop, uint64_t seed, uint64_t stream) const;

  // Each row divided by its sum (rows summing to 0 stay 0): the Planetoid feature normalisation
  // of Kipf & Welling and PyG's NormalizeFeatures.
  SparseMatrix row_normalized() const;
  // Every stored value set to 1 (PyG's binarisation of the Coauthor word counts).
  SparseMatrix binarized() const;

 private:
  SparseMatrix(std::shared_ptr<const detail::SparseStructure> structure, Tensor values);
  std::shared_ptr<const detail::SparseStructure> structure_;  // on values_'s device
  Tensor values_;
};

}  // namespace gkd
