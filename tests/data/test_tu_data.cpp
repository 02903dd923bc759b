// The TU Dortmund datasets under GKD_DATA_DIR/tu, loaded with io::load_tu and checked against the
// statistics in data/README.md (graphs, nodes, A.txt entries, label values and their counts).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/io/tu.h"

using namespace gkd;

namespace {

struct ExpectedTu {
  const char* name;
  int64_t graphs, nodes, edges, features;  // edges: unique directed entries of A.txt
  std::vector<int64_t> class_counts;       // by remapped class id (sorted raw values)
  int64_t attributes;                      // leading attribute columns of x; the rest is one-hot
};

void check_tu(const ExpectedTu& want) {
  CAPTURE(want.name);
  const io::GraphDataset d =
      io::load_tu(std::string(std::getenv("GKD_DATA_DIR")) + "/tu/" + want.name);
  CHECK(d.name == want.name);
  REQUIRE(static_cast<int64_t>(d.samples.size()) == want.graphs);
  CHECK(d.num_classes == static_cast<int64_t>(want.class_counts.size()));
  CHECK(d.num_node_features == want.features);

  int64_t nodes = 0, edges = 0, bad_rows = 0;
  std::vector<int64_t> counts(want.class_counts.size(), 0);
  for (const auto& s : d.samples) {
    nodes += s.graph.num_nodes();
    edges += s.graph.num_edges();
    REQUIRE((s.label >= 0 && s.label < d.num_classes));
    ++counts[s.label];
    REQUIRE(s.x.rows() == s.graph.num_nodes());
    REQUIRE(s.x.cols() == want.features);
    // Every row's label block is one-hot (IMDB-BINARY: the single column of ones).
    const std::vector<float> x = s.x.to_vector<float>();
    for (int64_t r = 0; r < s.x.rows(); ++r) {
      float sum = 0;
      int64_t nonzero = 0;
      for (int64_t c = want.attributes; c < want.features; ++c) {
        const float v = x[r * want.features + c];
        sum += v;
        nonzero += v != 0.0f;
      }
      bad_rows += !(sum == 1.0f && nonzero == 1);
    }
  }
  CHECK(nodes == want.nodes);
  CHECK(edges == want.edges);
  CHECK(counts == want.class_counts);
  CHECK(bad_rows == 0);
}

}  // namespace

TEST_CASE("data: TU datasets match data/README.md") {
  // Raw graph labels: MUTAG, PTC_MR {-1, 1}; PROTEINS {1, 2}; ENZYMES 1..6; NCI1, IMDB {0, 1}.
  // F = attribute columns + distinct node-label values (IMDB-BINARY: a column of ones).
  check_tu({"MUTAG", 188, 3371, 7442, 7, {63, 125}, 0});
  check_tu({"PROTEINS", 1113, 43471, 162088, 1 + 3, {663, 450}, 1});
  check_tu({"NCI1", 4110, 122747, 265506, 37, {2053, 2057}, 0});
  check_tu({"PTC_MR", 344, 4915, 10108, 18, {192, 152}, 0});
  check_tu({"ENZYMES", 600, 19580, 74564, 18 + 3, {100, 100, 100, 100, 100, 100}, 18});
  check_tu({"IMDB-BINARY", 1000, 19773, 386124 / 2, 1, {500, 500}, 0});
}

TEST_CASE("data: TU MUTAG first graph matches the raw files") {
  const io::GraphDataset d = io::load_tu(std::string(std::getenv("GKD_DATA_DIR")) + "/tu/MUTAG");
  // MUTAG_graph_labels.txt line 1 is "1" -> class 1 of {-1, 1}; A.txt opens "2, 1" and "1, 2".
  const io::GraphSample& s = d.samples[0];
  CHECK(s.label == 1);
  CHECK(s.graph.num_nodes() == 17);
  const auto src = s.graph.edge_src().to_vector<int32_t>();
  const auto dst = s.graph.edge_dst().to_vector<int32_t>();
  bool has_01 = false, has_10 = false;
  for (size_t e = 0; e < src.size(); ++e) {
    has_01 = has_01 || (src[e] == 0 && dst[e] == 1);
    has_10 = has_10 || (src[e] == 1 && dst[e] == 0);
  }
  CHECK(has_01);
  CHECK(has_10);
  // MUTAG_node_labels.txt line 1 is "0": node 0 is one-hot at column 0.
  CHECK(s.x.to_vector<float>()[0] == 1.0f);
}

TEST_CASE("data: TU ENZYMES keeps attributes before the node-label one-hot") {
  const io::GraphDataset d = io::load_tu(std::string(std::getenv("GKD_DATA_DIR")) + "/tu/ENZYMES");
  // ENZYMES_node_attributes.txt line 1 opens " 11.000000, 15.887014"; node_labels.txt line 1 is
  // "1", the first of the values {1, 2, 3}.
  const std::vector<float> x = d.samples[0].x.to_vector<float>();
  CHECK(x[0] == 11.0f);
  CHECK(x[1] == doctest::Approx(15.887014));
  CHECK(x[18] == 1.0f);
  CHECK(x[19] == 0.0f);
  CHECK(x[20] == 0.0f);
}
