// SparseMatrix and sparse_matmul (bag-of-words features times a weight matrix) against the dense
// product in double, both directions, both write modes, with replaced values (dropout).
#include <doctest/doctest.h>

#include "autograd/functions_graph.h"
#include "engine/ops_graph.h"
#include "engine/sparse_matrix.h"
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
        [&](Tensor& out, bool acc) { ops::sparse_matmul(ctx, a, {}, x, out, {.accumulate = acc}); },
        ad * test::to_eigen(x), dtype, seed + 4);
    test::check_write_modes(
        [&](Tensor& out, bool acc) {
          ops::sparse_matmul(ctx, a, {}, g, out, {.transpose = true, .accumulate = acc});
        },
        ad.transpose() * test::to_eigen(g), dtype, seed + 5);
    // Replaced values (what input dropout passes): the same structure with other numbers.
    const Tensor vals = test::random_tensor(a.nnz(), 1, dtype, seed + 6);
    const SparseMatrix b =
        SparseMatrix::from_csr(a.rows(), a.cols(), a.host_indptr(), a.host_indices(), vals);
    test::check_write_modes(
        [&](Tensor& out, bool acc) {
          ops::sparse_matmul(ctx, a, vals, x, out, {.accumulate = acc});
        },
        test::to_eigen(b.to_dense()) * test::to_eigen(x), dtype, seed + 7);
  }
  const SparseMatrix a = random_sparse(4, 3, 0.5, 1, DType::kF32);
  const Tensor wrong = Tensor::zeros(4, 2, DType::kF32);
  CHECK(test::error_of([&] {
          ops::sparse_matmul(ctx, a, wrong);
        }).find("x has 4 rows (expected 3 for a [4, 3] matrix)") != std::string::npos);
}

TEST_CASE("gradcheck: sparse_matmul, with stored and replaced values") {
  const SparseMatrix a = random_sparse(12, 9, 0.3, 7, DType::kF64);
  const Tensor vals = test::random_tensor(a.nnz(), 1, DType::kF64, 8);
  const Tensor w = test::random_tensor(9, 4, DType::kF64, 9);
  for (const Tensor& v : {Tensor(), vals}) {
    test::require_gradcheck(autograd::gradcheck(
        [&](autograd::Tape&, const std::vector<autograd::Var>& in) {
          return autograd::sparse_matmul(a, in[0], v);
        },
        {w}));
  }
}
