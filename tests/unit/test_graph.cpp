#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/graph.h"
#include "tests/support/fixtures.h"

using gkd::EdgeNorm;
using gkd::Graph;

TEST_CASE("graph: canonical order is by destination, the transpose maps back to it") {
  std::vector<int64_t> canonical;
  const std::vector<int32_t> src = {2, 0, 1, 0}, dst = {1, 2, 1, 1};
  const Graph g = Graph::from_edges(3, src, dst, &canonical);
  CHECK(g.num_nodes() == 3);
  CHECK(g.num_edges() == 4);
  CHECK(g.host_in_indptr() == std::vector<int64_t>{0, 0, 3, 4});
  CHECK(g.host_in_indices() == std::vector<int32_t>{0, 1, 2, 0});
  for (size_t e = 0; e < src.size(); ++e) {
    const int64_t c = canonical[e];
    CHECK(g.host_in_indices()[c] == src[e]);
    CHECK(g.edge_dst().to_vector<int32_t>()[c] == dst[e]);
  }
  // Every out-CSR position names the canonical edge with the same endpoints.
  const auto& out_ptr = g.host_out_indptr();
  for (int32_t u = 0; u < 3; ++u) {
    for (int64_t p = out_ptr[u]; p < out_ptr[u + 1]; ++p) {
      const int32_t e = g.host_out_edge_ids()[p];
      CHECK(g.host_in_indices()[e] == u);
      CHECK(g.edge_dst().to_vector<int32_t>()[e] == g.host_out_indices()[p]);
    }
  }
  CHECK(g.in_degrees().to_vector<int32_t>() == std::vector<int32_t>{0, 3, 1});
  CHECK(g.out_degrees().to_vector<int32_t>() == std::vector<int32_t>{2, 1, 1});
}

TEST_CASE("graph: normalisations equal their dense definitions") {
  const Graph g = gkd::test::tiny_directed();
  const Eigen::MatrixXd a = gkd::test::dense_adjacency(g);
  const Eigen::VectorXd in_deg = a.rowwise().sum(), out_deg = a.colwise().sum().transpose();
  const Eigen::MatrixXd sym =
      gkd::test::dense_adjacency(g, g.norm(EdgeNorm::kGcnSymmetric, gkd::DType::kF64));
  const Eigen::MatrixXd mean =
      gkd::test::dense_adjacency(g, g.norm(EdgeNorm::kMean, gkd::DType::kF64));
  for (int v = 0; v < a.rows(); ++v) {
    for (int u = 0; u < a.cols(); ++u) {
      if (a(v, u) == 0) continue;
      CHECK(sym(v, u) == doctest::Approx(1.0 / std::sqrt(in_deg(v) * out_deg(u))));
      CHECK(mean(v, u) == doctest::Approx(1.0 / in_deg(v)));
    }
  }
  // Cached: the same tensor comes back.
  CHECK(g.norm(EdgeNorm::kMean).raw_data() == g.norm(EdgeNorm::kMean).raw_data());
}

TEST_CASE("graph: self loops are added once, only where missing") {
  const Graph g = gkd::test::tiny_directed();  // node 2 already loops
  CHECK(!g.has_all_self_loops());
  const Graph& s = g.with_self_loops();
  CHECK(s.has_all_self_loops());
  CHECK(s.num_edges() == g.num_edges() + g.num_nodes() - 1);
  const Eigen::MatrixXd diff = gkd::test::dense_adjacency(s) - gkd::test::dense_adjacency(g);
  Eigen::MatrixXd added = Eigen::MatrixXd::Identity(7, 7);
  added(2, 2) = 0;
  CHECK(diff == added);
  CHECK(&g.with_self_loops() == &s);  // cached
}

TEST_CASE("graph: block-diagonal batching keeps node and edge offsets") {
  const Graph a = Graph::from_edges(2, {0}, {1});
  const Graph b = Graph::from_edges(3, {0, 2, 1}, {1, 1, 2});
  const Graph empty = Graph::from_edges(0, {}, {});
  const Graph batch = Graph::batch({a, empty, b});
  CHECK(batch.num_graphs() == 3);
  CHECK(batch.num_nodes() == 5);
  CHECK(batch.num_edges() == 4);
  CHECK(batch.node_offsets() == std::vector<int64_t>{0, 2, 2, 5});
  CHECK(batch.edge_offsets() == std::vector<int64_t>{0, 1, 1, 4});
  Eigen::MatrixXd want = Eigen::MatrixXd::Zero(5, 5);
  want.block(0, 0, 2, 2) = gkd::test::dense_adjacency(a);
  want.block(2, 2, 3, 3) = gkd::test::dense_adjacency(b);
  CHECK(gkd::test::dense_adjacency(batch) == want);
  CHECK(batch.with_self_loops().edge_offsets() == std::vector<int64_t>{0, 3, 3, 9});
  CHECK_THROWS_WITH_AS(Graph::batch({batch}), doctest::Contains("itself a batch of 3 graphs"),
                       gkd::Error);
}

TEST_CASE("graph: bad input is refused with the offending field and value") {
  using gkd::Error;
  CHECK_THROWS_WITH_AS(Graph::from_edges(3, {0, 1}, {1}),
                       doctest::Contains("src has 2 entries, dst has 1"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_edges(3, {0, -1}, {1, 2}),
                       doctest::Contains("src[1] is -1 (expected a node id in [0, 3))"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_edges(3, {0}, {3}),
                       doctest::Contains("dst[0] is 3 (expected a node id in [0, 3))"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_edges(3, {0, 1, 0}, {1, 2, 1}),
                       doctest::Contains("duplicate edge 0 -> 1"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_edges(-1, {}, {}), doctest::Contains("num_nodes is -1"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(3, {0, 1, 2}, {0, 1}),
                       doctest::Contains("indptr has 3 entries (expected num_nodes + 1 = 4)"),
                       Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {1, 1, 2}, {0, 1}), doctest::Contains("indptr[0] is 1"),
                       Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {0, 2, 1}, {0}),
                       doctest::Contains("indptr decreases at row 1 (2 > 1)"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {0, 2, 2}, {1, 0}),
                       doctest::Contains("row 0 is not strictly increasing"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {0, 1, 2}, {0, 5}), doctest::Contains("indices[1] is 5"),
                       Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {0, 2, 1}, {0, 1}),
                       doctest::Contains("indptr[num_nodes] is 1 (expected nnz = 2)"), Error);
  CHECK_THROWS_WITH_AS(Graph::from_csr(2, {0, 3, 2}, {0, 1}),
                       doctest::Contains("indptr decreases at row 1"), Error);
}

TEST_CASE("graph: empty graphs are valid") {
  const Graph none;
  CHECK(none.num_nodes() == 0);
  CHECK(none.num_edges() == 0);
  const Graph edgeless = Graph::from_edges(4, {}, {});
  CHECK(edgeless.num_edges() == 0);
  CHECK(edgeless.with_self_loops().num_edges() == 4);
  CHECK(edgeless.norm(EdgeNorm::kMean).numel() == 0);
}
