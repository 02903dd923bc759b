#include "tests/support/fixtures.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "kernels/philox.h"

namespace gkd::test {

Graph tiny_directed() {
  // u -> v pairs. Node 3 gathers from 0, 1, 2, 4; node 2 loops on itself; node 6 is isolated.
  const std::vector<int32_t> src = {0, 1, 2, 4, 2, 3, 0, 5, 1, 4};
  const std::vector<int32_t> dst = {3, 3, 3, 3, 2, 0, 1, 1, 5, 5};
  return Graph::from_edges(7, src, dst);
}

Graph random_graph(int64_t num_nodes, double avg_degree, uint64_t seed, bool self_loops) {
  std::set<std::pair<int32_t, int32_t>> edges;
  const auto target = static_cast<size_t>(avg_degree * static_cast<double>(num_nodes));
  for (uint64_t k = 0; edges.size() < target; ++k) {
    const auto u = static_cast<int32_t>(kernels::philox_bits(seed, 11, 2 * k) % num_nodes);
    const auto v = static_cast<int32_t>(kernels::philox_bits(seed, 11, 2 * k + 1) % num_nodes);
    if (u != v || self_loops) edges.insert({u, v});
  }
  std::vector<int32_t> src, dst;
  for (auto [u, v] : edges) {
    src.push_back(u);
    dst.push_back(v);
  }
  return Graph::from_edges(num_nodes, src, dst);
}

Graph hub_graph(int64_t num_nodes, int64_t hubs, int64_t hub_degree, uint64_t seed) {
  std::set<std::pair<int32_t, int32_t>> edges;
  for (int64_t h = 0; h < hubs; ++h) {
    for (uint64_t k = 0; static_cast<int64_t>(edges.size()) < (h + 1) * hub_degree; ++k) {
      const auto u = static_cast<int32_t>(kernels::philox_bits(seed, 20 + h, k) % num_nodes);
      edges.insert({u, static_cast<int32_t>(h)});
    }
  }
  for (uint64_t k = 0; k < static_cast<uint64_t>(2 * num_nodes); ++k) {
    const auto u = static_cast<int32_t>(kernels::philox_bits(seed, 12, 2 * k) % num_nodes);
    const auto v = static_cast<int32_t>(kernels::philox_bits(seed, 12, 2 * k + 1) % num_nodes);
    edges.insert({u, v});
  }
  std::vector<int32_t> src, dst;
  for (auto [u, v] : edges) {
    src.push_back(u);
    dst.push_back(v);
  }
  return Graph::from_edges(num_nodes, src, dst);
}

std::vector<GraphCase> graph_cases() {
  return {
      {"tiny_directed", tiny_directed()},
      {"edgeless", Graph::from_edges(5, {}, {})},
      {"single_self_loop", Graph::from_edges(1, {0}, {0})},
      {"random_200", random_graph(200, 5.0, 7, true)},
      {"hubs", hub_graph(2000, 2, 1500, 3)},
  };
}

namespace {

// Uniform in [0, 1) with every bit of the dtype's significand random: 24 bits from one Philox word
// for f32, 53 from two for f64. With only 24 random bits, f64 products and short sums would be
// exact, and a test of summation order in f64 could not fail.
double uniform(DType dtype, uint64_t seed, uint64_t stream, size_t k) {
  if (dtype != DType::kF64) return kernels::philox_uniform(seed, stream, k);
  const uint64_t high = kernels::philox_bits(seed, stream, 2 * k) >> 5;     // 27 bits
  const uint64_t low = kernels::philox_bits(seed, stream, 2 * k + 1) >> 6;  // 26 bits
  return static_cast<double>((high << 26) | low) * 0x1p-53;
}

}  // namespace

Tensor random_tensor(int64_t rows, int64_t cols, DType dtype, uint64_t seed, double lo, double hi) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
  for (size_t k = 0; k < v.size(); ++k) v[k] = lo + (hi - lo) * uniform(dtype, seed, 0, k);
  return Tensor::from_vector<double>(rows, cols, v).to_dtype(dtype);
}

Tensor random_away_from_zero(int64_t rows, int64_t cols, DType dtype, uint64_t seed, double lo,
                             double hi) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
  for (size_t k = 0; k < v.size(); ++k) {
    const double magnitude = lo + (hi - lo) * uniform(dtype, seed, 0, k);
    v[k] = (kernels::philox_bits(seed, 1, k) & 1) ? magnitude : -magnitude;
  }
  return Tensor::from_vector<double>(rows, cols, v).to_dtype(dtype);
}

uint64_t fresh_seed() {
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

Eigen::MatrixXd to_eigen(const Tensor& t) {
  const Tensor host = t.to(Device::kCPU).to_dtype(DType::kF64);
  const auto v = host.to_vector<double>();
  Eigen::MatrixXd m(t.rows(), t.cols());
  for (int64_t i = 0; i < t.rows(); ++i)
    for (int64_t j = 0; j < t.cols(); ++j) m(i, j) = v[i * t.cols() + j];
  return m;
}

Tensor from_eigen(const Eigen::MatrixXd& m, DType dtype) {
  std::vector<double> v(static_cast<size_t>(m.size()));
  for (int64_t i = 0; i < m.rows(); ++i)
    for (int64_t j = 0; j < m.cols(); ++j) v[i * m.cols() + j] = m(i, j);
  return Tensor::from_vector<double>(m.rows(), m.cols(), v).to_dtype(dtype);
}

Eigen::MatrixXd dense_adjacency(const Graph& g, const Tensor& edge_w, int64_t head) {
  const int64_t n = g.num_nodes();
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  const Eigen::MatrixXd w = edge_w.defined() ? to_eigen(edge_w) : Eigen::MatrixXd();
  const auto& indptr = g.host_in_indptr();
  const auto& indices = g.host_in_indices();
  for (int64_t v = 0; v < n; ++v)
    for (int64_t e = indptr[v]; e < indptr[v + 1]; ++e)
      a(v, indices[e]) = edge_w.defined() ? w(e, head) : 1.0;
  return a;
}

double close_ratio(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rtol, double atol) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  double worst = 0;
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t j = 0; j < a.cols(); ++j) {
      const double r = std::abs(a(i, j) - b(i, j)) / (atol + rtol * std::abs(b(i, j)));
      if (std::isnan(r)) return std::numeric_limits<double>::infinity();  // unwritten or NaN
      worst = std::max(worst, r);
    }
  return worst;
}

}  // namespace gkd::test
