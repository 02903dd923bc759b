// The real datasets under GKD_DATA_DIR (shared/data), read with the .npz reader and checked against
// the statistics in data/README.md, exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/graph.h"
#include "engine/io/npy.h"

using namespace gkd;

namespace {

struct Expected {
  const char* file;  // relative to GKD_DATA_DIR
  int64_t n, e, f, c, nnz, isolated;
  std::vector<int64_t> class_counts;
  bool masks;  // planetoid: public split masks present
  int64_t train, val, test;
};

std::string data_path(const std::string& relative) {
  return std::string(std::getenv("GKD_DATA_DIR")) + "/" + relative;
}

int64_t count_ones(const Tensor& mask) {
  const std::vector<uint8_t> v = mask.to_vector<uint8_t>();
  return std::count(v.begin(), v.end(), uint8_t{1});
}

void check_dataset(const Expected& x) {
  CAPTURE(x.file);
  const auto a = io::read_npz(data_path(x.file));
  std::set<std::string> keys;
  for (const auto& [k, t] : a) keys.insert(k);
  std::set<std::string> want = {"edge_index", "x_indptr", "x_indices", "x_data", "x_shape", "y"};
  if (x.masks) want.insert({"train_mask", "val_mask", "test_mask"});
  REQUIRE(keys == want);

  // Labels: [N] int64 in [0, C), with the README's class counts.
  const Tensor& y = a.at("y");
  CHECK(y.dtype() == DType::kI64);
  REQUIRE(y.rows() == x.n);
  CHECK(y.cols() == 1);
  std::vector<int64_t> counts(x.c, 0);
  bool labels_ok = true;
  for (int64_t label : y.to_vector<int64_t>()) {
    labels_ok = labels_ok && label >= 0 && label < x.c;
    if (labels_ok) ++counts[label];
  }
  REQUIRE(labels_ok);
  CHECK(counts == x.class_counts);

  // Edges: [2, E] int64, sorted by (src, dst), no duplicates, no self loops, symmetric.
  const Tensor& ei = a.at("edge_index");
  CHECK(ei.dtype() == DType::kI64);
  REQUIRE(ei.rows() == 2);
  REQUIRE(ei.cols() == x.e);
  const std::vector<int64_t> flat = ei.to_vector<int64_t>();  // row-major: sources, then dests
  std::vector<int32_t> src(x.e), dst(x.e);
  std::vector<std::pair<int32_t, int32_t>> edges(x.e), reversed(x.e);
  int64_t self_loops = 0, out_of_range = 0;
  for (int64_t i = 0; i < x.e; ++i) {
    const int64_t s = flat[i], d = flat[x.e + i];
    out_of_range += s < 0 || s >= x.n || d < 0 || d >= x.n;
    src[i] = static_cast<int32_t>(s);
    dst[i] = static_cast<int32_t>(d);
    self_loops += s == d;
    edges[i] = {src[i], dst[i]};
    reversed[i] = {dst[i], src[i]};
  }
  REQUIRE(out_of_range == 0);
  CHECK(self_loops == 0);
  CHECK(std::adjacent_find(edges.begin(), edges.end(), std::greater_equal<>()) == edges.end());
  std::sort(reversed.begin(), reversed.end());
  CHECK(reversed == edges);                          // every edge's reverse is present
  const Graph g = Graph::from_edges(x.n, src, dst);  // rejects duplicates
  CHECK(g.num_nodes() == x.n);
  CHECK(g.num_edges() == x.e);
  int64_t isolated = 0;
  const std::vector<int64_t>& in_ptr = g.host_in_indptr();
  for (int64_t v = 0; v < x.n; ++v) isolated += in_ptr[v + 1] == in_ptr[v];
  CHECK(isolated == x.isolated);

  // Features: CSR [N, F] with x_indptr[N] == nnz, sorted column indices in [0, F).
  const std::vector<int64_t> shape = a.at("x_shape").to_vector<int64_t>();
  CHECK(shape == std::vector<int64_t>{x.n, x.f});
  const std::vector<int64_t> indptr = a.at("x_indptr").to_vector<int64_t>();
  const std::vector<int32_t> indices = a.at("x_indices").to_vector<int32_t>();
  const std::vector<float> values = a.at("x_data").to_vector<float>();
  REQUIRE(static_cast<int64_t>(indptr.size()) == x.n + 1);
  CHECK(indptr.front() == 0);
  CHECK(indptr.back() == x.nnz);
  CHECK(static_cast<int64_t>(indices.size()) == x.nnz);
  CHECK(static_cast<int64_t>(values.size()) == x.nnz);
  bool rows_ok = true;
  for (int64_t v = 0; v < x.n && rows_ok; ++v) {
    rows_ok = indptr[v] <= indptr[v + 1] && indptr[v + 1] <= x.nnz;
    for (int64_t p = indptr[v]; rows_ok && p < indptr[v + 1]; ++p) {
      rows_ok =
          indices[p] >= 0 && indices[p] < x.f && (p == indptr[v] || indices[p - 1] < indices[p]);
    }
  }
  CHECK(rows_ok);
  CHECK(std::all_of(values.begin(), values.end(), [](float v) { return v == 1.0f; }));  // binary

  if (!x.masks) return;
  // Public split: train = the first 20 per class, val = the next 500, 1000 test nodes, disjoint.
  const std::vector<uint8_t> train = a.at("train_mask").to_vector<uint8_t>();
  const std::vector<uint8_t> val = a.at("val_mask").to_vector<uint8_t>();
  const std::vector<uint8_t> test = a.at("test_mask").to_vector<uint8_t>();
  CHECK(a.at("train_mask").dtype() == DType::kU8);
  CHECK(count_ones(a.at("train_mask")) == x.train);
  CHECK(count_ones(a.at("val_mask")) == x.val);
  CHECK(count_ones(a.at("test_mask")) == x.test);
  bool split_ok = true;
  for (int64_t v = 0; v < x.n; ++v) {
    split_ok =
        split_ok && train[v] == (v < x.train) && val[v] == (v >= x.train && v < x.train + x.val);
    split_ok = split_ok && train[v] + val[v] + test[v] <= 1;
  }
  CHECK(split_ok);
}

}  // namespace

TEST_CASE("data: planetoid/cora.npz matches the README's statistics") {
  check_dataset({"planetoid/cora.npz",
                 2708,
                 10556,
                 1433,
                 7,
                 49216,
                 0,
                 {351, 217, 418, 818, 426, 298, 180},
                 true,
                 140,
                 500,
                 1000});
}

TEST_CASE("data: planetoid/citeseer.npz matches the README's statistics") {
  check_dataset({"planetoid/citeseer.npz",
                 3327,
                 9104,
                 3703,
                 6,
                 105165,
                 48,
                 {264, 590, 668, 701, 596, 508},
                 true,
                 120,
                 500,
                 1000});
}

TEST_CASE("data: gnnbench/amazon_electronics_photo.npz matches the README's statistics") {
  check_dataset({"gnnbench/amazon_electronics_photo.npz",
                 7650,
                 238162,
                 745,
                 8,
                 1979909,
                 115,
                 {369, 1686, 703, 915, 882, 823, 1941, 331},
                 false,
                 0,
                 0,
                 0});
}
