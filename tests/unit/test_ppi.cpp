// Fixture tests of the PPI loader (engine/io/ppi.h). A tiny folder in the public PyG/DGL layout
// (networkx node_link_data JSON + .npy files built byte by byte) is written into a temp dir, loaded
// and checked field by field; malformed variants must each raise a gkd::Error naming the file and
// field; truncated or corrupted JSON must never crash.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/ppi.h"

using namespace gkd;

namespace {

using Files = std::map<std::string, std::string>;  // file name -> bytes

template <class T>
std::string raw(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A version-1 .npy file as numpy.save writes it (dict padded so the data is 64-byte aligned).
template <class T>
std::string npy(const std::string& descr, const std::string& shape, const std::vector<T>& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string b = "\x93NUMPY";
  b += '\x01';
  b += '\x00';
  b += static_cast<char>(dict.size() & 0xff);
  b += static_cast<char>(dict.size() >> 8);
  return b + dict + raw(data);
}

// Feature value of global node v, column c, in a split: distinct and exact in f32.
float feat(int split, int64_t v, int64_t c) {
  return static_cast<float>(split * 100 + v * 10 + c) + 0.5f;
}
std::vector<float> feats_f32(int split, int64_t n, int64_t f) {
  std::vector<float> out;
  for (int64_t v = 0; v < n; ++v)
    for (int64_t c = 0; c < f; ++c) out.push_back(feat(split, v, c));
  return out;
}
// Label of node v, column c: (v + c) % 2.
template <class T>
std::vector<T> labels(int64_t n, int64_t l) {
  std::vector<T> out;
  for (int64_t v = 0; v < n; ++v)
    for (int64_t c = 0; c < l; ++c) out.push_back(static_cast<T>((v + c) % 2));
  return out;
}

constexpr int64_t kF = 5, kL = 3;

// train: 5 nodes listed out of id order, graph ids {3,3,3,4,4} (re-based to 0, 1). Graph 0 has
// links 0-1 (also listed reversed and repeated), 1-2 and a self loop 2-2; graph 1 has 4-3.
// valid: one graph of 2 nodes (f64 features, i64 labels, i32 graph ids).
// test: one graph of 3 nodes, node 0 isolated (u8 labels).
std::string train_json() {
  return R"({"directed": false, "multigraph": false, "graph": {},
 "nodes": [{"test": false, "id": 2, "val": false}, {"test": false, "id": 0, "val": false},
           {"id": 4}, {"id": 1}, {"id": 3}],
 "links": [{"source": 0, "target": 1}, {"source": 1, "target": 0}, {"source": 1, "target": 2},
           {"source": 2, "target": 2}, {"source": 0, "target": 1}, {"source": 4, "target": 3}]})";
}

Files fixture() {
  std::vector<double> valid_feats;
  for (float v : feats_f32(1, 2, kF)) valid_feats.push_back(v);
  return {
      {"train_graph.json", train_json()},
      {"train_feats.npy", npy("<f4", "(5, 5)", feats_f32(0, 5, kF))},
      {"train_labels.npy", npy("<f8", "(5, 3)", labels<double>(5, kL))},
      {"train_graph_id.npy", npy("<i8", "(5,)", std::vector<int64_t>{3, 3, 3, 4, 4})},
      {"valid_graph.json", R"({"directed": false, "multigraph": false, "graph": {},
        "nodes": [{"id": 0}, {"id": 1}], "links": [{"source": 1, "target": 0}]})"},
      {"valid_feats.npy", npy("<f8", "(2, 5)", valid_feats)},
      {"valid_labels.npy", npy("<i8", "(2, 3)", labels<int64_t>(2, kL))},
      {"valid_graph_id.npy", npy("<i4", "(2,)", std::vector<int32_t>{21, 21})},
      {"test_graph.json", R"({"directed": false, "multigraph": false, "graph": {},
        "nodes": [{"id": 0}, {"id": 1}, {"id": 2}], "links": [{"source": 2, "target": 1}]})"},
      {"test_feats.npy", npy("<f4", "(3, 5)", feats_f32(2, 3, kF))},
      {"test_labels.npy", npy("|u1", "(3, 3)", labels<uint8_t>(3, kL))},
      {"test_graph_id.npy", npy("<i8", "(3,)", std::vector<int64_t>{23, 23, 23})},
  };
}

