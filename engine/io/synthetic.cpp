#include "engine/io/synthetic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/io/splits.h"
#include "kernels/philox.h"

namespace gkd::io {
namespace {

// Philox streams of the generator, one per purpose, so changing one draw leaves the others alone.
enum Stream : uint64_t { kLabels = 1, kClassMeans, kNoise, kEdges, kSplit, kRmatEdges, kRmatIds };

double uniform(uint64_t seed, Stream s, uint64_t i) {
  return kernels::philox_uniform(seed, s, i);
}

// Standard normal by Box-Muller from two uniforms (the first shifted away from 0).
double normal(uint64_t seed, Stream s, uint64_t i) {
  const double u1 = (kernels::philox_bits(seed, s, 2 * i) + 1.0) / 4294967297.0;
  const double u2 = uniform(seed, s, 2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

Tensor mask(const std::vector<uint8_t>& m) {
  return Tensor::from_vector<uint8_t>(static_cast<int64_t>(m.size()), 1, m);
}

}  // namespace

NodeDataset make_csbm(const CsbmOptions& o) {
  GKD_CHECK(o.num_nodes >= 2 && o.num_classes >= 2 && o.num_features >= 1,
            "[make_csbm] need num_nodes >= 2, num_classes >= 2, num_features >= 1 (got ",
            o.num_nodes, ", ", o.num_classes, ", ", o.num_features, ")");
  // Node ids are 32-bit in the graph's CSR.
  GKD_CHECK(o.num_nodes <= std::numeric_limits<int32_t>::max() && o.num_classes <= o.num_nodes,
            "[make_csbm] num_nodes is ", o.num_nodes, " and num_classes ", o.num_classes,
            " (expected num_classes <= num_nodes <= 2^31 - 1)");
  GKD_CHECK(o.avg_degree >= 0 && o.avg_degree < static_cast<double>(o.num_nodes),
            "[make_csbm] avg_degree ", o.avg_degree, " (expected 0 <= avg_degree < num_nodes)");
  GKD_CHECK(o.homophily >= 0 && o.homophily <= 1, "[make_csbm] homophily ", o.homophily,
            " (expected a probability in [0, 1])");
  GKD_CHECK(o.train_fraction > 0 && o.val_fraction >= 0 && o.train_fraction + o.val_fraction < 1,
            "[make_csbm] train_fraction ", o.train_fraction, " and val_fraction ", o.val_fraction,
            " (expected train > 0, val >= 0, train + val < 1)");
  const int64_t n = o.num_nodes, c = o.num_classes, f = o.num_features;

  std::vector<int64_t> label(n);
  std::vector<std::vector<int32_t>> members(c);
  for (int64_t v = 0; v < n; ++v) {
    // The first c nodes cover every class, so no class is empty.
    label[v] = v < c ? v : kernels::philox_bits(o.seed, kLabels, v) % c;
    members[label[v]].push_back(static_cast<int32_t>(v));
  }

  std::vector<float> x(n * f);
  for (int64_t v = 0; v < n; ++v) {
    for (int64_t j = 0; j < f; ++j) {
      const bool positive = kernels::philox_bits(o.seed, kClassMeans, label[v] * f + j) & 1;
      x[v * f + j] =
          static_cast<float>((positive ? o.signal : -o.signal) + normal(o.seed, kNoise, v * f + j));
    }
  }

  // Each node starts avg_degree / 2 undirected edges; storing both directions gives the average.
  std::set<std::pair<int32_t, int32_t>> edges;
  const auto per_node = static_cast<int64_t>(std::llround(o.avg_degree / 2));
  uint64_t draw = 0;
  for (int64_t v = 0; v < n; ++v) {
    for (int64_t k = 0; k < per_node; ++k, draw += 3) {
      const bool same = uniform(o.seed, kEdges, draw) < o.homophily;
      const auto& pool =
          members[same ? label[v] : kernels::philox_bits(o.seed, kEdges, draw + 1) % c];
      const int32_t u = pool[kernels::philox_bits(o.seed, kEdges, draw + 2) % pool.size()];
      if (u == v) continue;
      edges.insert({static_cast<int32_t>(v), u});
      edges.insert({u, static_cast<int32_t>(v)});
    }
  }
  std::vector<int32_t> src, dst;
  for (auto [u, v] : edges) {
    src.push_back(u);
    dst.push_back(v);
  }

  const std::vector<int64_t> order = seeded_permutation(n, o.seed, kSplit);
  std::vector<uint8_t> train(n, 0), val(n, 0), test(n, 0);
  const auto n_train = static_cast<int64_t>(o.train_fraction * n);
  const auto n_val = static_cast<int64_t>(o.val_fraction * n);
  for (int64_t k = 0; k < n; ++k) {
    (k < n_train ? train : k < n_train + n_val ? val : test)[order[k]] = 1;
  }

  NodeDataset d;
  d.name = "synthetic-csbm";
  d.graph = Graph::from_edges(n, src, dst);
  d.x.dense = Tensor::from_vector<float>(n, f, x);
  d.y = Tensor::from_vector<int64_t>(n, 1, label);
  d.train_mask = mask(train);
  d.val_mask = mask(val);
  d.test_mask = mask(test);
  d.num_classes = c;
  return d;
}

Graph make_rmat(const RmatOptions& o) {
  GKD_CHECK(o.scale >= 1 && o.scale <= 30, "[rmat] scale is ", o.scale, " (expected 1 .. 30)");
  GKD_CHECK(o.edge_factor >= 1 && o.edge_factor <= 1024, "[rmat] edge_factor is ", o.edge_factor,
            " (expected 1 .. 1024)");
  const double d = 1.0 - o.a - o.b - o.c;
  GKD_CHECK(o.a >= 0 && o.b >= 0 && o.c >= 0 && d >= 0, "[rmat] quadrant probabilities a ", o.a,
            ", b ", o.b, ", c ", o.c, " (expected non-negative with a + b + c <= 1)");
  const int64_t n = int64_t{1} << o.scale, draws = o.edge_factor * n;
  // A random relabelling of the nodes.
  const std::vector<int64_t> label = seeded_permutation(n, o.seed, kRmatIds);
  // Each draw descends `scale` levels; level l of draw e uses Philox word e * scale + l.
  std::vector<uint64_t> keys(static_cast<size_t>(draws));  // (dst << 32) | src after relabelling
#pragma omp parallel for schedule(static)
  for (int64_t e = 0; e < draws; ++e) {
    int64_t row = 0, col = 0;  // row = source, col = destination
    for (int64_t l = 0; l < o.scale; ++l) {
      const double u =
          kernels::philox_uniform(o.seed, kRmatEdges, static_cast<uint64_t>(e * o.scale + l));
      const int64_t bit = int64_t{1} << (o.scale - 1 - l);
      if (u >= o.a + o.b + o.c) {
        row |= bit, col |= bit;
      } else if (u >= o.a + o.b) {
        row |= bit;
      } else if (u >= o.a) {
        col |= bit;
      }
    }
    keys[e] = (static_cast<uint64_t>(label[col]) << 32) | static_cast<uint64_t>(label[row]);
  }
  if (o.symmetric) {
    const size_t half = keys.size();
    keys.resize(2 * half);
    for (size_t e = 0; e < half; ++e) keys[half + e] = (keys[e] << 32) | (keys[e] >> 32);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<int32_t> src, dst;
  src.reserve(keys.size());
  dst.reserve(keys.size());
  for (uint64_t k : keys) {
    const auto s = static_cast<int32_t>(k & 0xffffffffu), t = static_cast<int32_t>(k >> 32);
    if (s == t) continue;
    src.push_back(s);
    dst.push_back(t);
  }
  return Graph::from_edges(n, src, dst);
}

}  // namespace gkd::io
