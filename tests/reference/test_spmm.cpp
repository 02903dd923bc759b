// SpMM CPU twin against the dense formulation Y = diag(s) · A_h · X_h per head.
#include <doctest/doctest.h>

#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using gkd::test::dense_adjacency;
using gkd::test::to_eigen;

namespace {

// Dense oracle: per head h, Y[:, h] = S · A_h · X[:, h] (+ Y0 when accumulating), with A_h the
// weighted adjacency (transposed when asked) and S the mean scaling.
Eigen::MatrixXd dense_spmm(const Graph& g, const Tensor& x, const Tensor& w, bool transpose,
                           bool mean, int64_t heads) {
  const int64_t f = x.cols() / heads;
  const Eigen::MatrixXd xd = to_eigen(x);
  Eigen::MatrixXd y(g.num_nodes(), x.cols());
  for (int64_t h = 0; h < heads; ++h) {
    Eigen::MatrixXd a = dense_adjacency(g, w, h);
    Eigen::MatrixXd pattern = dense_adjacency(g);
    if (transpose) {
      a.transposeInPlace();
      pattern.transposeInPlace();
    }
    Eigen::VectorXd s = Eigen::VectorXd::Ones(g.num_nodes());
    if (mean) {
      const Eigen::VectorXd len = pattern.rowwise().sum();
      for (int64_t v = 0; v < s.size(); ++v) s(v) = len(v) > 0 ? 1.0 / len(v) : 1.0;
    }
    y.middleCols(h * f, f) = s.asDiagonal() * a * xd.middleCols(h * f, f);
  }
  return y;
}

}  // namespace

TEST_CASE("reference: spmm equals the dense product on every fixture, option and width") {
  const Context ctx = Context::cpu();
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    for (DType dtype : {DType::kF64, DType::kF32}) {
      // Widths around the CPU twin's 32-column blocks (full, partial, several per row), and narrow
      // heads: a block of whole heads (8 x 8), a block and a leftover head (3 x 16), none (3 x 5).
      for (const std::pair<int64_t, int64_t> shape :
           {std::pair<int64_t, int64_t>{1, 1}, {1, 5}, {1, 70}, {3, 5}, {3, 16}, {8, 2}, {8, 8}}) {
        const int64_t heads = shape.first, f = shape.second;
        {
          for (bool transpose : {false, true}) {
            for (bool mean : {false, true}) {
              for (bool weighted : {false, true}) {
                if (heads > 1 && !weighted) continue;
                const uint64_t seed = test::fresh_seed();
                CAPTURE(name);
                CAPTURE(heads);
                CAPTURE(f);
                CAPTURE(transpose);
                CAPTURE(mean);
                CAPTURE(weighted);
                CAPTURE(seed);
                const Tensor x = test::random_tensor(g.num_nodes(), heads * f, dtype, seed);
                const Tensor w = weighted
                                     ? test::random_tensor(g.num_edges(), heads, dtype, seed + 1)
                                     : Tensor();
                // Accumulate into a strided view (ld > cols) that already holds values.
                Tensor storage = test::random_tensor(g.num_nodes(), heads * f + 2, dtype, seed + 2);
                Tensor y = storage.slice_cols(1, 1 + heads * f);
                const Eigen::MatrixXd y0 = to_eigen(y);
                ops::spmm(ctx, g, x, w, y,
                          {.transpose = transpose, .mean = mean, .accumulate = true});
                const Eigen::MatrixXd want = y0 + dense_spmm(g, x, w, transpose, mean, heads);
                const double tol = dtype == DType::kF64 ? 1e-12 : 1e-5;
                CHECK(test::close_ratio(to_eigen(y), want, tol, tol) <= 1.0);
                // Overwrite mode ignores (NaN) garbage already in y.
                Tensor fresh = Tensor::full(g.num_nodes(), heads * f, NAN, dtype);
                ops::spmm(ctx, g, x, w, fresh, {.transpose = transpose, .mean = mean});
                CHECK(test::close_ratio(to_eigen(fresh), want - y0, tol, tol) <= 1.0);
              }
            }
          }
        }
      }
    }
  }
}