std::string write_folder(const Files& files) {
  static int counter = 0;
  const auto dir =
      std::filesystem::temp_directory_path() / "gkd_test_ppi" / std::to_string(++counter);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& [name, content] : files) {
    std::ofstream out(dir / name, std::ios::binary);
    out << content;
  }
  return dir.string();
}

// Loads the fixture with `name` replaced by `content` (or removed when content is "<none>").
void load_with(const std::string& name, const std::string& content) {
  Files files = fixture();
  if (content == "<none>") {
    files.erase(name);
  } else {
    files[name] = content;
  }
  io::load_ppi(write_folder(files));
}

// train_graph.json with its "links" array replaced.
std::string train_links(const std::string& links) {
  return R"({"directed": false, "nodes": [{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}],
  "links": )" +
         links + "}";
}

using E = std::vector<std::pair<int32_t, int32_t>>;
E edge_pairs(const Graph& g) {
  const auto src = g.edge_src().to_vector<int32_t>();
  const auto dst = g.edge_dst().to_vector<int32_t>();
  E out;
  for (size_t e = 0; e < src.size(); ++e) out.emplace_back(src[e], dst[e]);
  std::sort(out.begin(), out.end());
  return out;
}

// The rows [begin, end) of a split's feature pattern / label pattern, as f32.
std::vector<float> want_x(int split, int64_t begin, int64_t end) {
  std::vector<float> out;
  for (int64_t v = begin; v < end; ++v)
    for (int64_t c = 0; c < kF; ++c) out.push_back(feat(split, v, c));
  return out;
}
std::vector<float> want_y(int64_t begin, int64_t end) {
  std::vector<float> out;
  for (int64_t v = begin; v < end; ++v)
    for (int64_t c = 0; c < kL; ++c) out.push_back(static_cast<float>((v + c) % 2));
  return out;
}

void check_split(const io::PpiSplit& s, int split, const std::vector<int64_t>& offsets,
                 const std::vector<E>& edges) {
  REQUIRE(s.graphs.size() == offsets.size() - 1);
  REQUIRE(s.x.size() == s.graphs.size());
  REQUIRE(s.y.size() == s.graphs.size());
  for (size_t g = 0; g < s.graphs.size(); ++g) {
    CAPTURE(g);
    const int64_t n = offsets[g + 1] - offsets[g];
    CHECK(s.graphs[g].num_nodes() == n);
    CHECK(edge_pairs(s.graphs[g]) == edges[g]);
    CHECK(s.x[g].dtype() == DType::kF32);
    CHECK(s.x[g].rows() == n);
    CHECK(s.x[g].cols() == kF);
    CHECK(s.x[g].to_vector<float>() == want_x(split, offsets[g], offsets[g + 1]));
    CHECK(s.y[g].dtype() == DType::kF32);
    CHECK(s.y[g].rows() == n);
    CHECK(s.y[g].cols() == kL);
    CHECK(s.y[g].to_vector<float>() == want_y(offsets[g], offsets[g + 1]));
  }
}

}  // namespace

TEST_CASE("io: load_ppi reads a fixture folder in the PyG/DGL layout exactly") {
  const io::PpiDataset d = io::load_ppi(write_folder(fixture()));
  CHECK(d.num_features == kF);
  CHECK(d.num_labels == kL);
  // Both directions, duplicates and the self loop dropped, ids re-based per graph (4-3 -> 1-0).
  check_split(d.train, 0, {0, 3, 5}, {{{0, 1}, {1, 0}, {1, 2}, {2, 1}}, {{0, 1}, {1, 0}}});
  check_split(d.valid, 1, {0, 2}, {{{0, 1}, {1, 0}}});
  check_split(d.test, 2, {0, 3}, {{{1, 2}, {2, 1}}});  // node 0 isolated
}

