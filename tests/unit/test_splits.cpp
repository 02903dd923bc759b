// Tests of the seeded splits (engine/io/splits.h): determinism, exact per-class counts,
// disjointness and coverage, stratification bounds, unbiasedness of the Philox-driven shuffle,
// pinned known answers (an accidental change of the algorithm changes every split ever published
// with it), and the error messages for bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/io/splits.h"

using namespace gkd;
using namespace gkd::io;

namespace {

// Labels 0..C-1 with class c holding sizes[c] members, interleaved (not sorted) so the splits
// cannot lean on label order.
std::vector<int64_t> make_labels(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> left = sizes, out;
  bool any = true;
  while (any) {
    any = false;
    for (size_t c = 0; c < left.size(); ++c) {
      if (left[c] > 0) {
        out.push_back(static_cast<int64_t>(c));
        --left[c];
        any = true;
      }
    }
  }
  return out;
}

std::vector<int64_t> set_bits(const Tensor& mask) {
  std::vector<int64_t> out;
  const auto v = mask.to_vector<uint8_t>();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i]) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

// Checks `folds` is a partition of 0..n-1 into test sets with complementary, sorted train sets.
void check_partition(const std::vector<Fold>& folds, int64_t n) {
  std::vector<int> times_tested(static_cast<size_t>(n), 0);
  for (const Fold& f : folds) {
    CHECK(std::is_sorted(f.train.begin(), f.train.end()));
    CHECK(std::is_sorted(f.test.begin(), f.test.end()));
    CHECK(static_cast<int64_t>(f.train.size() + f.test.size()) == n);
    std::vector<int64_t> all = f.train;
    all.insert(all.end(), f.test.begin(), f.test.end());
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(static_cast<size_t>(n));
    std::iota(expected.begin(), expected.end(), int64_t{0});
    CHECK(all == expected);
    for (int64_t i : f.test) ++times_tested[i];
  }
  CHECK(std::all_of(times_tested.begin(), times_tested.end(), [](int t) { return t == 1; }));
}

}  // namespace

TEST_CASE("splits: seeded_permutation is a permutation, deterministic, seed-dependent") {
  const auto a = seeded_permutation(1000, 7);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[i] == i);
  CHECK(seeded_permutation(1000, 7) == a);
  CHECK(seeded_permutation(1000, 8) != a);
  CHECK(seeded_permutation(1000, 7, 1) != a);  // streams are independent
  CHECK(seeded_permutation(0, 7).empty());
  CHECK(seeded_permutation(1, 7) == std::vector<int64_t>{0});
}

// Values computed by an independent Python transcription of Philox4x32-10, the rejection sampler,
// Fisher-Yates and the two split rules (not by this code), so they also cross-check it.
TEST_CASE("splits: known answers pin the algorithm") {
  CHECK(seeded_permutation(10, 42) == std::vector<int64_t>{4, 8, 1, 6, 0, 9, 2, 5, 7, 3});
  uint64_t cursor = 0;
  std::vector<uint32_t> draws;
  for (int i = 0; i < 6; ++i) draws.push_back(philox_uniform_int(42, 3, &cursor, 1000));
  CHECK(draws == std::vector<uint32_t>{250, 817, 601, 695, 924, 451});
  // With bound 3 * 2^30 word 8 (below 2^30) is rejected: 9 draws consume 10 words.
  cursor = 0;
  draws.clear();
  for (int i = 0; i < 9; ++i) draws.push_back(philox_uniform_int(9, 0, &cursor, 3u << 30));
  CHECK(draws == std::vector<uint32_t>{394936752, 2294480268, 750588082, 98829645, 1844306602,
                                       2122370664, 546110271, 1934886050, 2243077719});
  CHECK(cursor == 10);

  const std::vector<int64_t> labels = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
  const auto masks =
      split_per_class(labels, 3, {.train_per_class = 1, .val_per_class = 2, .seed = 5});
  CHECK(set_bits(masks.train) == std::vector<int64_t>{4, 9, 11});
  CHECK(set_bits(masks.val) == std::vector<int64_t>{2, 3, 6, 7, 8, 10});
  CHECK(set_bits(masks.test) == std::vector<int64_t>{0, 1, 5});

  const auto folds = stratified_kfold({0, 0, 0, 1, 1, 1, 1, 2, 2}, 3, 3, 11);
  std::vector<std::vector<int64_t>> tests;
  for (const Fold& f : folds) tests.push_back(f.test);
  CHECK(tests == std::vector<std::vector<int64_t>>{{1, 3, 4}, {2, 5, 7}, {0, 6, 8}});
}

