// The OGB raw-CSV loader on a tiny folder written by the test itself (gzipped with zlib): every
// field of the result, then one malformed variant per check, then corrupted and truncated gzip.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/ogb.h"
#include "tests/support/checks.h"
#include "tests/support/fixtures.h"

using namespace gkd;

namespace {

using Files = std::map<std::string, std::string>;  // path relative to the root -> CSV text

// Three molecules: a 3-atom chain, a lone atom (no bonds), and a 4-atom molecule whose bonds are
// listed out of canonical order and against the edge direction, so edge_attr must be permuted.
Files sample_files() {
  return {
      {"raw/num-node-list.csv.gz", "3\n1\n4\n"},
      {"raw/num-edge-list.csv.gz", "2\n0\n3\n"},
      {"raw/node-feat.csv.gz",
       "5,0,4,5,3,0,2,0,0\n"
       "7,1,2,5,0,0,3,1,1\n"
       "118,4,11,11,9,5,5,1,1\n"
       "0,0,0,0,0,0,0,0,0\n"
       "16,0,1,6,0,0,1,0,0\n"
       "5,2,3,4,1,1,2,1,1\n"
       "8,3,2,5,2,0,4,0,1\n"
       "6,0,1,5,1,0,2,1,0\n"},
      {"raw/edge.csv.gz", "0,1\n1,2\n2,0\n0,1\n3,2\n"},
      {"raw/edge-feat.csv.gz", "0,0,0\n1,2,1\n4,5,1\n3,1,0\n2,4,1\n"},
      {"raw/graph-label.csv.gz", "1\n0\n1\n"},
      {"split/scaffold/train.csv.gz", "2\n0\n"},
      {"split/scaffold/valid.csv.gz", "1\n"},
      {"split/scaffold/test.csv.gz", ""},
  };
}

void write_gz(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  gzFile f = gzopen(path.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!text.empty()) REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) > 0);
  REQUIRE(gzclose(f) == Z_OK);
}

// A fresh folder holding `files`; each call gets its own, so cases never see each other's files.
std::string write_folder(const Files& files, const std::string& name = "ogbg_tiny") {
  static int counter = 0;
  const auto root =
      std::filesystem::temp_directory_path() / "gkd_test_ogb" / std::to_string(++counter) / name;
  std::filesystem::remove_all(root);
  for (const auto& [rel, text] : files) write_gz(root / rel, text);
  return root.string();
}

// The loader's message for `files` with file `rel` replaced by `text`.
std::string error_with(const std::string& rel, const std::string& text) {
  Files f = sample_files();
  f[rel] = text;
  const std::string root = write_folder(f);
  return test::error_of([&] { io::load_ogb_graph(root); });
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::vector<int32_t> ints(const Tensor& t) {
  return t.to_vector<int32_t>();
}

}  // namespace