// The twin's definition, element by element: each output sums w * x over its row's edges in CSR
// order in double (the first edge's term starts the sum), times the mean scale, rounded to T. The
// blocked, vectorised kernel (8 lanes, fused multiply-adds for float) must keep these bits.
template <class T>
std::vector<T> spmm_by_definition(const kernels::CsrView& csr, const std::vector<T>& x,
                                  const std::vector<T>& w, int64_t heads, int64_t width,
                                  bool mean) {
  const int64_t f = width / heads;
  std::vector<T> y(static_cast<size_t>(csr.rows * width));
  for (int64_t v = 0; v < csr.rows; ++v) {
    const int64_t begin = csr.indptr[v], end = csr.indptr[v + 1];
    const double scale = mean && end > begin ? 1.0 / static_cast<double>(end - begin) : 1.0;
    for (int64_t j = 0; j < width; ++j) {
      double acc = 0;
      for (int64_t p = begin; p < end; ++p) {
        const double weight = w.empty() ? 1.0 : double(w[edge_id(csr, p) * heads + j / f]);
        const double term = weight * double(x[csr.indices[p] * width + j]);
        acc = p == begin ? term : acc + term;
      }
      y[v * width + j] = static_cast<T>(acc * scale);
    }
  }
  return y;
}

template <class T>
void check_spmm_bits(const Graph& g, int64_t heads, int64_t f, bool transpose, bool mean,
                     bool weighted, uint64_t seed) {
  const Context ctx = Context::cpu();
  const DType dtype = std::is_same_v<T, float> ? DType::kF32 : DType::kF64;
  const int64_t width = heads * f;
  const Tensor x = test::random_tensor(g.num_nodes(), width, dtype, seed);
  const Tensor w = weighted ? test::random_tensor(g.num_edges(), heads, dtype, seed + 1) : Tensor();
  Tensor y = Tensor::full(g.num_nodes(), width, NAN, dtype);
  ops::spmm(ctx, g, x, w, y, {.transpose = transpose, .mean = mean});
  const std::vector<T> want =
      spmm_by_definition<T>(transpose ? g.out_csr() : g.in_csr(), x.to_vector<T>(),
                            weighted ? w.to_vector<T>() : std::vector<T>{}, heads, width, mean);
  const std::vector<T> got = y.to_vector<T>();
  int64_t mismatches = 0;
  for (size_t k = 0; k < got.size(); ++k)
    mismatches += std::memcmp(&got[k], &want[k], sizeof(T)) != 0;
  CHECK(mismatches == 0);
}

TEST_CASE("reference: spmm keeps the bits of its definition (CSR order, double sums)") {
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    for (const std::pair<int64_t, int64_t> shape :
         {std::pair<int64_t, int64_t>{1, 7}, {1, 16}, {1, 64}, {3, 5}, {8, 8}}) {
      for (bool transpose : {false, true}) {
        for (bool mean : {false, true}) {
          for (bool weighted : {false, true}) {
            const uint64_t seed = test::fresh_seed();
            CAPTURE(graph_case.name);
            CAPTURE(shape.first);
            CAPTURE(shape.second);
            CAPTURE(transpose);
            CAPTURE(mean);
            CAPTURE(weighted);
            CAPTURE(seed);
            check_spmm_bits<float>(graph_case.graph, shape.first, shape.second, transpose, mean,
                                   weighted, seed);
            check_spmm_bits<double>(graph_case.graph, shape.first, shape.second, transpose, mean,
                                    weighted, seed);
          }
        }
      }
    }
  }
}

TEST_CASE("reference: spmm rejects mismatched inputs with clear messages") {
  const Context ctx = Context::cpu();
  const Graph g = test::tiny_directed();
  const Tensor x = Tensor::zeros(5, 4, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, x), "[spmm] x has 5 rows but the graph has 7 nodes",
                       Error);
  const Tensor x7 = Tensor::zeros(7, 4, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, x7, Tensor::zeros(3, 1, DType::kF32)),
                       "[spmm] edge_w has 3 rows but the graph has 10 edges", Error);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, x7, Tensor::zeros(10, 3, DType::kF32)),
                       doctest::Contains("not a multiple of the 3 heads"), Error);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, x7, Tensor::zeros(10, 1, DType::kF64)),
                       "[spmm] edge_w is f64 (expected f32)", Error);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, Tensor::zeros(7, 4, DType::kI32)),
                       doctest::Contains("dtype i32 (expected f32 or f64)"), Error);
  Tensor y = Tensor::zeros(7, 3, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::spmm(ctx, g, x7, Tensor(), y), "[spmm] y is [7, 3] (expected [7, 4])",
                       Error);
}