TEST_CASE("splits: philox_uniform_int rejects the surplus so it stays unbiased") {
  // bound = 3 * 2^30: without rejection, words in [2^32 - 2^30 ...) wrap onto [0, 2^30) and the
  // lowest third would get half the mass.
  const uint32_t bound = 3u << 30;
  uint64_t cursor = 0;
  int64_t bins[3] = {0, 0, 0};
  const int64_t draws = 30000;
  for (int64_t i = 0; i < draws; ++i) {
    const uint32_t x = philox_uniform_int(9, 0, &cursor, bound);
    REQUIRE(x < bound);
    ++bins[x >> 30];
  }
  CHECK(cursor > static_cast<uint64_t>(draws));  // some words were rejected (about 1 in 4)
  CHECK(cursor < static_cast<uint64_t>(draws) * 3 / 2);
  for (int64_t b : bins) CHECK(std::abs(b - draws / 3) < 600);  // sd ~ 82
  cursor = 0;
  for (int i = 0; i < 100; ++i) CHECK(philox_uniform_int(1, 0, &cursor, 1) == 0);
}

TEST_CASE("splits: each element leads a permutation of 5 about 1/5 of the time") {
  const int64_t seeds = 20000;
  std::vector<int64_t> first(5, 0), last(5, 0);
  for (int64_t s = 0; s < seeds; ++s) {
    const auto p = seeded_permutation(5, static_cast<uint64_t>(s));
    ++first[p[0]];
    ++last[p[4]];
  }
  // Expected 4000 each, sd ~ 57; 300 is a loose bound that a biased shuffle (e.g. swapping with
  // any position instead of 0..i) still exceeds.
  for (int e = 0; e < 5; ++e) {
    CHECK(std::abs(first[e] - seeds / 5) < 300);
    CHECK(std::abs(last[e] - seeds / 5) < 300);
  }
}

TEST_CASE("splits: split_per_class gives exact per-class counts, disjoint and covering") {
  const std::vector<int64_t> sizes = {60, 51, 100, 50};
  const auto labels = make_labels(sizes);
  const auto n = static_cast<int64_t>(labels.size());
  const auto masks = split_per_class(labels, 4, {.seed = 3});
  const auto train = masks.train.to_vector<uint8_t>();
  const auto val = masks.val.to_vector<uint8_t>();
  const auto test = masks.test.to_vector<uint8_t>();
  CHECK(masks.train.rows() == n);
  CHECK(masks.train.cols() == 1);
  CHECK(masks.train.dtype() == DType::kU8);
  std::vector<int64_t> tr(4, 0), va(4, 0), te(4, 0);
  for (int64_t v = 0; v < n; ++v) {
    REQUIRE(train[v] + val[v] + test[v] == 1);
    tr[labels[v]] += train[v];
    va[labels[v]] += val[v];
    te[labels[v]] += test[v];
  }
  for (int c = 0; c < 4; ++c) {
    CHECK(tr[c] == 20);
    CHECK(va[c] == 30);
    CHECK(te[c] == sizes[c] - 50);
  }
  // Same seed, same split (tensor overload, i32 labels too); another seed, another split.
  const auto again = split_per_class(Tensor::from_vector<int64_t>(n, 1, labels), 4, {.seed = 3});
  CHECK(set_bits(again.train) == set_bits(masks.train));
  CHECK(set_bits(again.val) == set_bits(masks.val));
  std::vector<int32_t> narrow(labels.begin(), labels.end());
  CHECK(
      set_bits(split_per_class(Tensor::from_vector<int32_t>(n, 1, narrow), 4, {.seed = 3}).train) ==
      set_bits(masks.train));
  CHECK(set_bits(split_per_class(labels, 4, {.seed = 4}).train) != set_bits(masks.train));
}

