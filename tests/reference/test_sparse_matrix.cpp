// SparseMatrix: its CSR and transpose, sparse_matmul (bag-of-words features times a weight matrix)
// against the dense product in double, both directions and write modes, and sparse dropout
// against the Philox mask it is defined by.
#include <doctest/doctest.h>
#include <omp.h>

#include <vector>

#include "autograd/functions_graph.h"
#include "engine/ops_dense.h"
#include "engine/ops_graph.h"
#include "engine/sparse_matrix.h"
#include "kernels/philox.h"
#include "tests/support/checks.h"

using namespace gkd;

namespace {

// A random sparse matrix with empty rows and columns: about `density` of the entries nonzero.
SparseMatrix random_sparse(int64_t rows, int64_t cols, double density, uint64_t seed, DType dtype) {
  Eigen::MatrixXd d = test::to_eigen(test::random_tensor(rows, cols, DType::kF64, seed));
  const Eigen::MatrixXd keep =
      test::to_eigen(test::random_tensor(rows, cols, DType::kF64, seed + 1, 0, 1));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      if (keep(i, j) >= density || i == 2 || j == 1) d(i, j) = 0;  // row 2, column 1 empty
    }
  }
  return SparseMatrix::from_dense(test::from_eigen(d, dtype));
}

}  // namespace

TEST_CASE("sparse_matrix: CSR, transpose and dense agree; transforms") {
  const SparseMatrix a = random_sparse(9, 13, 0.3, test::fresh_seed(), DType::kF64);
  const Eigen::MatrixXd dense = test::to_eigen(a.to_dense());
  // Rebuild the dense matrix from the transposed CSR and its position map.
  const kernels::CsrView t = a.csr_transposed();
  const std::vector<double> v = a.values().to_vector<double>();
  Eigen::MatrixXd from_t = Eigen::MatrixXd::Zero(9, 13);
  for (int64_t c = 0; c < t.rows; ++c) {
    for (int64_t p = t.indptr[c]; p < t.indptr[c + 1]; ++p)
      from_t(t.indices[p], c) = v[t.edge_ids[p]];
  }
  CHECK(from_t == dense);
  const Eigen::MatrixXd norm = test::to_eigen(a.row_normalized().to_dense());
  for (int64_t i = 0; i < 9; ++i) {
    const double s = dense.row(i).sum();
    CHECK(test::close_ratio(
              norm.row(i),
              s != 0 ? Eigen::MatrixXd(dense.row(i) / s) : Eigen::MatrixXd(dense.row(i)), 1e-12,
              1e-12) <= 1.0);
  }
  const Eigen::MatrixXd bin = test::to_eigen(a.binarized().to_dense());
  CHECK(bin == (dense.array() != 0).cast<double>().matrix());
}

TEST_CASE("sparse_matrix: malformed CSR is rejected naming the field") {
  const Tensor v = Tensor::full(2, 1, 1.0, DType::kF32);
  CHECK(test::error_of([&] {
          SparseMatrix::from_csr(2, 3, {0, 1}, {0, 1}, v);
        }).find("indptr has 2 entries (expected rows + 1 = 3)") != std::string::npos);
  CHECK(test::error_of([&] {
          SparseMatrix::from_csr(2, 3, {0, 2, 2}, {1, 1}, v);
        }).find("not strictly increasing") != std::string::npos);
  CHECK(test::error_of([&] {
          SparseMatrix::from_csr(2, 3, {0, 1, 2}, {0, 3}, v);
        }).find("indices[1] is 3 (expected a column in [0, 3))") != std::string::npos);
  CHECK(test::error_of([&] {
          SparseMatrix::from_csr(3, 3, {0, 2, 1, 2}, {0, 1}, v);
        }).find("indptr decreases at row 1") != std::string::npos);
  CHECK(test::error_of([&] {
          SparseMatrix::from_csr(2, 3, {0, 1, 2}, {0, 1}, Tensor::full(2, 1, NAN, DType::kF32));
        }).find("expected finite values") != std::string::npos);
}

TEST_CASE("reference: sparse_matmul equals the dense product, both directions and write modes") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const uint64_t seed = test::fresh_seed();
    CAPTURE(seed);
    const SparseMatrix a = random_sparse(17, 11, 0.25, seed, dtype);
    const Eigen::MatrixXd ad = test::to_eigen(a.to_dense());
    const Tensor x = test::random_tensor(11, 5, dtype, seed + 2);
    const Tensor g = test::random_tensor(17, 5, dtype, seed + 3);
    test::check_write_modes(
        [&](Tensor& out, bool acc) { ops::sparse_matmul(ctx, a, x, out, {.accumulate = acc}); },
        ad * test::to_eigen(x), dtype, seed + 4);
    test::check_write_modes(
        [&](Tensor& out, bool acc) {
          ops::sparse_matmul(ctx, a, g, out, {.transpose = true, .accumulate = acc});
        },
        ad.transpose() * test::to_eigen(g), dtype, seed + 5);
    // Column blocks of wider tensors (one student's block of a cohort).
    const Tensor wide = test::random_tensor(11, 9, dtype, seed + 6);
    test::check_write_modes(
        [&](Tensor& out, bool acc) {
          ops::sparse_matmul(ctx, a, wide.slice_cols(2, 7), out, {.accumulate = acc});
        },
        ad * test::to_eigen(wide.slice_cols(2, 7)), dtype, seed + 7);
  }
  const SparseMatrix a = random_sparse(4, 3, 0.5, 1, DType::kF32);
  const Tensor wrong = Tensor::zeros(4, 2, DType::kF32);
  CHECK(test::error_of([&] {
          ops::sparse_matmul(ctx, a, wrong);
        }).find("x has 4 rows (expected 3 for a [4, 3] matrix)") != std::string::npos);
}

