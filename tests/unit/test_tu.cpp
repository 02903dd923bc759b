// Fixture tests of the TU Dortmund loader (engine/io/tu.h): a tiny TU folder is written into a temp
// dir, loaded and checked field by field; malformed variants must each raise a gkd::Error naming
// the file, line and field; random byte corruptions must never crash.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/tu.h"

using namespace gkd;

namespace {

using Files = std::map<std::string, std::string>;  // suffix ("A.txt") -> content

// Three graphs: nodes 1-3 (a path, one edge listed twice), nodes 4-5 (one undirected edge),
// node 6 alone with a self loop. Raw graph labels {5, -1, 5}, node labels {3, 7, 9}, two
// attribute columns with irregular spacing as in the real files.
Files fixture() {
  return {
      {"A.txt", "1, 2\n2, 1\n2, 3\n3, 2\n1, 2\n5,4\n4, 5\n6, 6\n"},
      {"graph_indicator.txt", "1\n1\n1\n2\n2\n3\n"},
      {"graph_labels.txt", "5\n-1\n5\n"},
      {"node_labels.txt", "3\n7\n3\n7\n9\n3\n"},
      {"node_attributes.txt", " 0.5, -1\n1.25,2\n0,0\n-3, 4.5\n7 ,8\n1e-3, 10\n"},
  };
}

// Writes `files` into a fresh folder named TOY and returns its path.
std::string write_folder(const Files& files) {
  static int counter = 0;
  const auto dir =
      std::filesystem::temp_directory_path() / "gkd_test_tu" / std::to_string(++counter) / "TOY";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& [suffix, content] : files) {
    std::ofstream out(dir / ("TOY_" + suffix), std::ios::binary);
    out << content;
  }
  return dir.string();
}

std::vector<std::pair<int32_t, int32_t>> edge_pairs(const Graph& g) {
  const auto src = g.edge_src().to_vector<int32_t>();
  const auto dst = g.edge_dst().to_vector<int32_t>();
  std::vector<std::pair<int32_t, int32_t>> out;
  for (size_t e = 0; e < src.size(); ++e) out.emplace_back(src[e], dst[e]);
  std::sort(out.begin(), out.end());
  return out;
}

// Loads the fixture with `suffix` replaced by `content` (or removed when content is "<none>").
void load_with(const std::string& suffix, const std::string& content) {
  Files files = fixture();
  if (content == "<none>") {
    files.erase(suffix);
  } else {
    files[suffix] = content;
  }
  io::load_tu(write_folder(files));
}

}  // namespace

TEST_CASE("io: load_tu reads a fixture folder exactly") {
  const io::GraphDataset d = io::load_tu(write_folder(fixture()) + "/");
  CHECK(d.name == "TOY");
  CHECK(d.num_classes == 2);
  CHECK(d.num_node_features == 2 + 3);  // attributes, then one-hot over {3, 7, 9}
  CHECK(d.train.empty());
  REQUIRE(d.samples.size() == 3);

  using E = std::vector<std::pair<int32_t, int32_t>>;
  CHECK(d.samples[0].graph.num_nodes() == 3);
  CHECK(edge_pairs(d.samples[0].graph) == E{{0, 1}, {1, 0}, {1, 2}, {2, 1}});  // duplicate dropped
  CHECK(d.samples[1].graph.num_nodes() == 2);
  CHECK(edge_pairs(d.samples[1].graph) == E{{0, 1}, {1, 0}});
  CHECK(d.samples[2].graph.num_nodes() == 1);
  CHECK(edge_pairs(d.samples[2].graph) == E{{0, 0}});  // self loop kept

  // Raw labels {-1, 5} -> {0, 1}.
  CHECK(d.samples[0].label == 1);
  CHECK(d.samples[1].label == 0);
  CHECK(d.samples[2].label == 1);

  const std::vector<std::vector<float>> want = {
      {0.5f, -1.0f, 1, 0, 0, 1.25f, 2.0f, 0, 1, 0, 0.0f, 0.0f, 1, 0, 0},
      {-3.0f, 4.5f, 0, 1, 0, 7.0f, 8.0f, 0, 0, 1},
      {1e-3f, 10.0f, 1, 0, 0},
  };
  for (size_t g = 0; g < 3; ++g) {
    CAPTURE(g);
    const Tensor& x = d.samples[g].x;
    CHECK(x.dtype() == DType::kF32);
    CHECK(x.rows() == d.samples[g].graph.num_nodes());
    CHECK(x.cols() == 5);
    CHECK(x.to_vector<float>() == want[g]);
    CHECK(!d.samples[g].edge_attr.defined());
  }
}

