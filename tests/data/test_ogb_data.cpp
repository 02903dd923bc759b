// The two OGB molecule sets under GKD_DATA_DIR, loaded with io::load_ogb_graph and checked against
// the statistics in data/README.md, exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/io/ogb.h"

using namespace gkd;

namespace {

struct ExpectedOgb {
  const char* folder;  // relative to GKD_DATA_DIR
  const char* name;
  int64_t graphs, nodes, bonds;
  int64_t label_ones;
  int64_t train, valid, test;
  std::array<int64_t, 9> atom_col_max;
  std::array<int64_t, 3> bond_col_max;
};

void check_ogb(const ExpectedOgb& want) {
  CAPTURE(want.folder);
  const io::GraphDataset ds =
      io::load_ogb_graph(std::string(std::getenv("GKD_DATA_DIR")) + "/" + want.folder);
  CHECK(ds.name == want.name);
  CHECK(ds.num_classes == 2);
  CHECK(ds.num_node_features == 9);
  REQUIRE(static_cast<int64_t>(ds.samples.size()) == want.graphs);

  int64_t nodes = 0, edges = 0, ones = 0;
  std::array<int64_t, 9> atom_max{};
  std::array<int64_t, 3> bond_max{};
  bool shapes_ok = true, symmetric = true, no_self_loops = true;
  for (const io::GraphSample& s : ds.samples) {
    const int64_t n = s.graph.num_nodes(), e = s.graph.num_edges();
    nodes += n;
    edges += e;
    ones += s.label;
    shapes_ok = shapes_ok && s.x.rows() == n && s.x.cols() == 9 && s.edge_attr.rows() == e &&
                s.edge_attr.cols() == 3 && (s.label == 0 || s.label == 1);
    const std::vector<int64_t> x = s.x.to_vector<int64_t>();             // [n, 9]
    const std::vector<int64_t> attr = s.edge_attr.to_vector<int64_t>();  // [e, 3]
    for (size_t i = 0; i < x.size(); ++i) atom_max[i % 9] = std::max(atom_max[i % 9], x[i]);
    for (size_t i = 0; i < attr.size(); ++i) bond_max[i % 3] = std::max(bond_max[i % 3], attr[i]);
    // Every directed edge has its reverse, with the same bond features.
    const std::vector<int32_t> src = s.graph.edge_src().to_vector<int32_t>();
    const std::vector<int32_t> dst = s.graph.edge_dst().to_vector<int32_t>();
    std::set<std::array<int64_t, 5>> seen;
    for (int64_t k = 0; k < e; ++k) {
      no_self_loops = no_self_loops && src[k] != dst[k];
      seen.insert({src[k], dst[k], attr[3 * k], attr[3 * k + 1], attr[3 * k + 2]});
    }
    for (int64_t k = 0; k < e; ++k) {
      symmetric = symmetric &&
                  seen.count({dst[k], src[k], attr[3 * k], attr[3 * k + 1], attr[3 * k + 2]}) == 1;
    }
  }
  CHECK(shapes_ok);
  CHECK(no_self_loops);
  CHECK(symmetric);
  CHECK(nodes == want.nodes);
  CHECK(edges == 2 * want.bonds);
  CHECK(ones == want.label_ones);
  CHECK(atom_max == want.atom_col_max);
  CHECK(bond_max == want.bond_col_max);

  CHECK(static_cast<int64_t>(ds.train.size()) == want.train);
  CHECK(static_cast<int64_t>(ds.valid.size()) == want.valid);
  CHECK(static_cast<int64_t>(ds.test.size()) == want.test);
  // The scaffold split is a partition of the graphs.
  std::vector<int64_t> all = ds.train;
  all.insert(all.end(), ds.valid.begin(), ds.valid.end());
  all.insert(all.end(), ds.test.begin(), ds.test.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> ids(static_cast<size_t>(want.graphs));
  for (int64_t g = 0; g < want.graphs; ++g) ids[static_cast<size_t>(g)] = g;
  CHECK(all == ids);
}

}  // namespace

TEST_CASE("data: ogbg-molbace matches data/README.md") {
  check_ogb({.folder = "ogb/ogbg_molbace",
             .name = "ogbg-molbace",
             .graphs = 1513,
             .nodes = 51577,
             .bonds = 55768,
             .label_ones = 691,
             .train = 1210,
             .valid = 151,
             .test = 152,
             .atom_col_max = {52, 2, 4, 6, 3, 0, 2, 1, 1},
             .bond_col_max = {3, 2, 1}});
}

TEST_CASE("data: ogbg-molbbbp matches data/README.md") {
  check_ogb({.folder = "ogb/ogbg_molbbbp",
             .name = "ogbg-molbbbp",
             .graphs = 2039,
             .nodes = 49068,
             .bonds = 52921,
             .label_ones = 1560,
             .train = 1631,
             .valid = 204,
             .test = 204,
             .atom_col_max = {52, 2, 4, 7, 3, 1, 5, 1, 1},
             .bond_col_max = {3, 2, 1}});
}
