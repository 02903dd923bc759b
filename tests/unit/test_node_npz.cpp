// Fixture tests of the node-classification .npz reader (engine/io/node_dataset.h): a valid archive
// in the shared/data schema, then one malformed variant per field, each of which must name the
// file and the field. Truncations of the valid file must only ever raise gkd::Error.
#include <doctest/doctest.h>

#include <map>

#include "engine/io/node_dataset.h"
#include "tests/support/checks.h"
#include "tests/support/npz_writer.h"

using namespace gkd;
using namespace gkd::test;

namespace {

// 5 nodes, 4 features, 3 classes; edges 0<->1, 1<->2, 3->4 (node 4 has an in-edge only).
std::map<std::string, Bytes> valid_members() {
  return {
      {"edge_index", npy("<i8", "(2, 5)", raw(std::vector<int64_t>{0, 1, 1, 2, 3, 1, 0, 2, 1, 4}))},
      {"x_indptr", npy("<i8", "(6,)", raw(std::vector<int64_t>{0, 2, 3, 3, 5, 6}))},
      {"x_indices", npy("<i4", "(6,)", raw(std::vector<int32_t>{0, 3, 1, 0, 2, 3}))},
      {"x_data", npy("<f4", "(6,)", raw(std::vector<float>{1, 3, 2, 1, 1, 5}))},
      {"x_shape", npy("<i8", "(2,)", raw(std::vector<int64_t>{5, 4}))},
      {"y", npy("<i8", "(5,)", raw(std::vector<int64_t>{0, 1, 2, 0, 1}))},
      {"train_mask", npy("|b1", "(5,)", Bytes{1, 1, 0, 0, 0})},
      {"val_mask", npy("|b1", "(5,)", Bytes{0, 0, 1, 0, 0})},
      {"test_mask", npy("|b1", "(5,)", Bytes{0, 0, 0, 1, 1})},
  };
}

std::string write(const std::string& name, const std::map<std::string, Bytes>& members) {
  std::vector<Member> list;
  for (const auto& [key, data] : members) list.push_back({key + ".npy", data});
  return write_temp(name, zip(list));
}

}  // namespace

TEST_CASE("node npz: a valid archive loads with sparse features, masks and transforms") {
  const std::string path = write("nodes.npz", valid_members());
  const io::NodeDataset d = io::load_node_npz(path);
  CHECK(d.name == "nodes");
  CHECK(d.graph.num_nodes() == 5);
  CHECK(d.graph.num_edges() == 5);
  REQUIRE(d.x.is_sparse());
  CHECK(d.x.sparse.nnz() == 6);
  CHECK(d.num_classes == 3);
  CHECK(d.train_mask.to_vector<uint8_t>() == std::vector<uint8_t>{1, 1, 0, 0, 0});
  const auto dense = d.x.sparse.to_dense().to_vector<float>();
  CHECK(dense == std::vector<float>{1, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 5});
  const auto norm =
      io::load_node_npz(path, {.features = io::FeatureTransform::kRowNormalize}).x.sparse;
  CHECK(norm.to_dense().to_vector<float>()[3] == doctest::Approx(0.75));
  const auto bin = io::load_node_npz(path, {.features = io::FeatureTransform::kBinarize}).x.sparse;
  CHECK(bin.to_dense().to_vector<float>()[19] == 1.0f);
  // A per-class split ignores the file's masks when asked to.
  const io::NodeDataset s =
      io::load_node_npz(path, {.split = io::SplitKind::kPerClass,
                               .per_class = {.train_per_class = 1, .val_per_class = 0, .seed = 3}});
  int64_t train = 0;
  for (uint8_t b : s.train_mask.to_vector<uint8_t>()) train += b;
  CHECK(train == 3);
}

TEST_CASE("node npz: every malformed field is reported with the file and the field") {
  struct Case {
    std::string key;
    Bytes data;  // empty: remove the member
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"edge_index", npy("<i8", "(2, 2)", raw(std::vector<int64_t>{0, 9, 1, 0})),
       "field edge_index: entry [0, 1] is 9 (expected a node id in [0, 5))"},
      {"edge_index", npy("<i8", "(3, 1)", raw(std::vector<int64_t>{0, 1, 2})),
       "field edge_index: shape [3, 1] (expected [2, E])"},
      {"edge_index", npy("<f4", "(2, 1)", raw(std::vector<float>{0, 1})),
       "field edge_index: dtype f32 (expected int64 or int32)"},
      {"edge_index", npy("<i8", "(2, 2)", raw(std::vector<int64_t>{0, 0, 1, 1})),
       "field edge_index: [Graph::from_edges]"},
      {"y", npy("<i8", "(4,)", raw(std::vector<int64_t>{0, 1, 2, 0})),
       "field y: shape [4, 1] (expected [5])"},
      {"y", npy("<i8", "(5,)", raw(std::vector<int64_t>{0, 1, -2, 0, 1})),
       "field y: entry 2 is -2 (expected a class id >= 0)"},
      {"y", {}, "field y: missing"},
      {"x_shape", {}, "field x: missing"},
      {"x_indices", npy("<i4", "(6,)", raw(std::vector<int32_t>{0, 3, 1, 0, 7, 3})),
       "field x_indices: entry 4 is 7 (expected a column in [0, 4))"},
      {"x_indptr", npy("<i8", "(6,)", raw(std::vector<int64_t>{0, 2, 3, 4, 3, 6})),
       "fields x_indptr/x_indices/x_data: [SparseMatrix::from_csr] indptr decreases at row 3"},
      {"x_data", npy("<f4", "(5,)", raw(std::vector<float>{1, 1, 1, 1, 1})),
       "field x_data: shape [5, 1] (expected [6])"},
      {"x_data", npy("<i4", "(6,)", raw(std::vector<int32_t>{1, 1, 1, 1, 1, 1})),
       "field x_data: dtype i32 (expected float32 or float64)"},
      {"val_mask", {}, "train_mask/val_mask/test_mask: 2 of the three present"},
      {"test_mask", npy("<i8", "(5,)", raw(std::vector<int64_t>{0, 0, 0, 1, 1})),
       "field test_mask: dtype i64 (expected bool)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.expected);
    auto members = valid_members();
    if (c.data.empty()) {
      members.erase(c.key);
    } else {
      members[c.key] = c.data;
    }
    const std::string path = write("bad.npz", members);
    const std::string msg = error_of([&] { io::load_node_npz(path); });
    CHECK(msg.rfind(path + ": ", 0) == 0);
    CHECK(msg.find(c.expected) != std::string::npos);
  }
  // No masks: the public split is refused, auto falls back to a per-class split.
  auto members = valid_members();
  for (const char* k : {"train_mask", "val_mask", "test_mask"}) members.erase(k);
  const std::string path = write("nomask.npz", members);
  CHECK(error_of([&] {
          io::load_node_npz(path, {.split = io::SplitKind::kPublic});
        }).find("this dataset has no standard split") != std::string::npos);
  CHECK(error_of([&] { io::load_node_npz(path); }).find("per-class split: ") !=
        std::string::npos);  // 5 nodes cannot give 20 per class
}

TEST_CASE("node npz: truncated archives only ever raise gkd::Error") {
  std::vector<Member> list;
  for (const auto& [key, data] : valid_members()) list.push_back({key + ".npy", data});
  const Bytes whole = zip(list);
  for (size_t n = 0; n < whole.size(); n += 7) {
    const std::string path = write_temp("trunc.npz", Bytes(whole.begin(), whole.begin() + n));
    CHECK(!error_of([&] { io::load_node_npz(path); }).empty());
  }
}