TEST_CASE("io: load_tu without node labels or attributes gives a column of ones") {
  Files files = fixture();
  files.erase("node_labels.txt");
  files.erase("node_attributes.txt");
  const io::GraphDataset d = io::load_tu(write_folder(files));
  CHECK(d.num_node_features == 1);
  CHECK(d.samples[0].x.to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(d.samples[2].x.to_vector<float>() == std::vector<float>{1});

  files["node_labels.txt"] = "0, 4\n1, 4\n0, 4\n1, 5\n0, 4\n1, 4\n";  // two label columns
  files["graph_labels.txt"] = "1\r\n2\r\n3\r\n\n\n";                  // CRLF, trailing blanks
  const io::GraphDataset m = io::load_tu(write_folder(files));
  CHECK(m.num_classes == 3);
  CHECK(m.samples[2].label == 2);
  CHECK(m.num_node_features == 4);
  CHECK(m.samples[1].x.to_vector<float>() == std::vector<float>{0, 1, 0, 1, 1, 0, 1, 0});
}

TEST_CASE("io: load_tu rejects malformed folders naming file, line and field") {
  CHECK_THROWS_WITH_AS(load_with("A.txt", "<none>"),
                       doctest::Contains("TOY_A.txt: required file is missing"), Error);
  CHECK_THROWS_WITH_AS(load_with("graph_labels.txt", "<none>"),
                       doctest::Contains("TOY_graph_labels.txt: required file is missing"), Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "1, 2\n2, 1\n1 2\n"),
                       doctest::Contains("TOY_A.txt: line 3, field 1: '1 2' is not an integer"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "1, 2\n2\n"),
                       doctest::Contains("TOY_A.txt: line 2 has 1 comma-separated fields "
                                         "(expected 2)"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "1, 2\n\n2, 1\n"),
                       doctest::Contains("TOY_A.txt: line 2: empty line"), Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "1, 2\n2, 7\n"),
                       doctest::Contains("TOY_A.txt: line 2, field 2: node id 7 is outside [1, 6]"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "0, 1\n"),
                       doctest::Contains("line 1, field 1: node id 0 is outside [1, 6]"), Error);
  CHECK_THROWS_WITH_AS(
      load_with("A.txt", "1, 2\n3, 4\n"),
      doctest::Contains("TOY_A.txt: line 2: edge 3 -> 4 joins graph 1 and graph 2"), Error);
  CHECK_THROWS_WITH_AS(load_with("A.txt", "1, 99999999999999999999\n"),
                       doctest::Contains("line 1, field 2: '99999999999999999999' is not an"),
                       Error);
  CHECK_THROWS_WITH_AS(
      load_with("graph_indicator.txt", "2\n2\n2\n3\n3\n4\n"),
      doctest::Contains("TOY_graph_indicator.txt: line 1, field 1: graph id 2 (expected 1"), Error);
  CHECK_THROWS_WITH_AS(load_with("graph_indicator.txt", "1\n1\n2\n1\n3\n3\n"),
                       doctest::Contains("TOY_graph_indicator.txt: line 4, field 1: graph id 1 "
                                         "follows 2 (expected 2 or 3"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("graph_indicator.txt", "1\n1\n1\n3\n3\n3\n"),
                       doctest::Contains("line 4, field 1: graph id 3 follows 1"), Error);
  CHECK_THROWS_WITH_AS(load_with("graph_indicator.txt", ""),
                       doctest::Contains("TOY_graph_indicator.txt: has no lines"), Error);
  CHECK_THROWS_WITH_AS(load_with("graph_labels.txt", "1\n2\n"),
                       doctest::Contains("TOY_graph_labels.txt: has 2 lines (expected 3"), Error);
  CHECK_THROWS_WITH_AS(load_with("graph_labels.txt", "1\n2\n1.5\n"),
                       doctest::Contains("line 3, field 1: '1.5' is not an integer"), Error);
  CHECK_THROWS_WITH_AS(load_with("node_attributes.txt", "1, 2\n3, 4\n5, 6\n7, 8\n9, 10\n"),
                       doctest::Contains("TOY_node_attributes.txt: has 5 lines (expected 6"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("node_attributes.txt", "1, 2\n3\n5, 6\n7, 8\n9, 10\n1, 1\n"),
                       doctest::Contains("TOY_node_attributes.txt: line 2 has 1 comma-separated "
                                         "fields (expected 2, as on line 1)"),
                       Error);
  CHECK_THROWS_WITH_AS(load_with("node_attributes.txt", "1, 2\n3, x\n5, 6\n7, 8\n9, 10\n1, 1\n"),
                       doctest::Contains("line 2, field 2: 'x' is not a finite number"), Error);
  CHECK_THROWS_WITH_AS(load_with("node_attributes.txt", "1, 2\n3, nan\n5, 6\n7, 8\n9, 1\n1, 1\n"),
                       doctest::Contains("line 2, field 2: 'nan' is not a finite number"), Error);
  CHECK_THROWS_WITH_AS(load_with("node_attributes.txt", "1, 2\n3, \n5, 6\n7, 8\n9, 10\n1, 1\n"),
                       doctest::Contains("line 2, field 2: empty field"), Error);
  CHECK_THROWS_WITH_AS(load_with("node_labels.txt", "1\n2\n3\n"),
                       doctest::Contains("TOY_node_labels.txt: has 3 lines (expected 6"), Error);
  CHECK_THROWS_WITH_AS(io::load_tu("/nonexistent/gkd/TOY"),
                       doctest::Contains("/nonexistent/gkd/TOY/TOY_graph_indicator.txt: required"),
                       Error);
}

TEST_CASE("io: load_tu survives random corruptions of the fixture") {
  const Files clean = fixture();
  std::mt19937 rng(20261122);
  const std::string alphabet = "0123456789,\n -.e\r\tx";
  int errors = 0, loaded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Files files = clean;
    auto it = files.begin();
    std::advance(it, static_cast<long>(rng() % files.size()));
    std::string& text = it->second;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const size_t pos = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(pos, 1 + rng() % 3);
          break;
        default:
          text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    CAPTURE(it->first);
    CAPTURE(text);
    try {
      const io::GraphDataset d = io::load_tu(write_folder(files));
      // Whatever loads must be self-consistent.
      CHECK(d.num_classes >= 1);
      for (const auto& s : d.samples) {
        CHECK(s.x.rows() == s.graph.num_nodes());
        CHECK(s.x.cols() == d.num_node_features);
        CHECK((s.label >= 0 && s.label < d.num_classes));
      }
      ++loaded;
    } catch (const Error&) {
      ++errors;  // anything other than gkd::Error escapes and fails the test
    }
  }
  CHECK(errors > 50);  // the corruptions do reach the validation
  CHECK(loaded > 0);   // and some (e.g. a changed digit) are still valid folders
}