TEST_CASE("splits: split_per_class unlabelled nodes and short classes") {
  std::vector<int64_t> labels = make_labels({6, 6});
  labels.push_back(-1);
  labels.insert(labels.begin(), -1);
  const PerClassSplitOptions base = {.train_per_class = 2, .val_per_class = 3, .seed = 1};
  CHECK_THROWS_WITH_AS(split_per_class(labels, 2, base),
                       "[split_per_class] label of item 0 is -1 (expected in [0, 2))", Error);
  PerClassSplitOptions o = base;
  o.ignore_unlabeled = true;
  const auto masks = split_per_class(labels, 2, o);
  for (const Tensor* m : {&masks.train, &masks.val, &masks.test}) {
    const auto bits = set_bits(*m);
    CHECK(std::find(bits.begin(), bits.end(), 0) == bits.end());
    CHECK(std::find(bits.begin(), bits.end(), 13) == bits.end());
  }
  CHECK(set_bits(masks.train).size() == 4);
  CHECK(set_bits(masks.val).size() == 6);
  CHECK(set_bits(masks.test).size() == 2);

  // Class 1 has 3 nodes, 5 are needed.
  const auto short_labels = make_labels({7, 3});
  CHECK_THROWS_WITH_AS(split_per_class(short_labels, 2, base),
                       "[split_per_class] class 1 has 3 labelled nodes (expected >= 5 = 2 train + "
                       "3 val; set allow_short_classes to take what exists)",
                       Error);
  o = base;
  o.allow_short_classes = true;
  const auto partial = split_per_class(short_labels, 2, o);
  std::vector<int64_t> tr(2, 0), va(2, 0), te(2, 0);
  for (int64_t v : set_bits(partial.train)) ++tr[short_labels[v]];
  for (int64_t v : set_bits(partial.val)) ++va[short_labels[v]];
  for (int64_t v : set_bits(partial.test)) ++te[short_labels[v]];
  CHECK(tr == std::vector<int64_t>{2, 2});
  CHECK(va == std::vector<int64_t>{3, 1});
  CHECK(te == std::vector<int64_t>{2, 0});
}

TEST_CASE("splits: split_per_class rejects bad input") {
  const std::vector<int64_t> labels = {0, 1, 0, 1};
  CHECK_THROWS_WITH_AS(split_per_class(labels, 2, {.train_per_class = -1}),
                       "[split_per_class] train_per_class is -1 (expected >= 0)", Error);
  CHECK_THROWS_WITH_AS(split_per_class(labels, 2, {.val_per_class = -2}),
                       "[split_per_class] val_per_class is -2 (expected >= 0)", Error);
  CHECK_THROWS_WITH_AS(split_per_class({0, 2}, 2, {.train_per_class = 0, .val_per_class = 0}),
                       "[split_per_class] label of item 1 is 2 (expected in [0, 2))", Error);
  // With ignore_unlabeled, only labels >= num_classes remain errors.
  CHECK_THROWS_WITH_AS(
      split_per_class({9, -3}, 8,
                      {.train_per_class = 0, .val_per_class = 0, .ignore_unlabeled = true}),
      "[split_per_class] label of item 0 is 9 (expected in [0, 8), or < 0 for "
      "unlabelled)",
      Error);
  CHECK_THROWS_WITH_AS(split_per_class(labels, 0),
                       "[split_per_class] num_classes is 0 (expected >= 1)", Error);
  CHECK_THROWS_WITH_AS(split_per_class(Tensor::zeros(4, 1, DType::kF32), 2),
                       "[split_per_class] labels is [4, 1] f32 cpu (expected i64 or i32)", Error);
  CHECK_THROWS_WITH_AS(split_per_class(Tensor::zeros(4, 2, DType::kI64), 2),
                       "[split_per_class] labels is [4, 2] i64 cpu (expected [N, 1])", Error);
}

TEST_CASE("splits: stratified_kfold partitions, stratifies within 1, and is deterministic") {
  const std::vector<int64_t> sizes = {23, 7, 41, 3};  // class 3 has fewer members than k
  const auto labels = make_labels(sizes);
  const auto n = static_cast<int64_t>(labels.size());
  const int64_t k = 10;
  const auto folds = stratified_kfold(labels, 4, k, 2024);
  REQUIRE(static_cast<int64_t>(folds.size()) == k);
  check_partition(folds, n);
  size_t smallest = folds[0].test.size(), largest = smallest;
  for (int64_t c = 0; c < 4; ++c) {
    int64_t lo = n, hi = 0, sum = 0;
    for (const Fold& f : folds) {
      const auto count =
          std::count_if(f.test.begin(), f.test.end(), [&](int64_t i) { return labels[i] == c; });
      lo = std::min<int64_t>(lo, count);
      hi = std::max<int64_t>(hi, count);
      sum += count;
    }
    CHECK(hi - lo <= 1);
    CHECK(sum == sizes[c]);
  }
  for (const Fold& f : folds) {
    smallest = std::min(smallest, f.test.size());
    largest = std::max(largest, f.test.size());
  }
  CHECK(largest - smallest <= 1);  // fold sizes balance too, as sklearn's

  const auto again = stratified_kfold(labels, 4, k, 2024);
  const auto other = stratified_kfold(labels, 4, k, 2025);
  bool all_same = true, any_diff = false;
  for (int64_t f = 0; f < k; ++f) {
    all_same = all_same && again[f].test == folds[f].test && again[f].train == folds[f].train;
    any_diff = any_diff || other[f].test != folds[f].test;
  }
  CHECK(all_same);
  CHECK(any_diff);

  // k == n: leave-one-out, each fold tests exactly one graph.
  const auto loo = stratified_kfold({1, 0, 1}, 2, 3, 0);
  check_partition(loo, 3);
  for (const Fold& f : loo) CHECK(f.test.size() == 1);
}