TEST_CASE("io: load_ppi accepts the networkx >= 3.4 \"edges\" key") {
  Files files = fixture();
  files["train_graph.json"] = R"({"nodes": [{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}],
    "edges": [{"source": 2, "target": 0}]})";
  const io::PpiDataset d = io::load_ppi(write_folder(files));
  CHECK(edge_pairs(d.train.graphs[0]) == E{{0, 2}, {2, 0}});
  CHECK(d.train.graphs[1].num_edges() == 0);
}

TEST_CASE("io: load_ppi rejects malformed folders with a clear gkd::Error") {
  const auto expect = [](const std::string& name, const std::string& content,
                         const std::string& fragment) {
    CAPTURE(name);
    CAPTURE(fragment);
    CHECK_THROWS_WITH_AS(load_with(name, content), doctest::Contains(fragment.c_str()), Error);
  };
  CHECK_THROWS_WITH_AS(io::load_ppi("/nonexistent/ppi"), doctest::Contains("not a directory"),
                       Error);
  // Missing files.
  expect("train_feats.npy", "<none>", "train_feats.npy: missing");
  expect("valid_graph.json", "<none>", "valid_graph.json: missing");
  expect("test_graph_id.npy", "<none>", "test_graph_id.npy: missing");
  // JSON structure.
  expect("train_graph.json", train_json().substr(0, 100), "train_graph.json: not valid JSON");
  expect("train_graph.json", "[1, 2]", "top level is array (expected an object");
  expect("train_graph.json", R"({"links": []})", "train_graph.json: field \"nodes\" is missing");
  expect("train_graph.json", R"({"nodes": {}, "links": []})",
         "field \"nodes\" is object (expected an array)");
  expect("train_graph.json", R"({"nodes": [], "links": []})", "field \"nodes\" is empty");
  expect("train_graph.json",
         R"({"nodes": [{"id": 0}, {"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]})",
         "train_graph.json: field \"links\" is missing");
  expect("train_graph.json", train_links("{}"), "field \"links\" is object (expected an array)");
  expect("train_graph.json", R"({"directed": true, "nodes": [{"id": 0}], "links": []})",
         "\"directed\" is true (expected false");
  // Node ids.
  expect("train_graph.json", R"({"nodes": [{"id": "a"}], "links": []})",
         "nodes[0].id is \"a\" (expected an integer)");
  expect("train_graph.json", R"({"nodes": [{"id": 0}, {"id": 1.5}], "links": []})",
         "nodes[1].id is 1.5 (expected an integer)");
  expect("train_graph.json", R"({"nodes": [{"id": 0}, {"name": 1}], "links": []})",
         "nodes[1].id is missing");
  expect("train_graph.json", R"({"nodes": [{"id": 0}, 7], "links": []})",
         "nodes[1] is 7 (expected an object)");
  expect("train_graph.json", R"({"nodes": [{"id": 0}, {"id": -1}], "links": []})",
         "nodes[1].id is -1, outside [0, 2)");
  expect("train_graph.json", R"({"nodes": [{"id": 1}, {"id": 1}], "links": []})",
         "nodes[1].id is 1, already the id of nodes[0]");
  // Links.
  expect("train_graph.json",
         train_links(R"([{"source": 0, "target": 1}, {"source": 1, "target": 9}])"),
         "train_graph.json: links[1].target is 9, outside [0, 5)");
  expect("train_graph.json", train_links(R"([{"source": 0}])"), "links[0].target is missing");
  expect("train_graph.json", train_links(R"([{"source": "x", "target": 1}])"),
         "links[0].source is \"x\" (expected an integer)");
  expect("train_graph.json", train_links("[3]"), "links[0] is 3 (expected an object)");
  expect("train_graph.json",
         train_links(R"([{"source": 0, "target": 1}, {"source": 2, "target": 3}])"),
         "links[1] joins node 2 (graph 0) and node 3 (graph 1)");
  // Row counts against the JSON node count.
  expect("train_feats.npy", npy("<f4", "(4, 5)", feats_f32(0, 4, kF)),
         "train_feats.npy: has 4 rows (expected 5, the node count of");
  expect("valid_labels.npy", npy("<i8", "(3, 3)", labels<int64_t>(3, kL)),
         "valid_labels.npy: has 3 rows (expected 2");
  expect("test_graph_id.npy", npy("<i8", "(2,)", std::vector<int64_t>{0, 0}),
         "test_graph_id.npy: has 2 rows (expected 3");
  // Ranks, dtypes, values.
  expect("train_labels.npy", npy("<f8", "(5,)", std::vector<double>{0, 1, 0, 1, 0}),
         "train_labels.npy: array has 1 dimension(s)");
  expect("train_graph_id.npy", npy("<i8", "(5, 1)", std::vector<int64_t>{0, 0, 0, 1, 1}),
         "train_graph_id.npy: array has 2 dimension(s)");
  expect("train_graph_id.npy", npy("<f8", "(5,)", std::vector<double>{0, 0, 0, 1, 1}),
         "train_graph_id.npy: dtype is f64 (expected an integer dtype)");
  std::vector<double> bad_labels = labels<double>(5, kL);
  bad_labels[1 * kL + 2] = 0.5;
  expect("train_labels.npy", npy("<f8", "(5, 3)", bad_labels),
         "train_labels.npy: row 1, column 2 is 0.5 (expected 0 or 1)");
  std::vector<float> bad_feats = feats_f32(0, 5, kF);
  bad_feats[3 * kF + 4] = NAN;
  expect("train_feats.npy", npy("<f4", "(5, 5)", bad_feats),
         "train_feats.npy: row 3, column 4 is nan (expected a finite value)");
  expect("valid_feats.npy", npy("<f4", "(2, 4)", feats_f32(1, 2, 4)),
         "valid_feats.npy: has 4 feature columns (expected 5, as train_feats.npy)");
  expect("test_labels.npy", npy("|u1", "(3, 2)", labels<uint8_t>(3, 2)),
         "test_labels.npy: has 2 label columns (expected 3");
  expect("train_feats.npy", "not an npy file", "train_feats.npy");
  // Graph ids: contiguous non-decreasing blocks without gaps.
  expect("train_graph_id.npy", npy("<i8", "(5,)", std::vector<int64_t>{3, 3, 4, 3, 4}),
         "row 3 has graph id 3 after 4 (expected 4 or 5");
  expect("train_graph_id.npy", npy("<i8", "(5,)", std::vector<int64_t>{3, 3, 3, 5, 5}),
         "row 3 has graph id 5 after 3 (expected 3 or 4");
  expect("train_graph_id.npy", npy("<i8", "(5,)", std::vector<int64_t>{4, 4, 4, 3, 3}),
         "row 0 has graph id 4 but the minimum is 3");
}

TEST_CASE("io: load_ppi never crashes on truncated or corrupted JSON") {
  const std::string good = train_json();
  std::mt19937 rng(20260101);
  int errors = 0, loads = 0;
  const auto attempt = [&](const std::string& text) {
    Files files = fixture();
    files["train_graph.json"] = text;
    try {
      io::load_ppi(write_folder(files));
      ++loads;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (size_t cut = 0; cut < good.size(); cut += 7) attempt(good.substr(0, cut));
  const std::string alphabet = "{}[]\":,0123456789-.eE abcxyz\x01\xff";
  for (int trial = 0; trial < 150; ++trial) {
    std::string text = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    }
    attempt(text);
  }
  CHECK(errors > 0);
  CHECK(errors + loads == static_cast<int>((good.size() + 6) / 7) + 150);
}