TEST_CASE("ogb: a tiny folder loads with every field exact, reverse edges included") {
  const io::GraphDataset ds = io::load_ogb_graph(write_folder(sample_files()) + "/");
  CHECK(ds.name == "ogbg-tiny");
  CHECK(ds.num_classes == 2);
  CHECK(ds.num_node_features == 9);
  CHECK(ds.train == std::vector<int64_t>{2, 0});
  CHECK(ds.valid == std::vector<int64_t>{1});
  CHECK(ds.test.empty());
  REQUIRE(ds.samples.size() == 3);
  CHECK(ds.samples[0].label == 1);
  CHECK(ds.samples[1].label == 0);
  CHECK(ds.samples[2].label == 1);

  // Graph 0: bonds 0-1 (feat 0,0,0) and 1-2 (feat 1,2,1). Canonical order is by destination, then
  // source: 1->0, 0->1, 2->1, 1->2.
  const io::GraphSample& a = ds.samples[0];
  CHECK(a.graph.num_nodes() == 3);
  REQUIRE(a.graph.num_edges() == 4);
  CHECK(ints(a.graph.edge_src()) == std::vector<int32_t>{1, 0, 2, 1});
  CHECK(ints(a.graph.edge_dst()) == std::vector<int32_t>{0, 1, 1, 2});
  CHECK(a.x.dtype() == DType::kI64);
  CHECK(a.x.rows() == 3);
  CHECK(a.x.cols() == 9);
  CHECK(a.x.to_vector<int64_t>() == std::vector<int64_t>{5,   0, 4,  5,  3, 0, 2, 0, 0,  //
                                                         7,   1, 2,  5,  0, 0, 3, 1, 1,  //
                                                         118, 4, 11, 11, 9, 5, 5, 1, 1});
  CHECK(a.edge_attr.dtype() == DType::kI64);
  CHECK(a.edge_attr.rows() == 4);
  CHECK(a.edge_attr.cols() == 3);
  CHECK(a.edge_attr.to_vector<int64_t>() ==
        std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 2, 1, 1, 2, 1});

  // Graph 1: one atom, no bonds; edge_attr is a defined [0, 3] tensor.
  const io::GraphSample& b = ds.samples[1];
  CHECK(b.graph.num_nodes() == 1);
  CHECK(b.graph.num_edges() == 0);
  CHECK(b.x.to_vector<int64_t>() == std::vector<int64_t>(9, 0));
  CHECK(b.edge_attr.defined());
  CHECK(b.edge_attr.rows() == 0);
  CHECK(b.edge_attr.cols() == 3);

  // Graph 2: bonds 2-0 (4,5,1), 0-1 (3,1,0), 3-2 (2,4,1). By destination, then source:
  // 1->0, 2->0, 0->1, 0->2, 3->2, 2->3.
  const io::GraphSample& c = ds.samples[2];
  CHECK(c.graph.num_nodes() == 4);
  REQUIRE(c.graph.num_edges() == 6);
  CHECK(ints(c.graph.edge_src()) == std::vector<int32_t>{1, 2, 0, 0, 3, 2});
  CHECK(ints(c.graph.edge_dst()) == std::vector<int32_t>{0, 0, 1, 2, 2, 3});
  CHECK(c.x.rows() == 4);
  CHECK(c.x.to_vector<int64_t>()[0] == 16);
  CHECK(c.x.to_vector<int64_t>()[27] == 6);
  CHECK(c.edge_attr.to_vector<int64_t>() ==
        std::vector<int64_t>{3, 1, 0, 4, 5, 1, 3, 1, 0, 4, 5, 1, 2, 4, 1, 2, 4, 1});
}

TEST_CASE("ogb: CRLF line ends and a last line without newline are accepted") {
  Files f = sample_files();
  f["raw/num-node-list.csv.gz"] = "3\r\n1\r\n4";
  f["raw/edge.csv.gz"] = "0,1\r\n1,2\r\n2,0\r\n0,1\r\n3,2";
  const io::GraphDataset ds = io::load_ogb_graph(write_folder(f));
  REQUIRE(ds.samples.size() == 3);
  CHECK(ds.samples[2].graph.num_edges() == 6);
}