TEST_CASE("splits: stratified_kfold rejects bad input") {
  const std::vector<int64_t> labels = {0, 1, 0, 1, 1};
  CHECK_THROWS_WITH_AS(stratified_kfold(labels, 2, 1, 0),
                       "[stratified_kfold] k is 1 (expected >= 2)", Error);
  CHECK_THROWS_WITH_AS(
      stratified_kfold(labels, 2, 6, 0),
      "[stratified_kfold] k is 6 but there are only 5 graphs (expected k <= number of graphs)",
      Error);
  CHECK_THROWS_WITH_AS(stratified_kfold({0, 1, 2}, 2, 2, 0),
                       "[stratified_kfold] label of item 2 is 2 (expected in [0, 2))", Error);
  CHECK_THROWS_WITH_AS(stratified_kfold({0, -1, 1}, 2, 2, 0),
                       "[stratified_kfold] label of item 1 is -1 (expected in [0, 2))", Error);
}

TEST_CASE("splits: stratified_holdout carves a stratified validation set out of a fold") {
  const std::vector<int64_t> sizes = {30, 12, 58};
  const auto labels = make_labels(sizes);
  const auto folds = stratified_kfold(labels, 3, 10, 1);
  const auto& fold_train = folds[0].train;  // 90 graphs: 27 / 10-11 / 52-53 per class
  const auto tv = stratified_holdout(labels, 3, fold_train, 0.1, 1);
  CHECK(tv.val.size() == 9);
  CHECK(std::is_sorted(tv.train.begin(), tv.train.end()));
  CHECK(std::is_sorted(tv.val.begin(), tv.val.end()));
  std::vector<int64_t> all = tv.train;
  all.insert(all.end(), tv.val.begin(), tv.val.end());
  std::sort(all.begin(), all.end());
  CHECK(all == fold_train);
  // Each class's share is within 1 of its proportional share.
  for (int64_t c = 0; c < 3; ++c) {
    const auto in_fold = std::count_if(fold_train.begin(), fold_train.end(),
                                       [&](int64_t i) { return labels[i] == c; });
    const auto in_val =
        std::count_if(tv.val.begin(), tv.val.end(), [&](int64_t i) { return labels[i] == c; });
    CHECK(std::abs(static_cast<double>(in_val) - 0.1 * static_cast<double>(in_fold)) < 1.0);
  }
  // Independent of the order the indices are listed in; dependent on the seed.
  std::vector<int64_t> reversed(fold_train.rbegin(), fold_train.rend());
  CHECK(stratified_holdout(labels, 3, reversed, 0.1, 1).val == tv.val);
  CHECK(stratified_holdout(labels, 3, fold_train, 0.1, 2).val != tv.val);
  CHECK(stratified_holdout(labels, 3, fold_train, 0.0, 1).val.empty());
  // One graph: round(0.9) would be 1, but train keeps it.
  CHECK(stratified_holdout(labels, 3, {4}, 0.9, 1).train == std::vector<int64_t>{4});

  CHECK_THROWS_WITH_AS(stratified_holdout(labels, 3, fold_train, 1.0, 1),
                       "[stratified_holdout] val_fraction is 1 (expected in [0, 1))", Error);
  CHECK_THROWS_WITH_AS(stratified_holdout(labels, 3, {0, 100}, 0.5, 1),
                       "[stratified_holdout] indices[1] is 100 (expected in [0, 100))", Error);
  CHECK_THROWS_WITH_AS(stratified_holdout(labels, 3, {3, 1, 3}, 0.5, 1),
                       "[stratified_holdout] index 3 appears twice in indices", Error);
}
