// Synthetic generators: the CSBM node dataset and R-MAT power-law graphs are pure functions of
// their options, with the structure their parameters promise.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "engine/error.h"
#include "engine/io/synthetic.h"

using namespace gkd;

TEST_CASE("make_csbm: sizes, symmetric edges, homophily and a reproducible draw") {
  const io::NodeDataset a = io::make_csbm({.num_nodes = 600, .num_classes = 4, .seed = 3});
  const io::NodeDataset b = io::make_csbm({.num_nodes = 600, .num_classes = 4, .seed = 3});
  CHECK(a.graph.num_nodes() == 600);
  CHECK(a.x.cols() == 32);
  CHECK(a.num_classes == 4);
  CHECK(a.graph.host_in_indices() == b.graph.host_in_indices());
  CHECK(a.x.dense.to_vector<float>() == b.x.dense.to_vector<float>());
  const std::vector<int64_t> y = a.y.to_vector<int64_t>();
  int64_t same = 0;
  const auto& indptr = a.graph.host_in_indptr();
  const auto& src = a.graph.host_in_indices();
  std::set<std::pair<int32_t, int32_t>> edges;
  for (int32_t v = 0; v < 600; ++v) {
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      edges.insert({src[p], v});
      same += y[src[p]] == y[v];
    }
  }
  int64_t one_way = 0;
  for (const auto& [u, v] : edges) one_way += edges.count({v, u}) == 0;
  CHECK(one_way == 0);
  // Homophily 0.8 by default: the share of same-class edges is near it.
  CHECK(double(same) / double(edges.size()) == doctest::Approx(0.8).epsilon(0.08));
}

TEST_CASE("make_rmat: sizes, no self loops, symmetric, skewed degrees, reproducible") {
  const io::RmatOptions o{.scale = 12, .edge_factor = 8, .seed = 5};
  const Graph g = io::make_rmat(o);
  CHECK(g.num_nodes() == 4096);
  CHECK(g.num_edges() <= 2 * 8 * 4096);
  CHECK(g.num_edges() > 8 * 4096);  // duplicates collapse, but most draws survive
  CHECK_FALSE(g.has_all_self_loops());
  const auto& indptr = g.host_in_indptr();
  const auto& src = g.host_in_indices();
  std::set<std::pair<int32_t, int32_t>> edges;
  int64_t max_degree = 0, self_loops = 0;
  for (int32_t v = 0; v < 4096; ++v) {
    max_degree = std::max(max_degree, indptr[v + 1] - indptr[v]);
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      self_loops += src[p] == v;
      edges.insert({src[p], v});
    }
  }
  CHECK(self_loops == 0);
  int64_t asymmetric = 0;
  for (const auto& [u, v] : edges) asymmetric += edges.count({v, u}) == 0;
  CHECK(asymmetric == 0);
  // A power law: the largest degree is far above the mean (a uniform graph's would be ~2x).
  const double mean = double(g.num_edges()) / 4096.0;
  CHECK(double(max_degree) > 10 * mean);
  CHECK(io::make_rmat(o).host_in_indices() == src);
  io::RmatOptions other = o;
  other.seed = 6;
  CHECK(io::make_rmat(other).host_in_indices() != src);
  other.symmetric = false;
  CHECK(io::make_rmat(other).num_edges() < g.num_edges());
  CHECK_THROWS_WITH_AS(io::make_rmat({.scale = 31}), "[rmat] scale is 31 (expected 1 .. 30)",
                       Error);
  CHECK_THROWS_WITH_AS(io::make_rmat({.a = 0.6, .b = 0.3, .c = 0.3}),
                       doctest::Contains("expected non-negative with a + b + c <= 1"), Error);
}