TEST_CASE("ogb: malformed folders raise gkd::Error naming the file, line and field") {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      // Counts that do not add up.
      {"raw/num-edge-list.csv.gz", "2\n0\n",
       "raw/num-edge-list.csv.gz: 2 lines (expected 3, one per graph"},
      {"raw/graph-label.csv.gz", "1\n0\n1\n1\n", "raw/graph-label.csv.gz: 4 lines (expected 3"},
      {"raw/num-node-list.csv.gz", "3\n1\n5\n",
       "raw/node-feat.csv.gz: 8 lines (expected 9, the sum of raw/num-node-list.csv.gz)"},
      {"raw/num-edge-list.csv.gz", "2\n1\n3\n",
       "raw/edge.csv.gz: 5 lines (expected 6, the sum of raw/num-edge-list.csv.gz)"},
      {"raw/edge-feat.csv.gz", "0,0,0\n1,2,1\n4,5,1\n3,1,0\n",
       "raw/edge-feat.csv.gz: 4 lines (expected 5, the sum"},
      {"raw/num-node-list.csv.gz", "3\n0\n5\n",
       "num-node-list.csv.gz: line 2, field 1: 0 is outside"},
      {"raw/num-edge-list.csv.gz", "2\n-1\n4\n", "num-edge-list.csv.gz: line 2, field 1: -1 is"},
      {"raw/num-node-list.csv.gz", "", "num-node-list.csv.gz: no graphs"},
      // Fields.
      {"raw/node-feat.csv.gz", "5,0,4,5,3,0,2,0\n", "node-feat.csv.gz: line 1 has 8 field(s)"},
      {"raw/node-feat.csv.gz", "5,0,4,5,3,0,2,0,0,1\n",
       "node-feat.csv.gz: line 1 has more than 9 fields"},
      {"raw/edge.csv.gz", "0,1\n1,x\n2,0\n0,1\n3,2\n",
       "edge.csv.gz: line 2, field 2: 'x' is not an integer"},
      {"raw/edge.csv.gz", "0,1\n1, 2\n2,0\n0,1\n3,2\n", "line 2, field 2: ' 2' is not an integer"},
      {"raw/edge.csv.gz", "0,1\n1,2.0\n2,0\n0,1\n3,2\n", "line 2, field 2: '2.0' is not an"},
      {"raw/edge.csv.gz", "0,1\n1,\n2,0\n0,1\n3,2\n", "line 2, field 2: '' is not an integer"},
      {"raw/edge.csv.gz", "0,1\n\n2,0\n0,1\n3,2\n", "edge.csv.gz: line 2 is empty"},
      {"raw/edge.csv.gz", "0,1\n1,99999999999999999999\n", "is out of the int64 range"},
      {"raw/graph-label.csv.gz", "1\nnan\n1\n",
       "graph-label.csv.gz: line 2, field 1: missing value 'nan'"},
      {"raw/graph-label.csv.gz", "1\n2\n1\n",
       "graph-label.csv.gz: line 2, field 1: 2 is outside the binary labels [0, 2)"},
      // Vocabularies.
      {"raw/node-feat.csv.gz",
       "5,0,4,5,3,0,2,0,0\n7,1,2,5,0,0,3,1,1\n118,4,12,11,9,5,5,1,1\n0,0,0,0,0,0,0,0,0\n"
       "16,0,1,6,0,0,1,0,0\n5,2,3,4,1,1,2,1,1\n8,3,2,5,2,0,4,0,1\n6,0,1,5,1,0,2,1,0\n",
       "node-feat.csv.gz: line 3, field 3: 12 is outside OGB's atom vocabulary [0, 12)"},
      {"raw/node-feat.csv.gz",
       "5,0,4,5,3,0,2,0,0\n7,1,2,5,0,0,3,1,1\n119,4,11,11,9,5,5,1,1\n0,0,0,0,0,0,0,0,0\n"
       "16,0,1,6,0,0,1,0,0\n5,2,3,4,1,1,2,1,1\n8,3,2,5,2,0,4,0,1\n6,0,1,5,1,0,2,1,-1\n",
       "line 3, field 1: 119 is outside OGB's atom vocabulary [0, 119)"},
      {"raw/edge-feat.csv.gz", "0,0,0\n1,2,1\n4,6,1\n3,1,0\n2,4,1\n",
       "edge-feat.csv.gz: line 3, field 2: 6 is outside OGB's bond vocabulary [0, 6)"},
      {"raw/edge-feat.csv.gz", "0,0,0\n1,2,1\n4,5,2\n3,1,0\n2,4,1\n",
       "line 3, field 3: 2 is outside OGB's bond vocabulary [0, 2)"},
      // Bonds.
      {"raw/edge.csv.gz", "0,1\n1,3\n2,0\n0,1\n3,2\n",
       "edge.csv.gz: line 2, field 2: atom 3 is outside graph 0's 3 atoms [0, 3)"},
      {"raw/edge.csv.gz", "0,1\n1,2\n2,0\n-1,1\n3,2\n",
       "edge.csv.gz: line 4, field 1: atom -1 is outside graph 2's 4 atoms"},
      {"raw/edge.csv.gz", "0,1\n1,2\n2,0\n1,1\n3,2\n",
       "edge.csv.gz: line 4: self-loop bond 1,1 in graph 2"},
      {"raw/edge.csv.gz", "0,1\n1,2\n2,0\n0,1\n0,2\n",
       "edge.csv.gz: lines 3 and 5 list the same bond 0,2 of graph 2"},
      {"raw/edge.csv.gz", "0,1\n1,0\n2,0\n0,1\n3,2\n",
       "edge.csv.gz: lines 1 and 2 list the same bond 0,1 of graph 0"},
      // Splits.
      {"split/scaffold/valid.csv.gz", "3\n",
       "valid.csv.gz: line 1, field 1: 3 is outside the graph ids [0, 3)"},
      {"split/scaffold/test.csv.gz", "1\n", "test.csv.gz: line 1: graph 1 is already in the valid"},
      {"split/scaffold/train.csv.gz", "2\n0\n2\n",
       "train.csv.gz: line 3: graph 2 is already in the train split"},
  };
  for (const auto& c : cases) {
    const std::string& rel = std::get<0>(c);
    const std::string& text = std::get<1>(c);
    const std::string& fragment = std::get<2>(c);
    CAPTURE(rel);
    CAPTURE(text);
    const std::string msg = error_with(rel, text);
    CAPTURE(msg);
    CHECK(contains(msg, fragment));
  }
}