TEST_CASE("gradcheck: sparse_matmul, one matrix and one per column block") {
  const SparseMatrix a = random_sparse(12, 9, 0.3, 7, DType::kF64);
  const SparseMatrix b = a.with_values(test::random_tensor(a.nnz(), 1, DType::kF64, 8));
  const Tensor w = test::random_tensor(9, 2 * 4, DType::kF64, 9);
  const std::vector<SparseMatrix> one{a}, two{a, b};
  for (const std::vector<SparseMatrix>* matrices : {&one, &two}) {
    test::require_gradcheck(autograd::gradcheck(
        [&](autograd::Tape&, const std::vector<autograd::Var>& in) {
          return autograd::sparse_matmul(*matrices, in[0]);
        },
        {w}));
  }
  // Block k of the batched product is A_k times block k alone.
  autograd::Tape tape(Context::cpu());
  const Tensor both = autograd::sparse_matmul(two, tape.leaf(w)).value();
  for (int64_t k = 0; k < 2; ++k) {
    const Tensor lone =
        ops::sparse_matmul(Context::cpu(), two[k], w.slice_cols(4 * k, 4 * k + 4).clone());
    CHECK(both.slice_cols(4 * k, 4 * k + 4).clone().to_vector<double>() ==
          lone.to_vector<double>());
  }
  CHECK(test::error_of([&] {
          autograd::sparse_matmul(two, tape.leaf(test::random_tensor(9, 3, DType::kF64, 10)));
        }).find("x has 3 columns, not a multiple of the 2 matrices") != std::string::npos);
}

namespace {

// The CSR arrays of a matrix (moved to the CPU), for exact comparisons.
struct CsrArrays {
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices, edge_ids;
  bool operator==(const CsrArrays&) const = default;
};
CsrArrays arrays_of(const kernels::CsrView& v) {
  CsrArrays out{{v.indptr, v.indptr + v.rows + 1}, {v.indices, v.indices + v.nnz}, {}};
  if (v.edge_ids) out.edge_ids.assign(v.edge_ids, v.edge_ids + v.nnz);
  return out;
}

}  // namespace

TEST_CASE("reference: sparse_dropout keeps exactly the entries of its Philox mask, scaled") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const float p : {0.0f, 0.3f, 0.9f}) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(seed);
      CAPTURE(p);
      const SparseMatrix a = random_sparse(37, 29, 0.3, seed, dtype);
      const SparseMatrix kept = a.dropout(ctx, p, seed, 5);
      // The definition: entry k stays iff philox_uniform(seed, 5, k) >= p, valued v * scale in T;
      // the result is the CSR of those entries, built from scratch.
      const std::vector<double> v = a.values().to_dtype(DType::kF64).to_vector<double>();
      const double scale =
          dtype == DType::kF32 ? double(1.0f / (1.0f - p)) : 1.0 / (1.0 - double(p));
      Eigen::MatrixXd want = Eigen::MatrixXd::Zero(a.rows(), a.cols());
      const kernels::CsrView csr = a.csr();
      int64_t count = 0;
      for (int64_t r = 0; r < a.rows(); ++r) {
        for (int64_t k = csr.indptr[r]; k < csr.indptr[r + 1]; ++k) {
          if (kernels::philox_uniform(seed, 5, static_cast<uint64_t>(k)) < p) continue;
          want(r, csr.indices[k]) =
              dtype == DType::kF32 ? double(float(v[k]) * float(scale)) : v[k] * scale;
          ++count;
        }
      }
      CHECK(kept.nnz() == count);
      CHECK(test::to_eigen(kept.to_dense()) == want);
      // Exactly the entries dense dropout keeps on the value column (the same mask and rounding).
      Tensor dropped = Tensor::empty(a.nnz(), 1, dtype);
      ops::dropout(ctx, a.values(), p, seed, 5, dropped);
      CHECK(test::to_eigen(a.with_values(dropped).to_dense()) == want);
      // Its transpose is the one SparseMatrix builds for that CSR: same rows, same positions.
      const kernels::CsrView k = kept.csr();
      const std::vector<int64_t> indptr(k.indptr, k.indptr + k.rows + 1);
      const std::vector<int32_t> indices(k.indices, k.indices + k.nnz);
      const SparseMatrix rebuilt =
          SparseMatrix::from_csr(a.rows(), a.cols(), indptr, indices, kept.values().clone());
      CHECK(arrays_of(kept.csr_transposed()) == arrays_of(rebuilt.csr_transposed()));
      // The same arrays at one thread and at two.
      const int threads = omp_get_max_threads();
      omp_set_num_threads(threads == 1 ? 2 : 1);
      const SparseMatrix again = a.dropout(ctx, p, seed, 5);
      omp_set_num_threads(threads);
      CHECK(arrays_of(again.csr()) == arrays_of(kept.csr()));
      CHECK(arrays_of(again.csr_transposed()) == arrays_of(kept.csr_transposed()));
      CHECK(again.values().to_dtype(DType::kF64).to_vector<double>() ==
            kept.values().to_dtype(DType::kF64).to_vector<double>());
    }
  }
  const SparseMatrix a = random_sparse(4, 3, 0.5, 1, DType::kF32);
  CHECK(test::error_of([&] {
          a.with_values(Tensor::zeros(a.nnz(), 2, DType::kF32).slice_cols(0, 1));
        }).find("values must be contiguous") != std::string::npos);
  CHECK(test::error_of([&] { a.dropout(ctx, 1.0f, 1, 0); }).find("p is 1 (expected 0 <= p < 1)") !=
        std::string::npos);
}
