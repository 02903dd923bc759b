// Test fixtures: graphs that expose transpose and ordering bugs, random tensors, and the dense
// (Eigen, double) oracle every CPU twin is compared against.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace gkd::test {

// A directed, asymmetric graph on 7 nodes: node 6 is isolated, node 2 has a self loop, in- and
// out-degrees differ (node 3 has in-degree 4, out-degree 1), no duplicate edges.
Graph tiny_directed();

// Erdős–Rényi-like directed graph without duplicates; optional self loops.
Graph random_graph(int64_t num_nodes, double avg_degree, uint64_t seed, bool self_loops = false);

// A few hub nodes with `hub_degree` in-edges each (long rows) on top of a sparse random graph.
Graph hub_graph(int64_t num_nodes, int64_t hubs, int64_t hub_degree, uint64_t seed);

struct GraphCase {
  std::string name;
  Graph graph;
};
// tiny_directed, an edgeless graph, a single node with a self loop, random(200, 5) with self loops,
// and a hub graph with rows of 1500 in-edges.
std::vector<GraphCase> graph_cases();

// Uniform in [lo, hi) from Philox(seed), every significand bit random; f32 or f64, on the CPU.
Tensor random_tensor(int64_t rows, int64_t cols, DType dtype, uint64_t seed, double lo = -1.0,
                     double hi = 1.0);
// Uniform magnitudes in [lo, hi) with random signs: keeps inputs away from kinks (relu, |x|).
Tensor random_away_from_zero(int64_t rows, int64_t cols, DType dtype, uint64_t seed,
                             double lo = 0.1, double hi = 1.0);
// A seed that differs between runs (tests print it so a failure can be replayed).
uint64_t fresh_seed();

Eigen::MatrixXd to_eigen(const Tensor& t);  // any floating tensor, any device
Tensor from_eigen(const Eigen::MatrixXd& m, DType dtype);
// Dense adjacency with A(v, u) = weight of edge u -> v for head `head` (1 when edge_w undefined).
Eigen::MatrixXd dense_adjacency(const Graph& g, const Tensor& edge_w = {}, int64_t head = 0);

// Largest |a - b| / (atol + rtol * |b|) over all elements; <= 1 means close.
double close_ratio(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rtol, double atol);

}  // namespace gkd::test