TEST_CASE("ogb: missing folder and missing files are named") {
  CHECK(contains(test::error_of([] { io::load_ogb_graph("/nonexistent/ogbg_x"); }),
                 "/nonexistent/ogbg_x: not a directory"));
  for (const char* rel : {"raw/node-feat.csv.gz", "raw/edge-feat.csv.gz",
                          "split/scaffold/test.csv.gz", "raw/graph-label.csv.gz"}) {
    CAPTURE(rel);
    Files f = sample_files();
    f.erase(rel);
    const std::string root = write_folder(f);
    CHECK(test::error_of([&] { io::load_ogb_graph(root); }) ==
          (std::filesystem::path(root) / rel).string() + ": missing (not a readable file)");
  }
}

TEST_CASE("ogb: truncated and corrupted gzip files raise gkd::Error, never crash") {
  const std::string root = write_folder(sample_files());
  const auto target = std::filesystem::path(root) / "raw/node-feat.csv.gz";
  std::string whole;
  {
    std::ifstream in(target, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(whole.size() > 20);
  const auto write_raw = [&](const std::string& bytes) {
    std::ofstream(target, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };

  // Cut anywhere inside the stream: the loader must notice (the 8-byte trailer holds the CRC).
  for (size_t cut = 10; cut < whole.size(); ++cut) {
    CAPTURE(cut);
    write_raw(whole.substr(0, cut));
    CHECK(contains(test::error_of([&] { io::load_ogb_graph(root); }), "node-feat.csv.gz: "));
  }

  // Random bit flips: either the data still parses and validates, or gkd::Error.
  uint64_t state = test::fresh_seed();
  CAPTURE(state);
  int other_exceptions = 0, errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string b = whole;
    for (int flips = 0; flips < 1 + trial % 3; ++flips) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;  // LCG
      b[(state >> 33) % b.size()] ^= static_cast<char>(1u << ((state >> 20) % 8));
    }
    write_raw(b);
    try {
      io::load_ogb_graph(root);
    } catch (const Error&) {
      ++errors;
    } catch (...) {
      ++other_exceptions;
    }
  }
  CHECK(other_exceptions == 0);
  CHECK(errors > 0);

  // Not gzip at all: zlib passes plain bytes through, and the parser rejects the binary garbage.
  write_raw(std::string("\x01\x02\xff\x00garbage", 11));
  CHECK(contains(test::error_of([&] { io::load_ogb_graph(root); }),
                 "node-feat.csv.gz: line 1, field 1: '????garbage' is not an integer"));
}
