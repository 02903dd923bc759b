// Seeded splits: a Philox-driven Fisher-Yates shuffle, and the per-class and stratified splits
// built on it. Everything is sequential and a pure function of its arguments.
#include "engine/io/splits.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "engine/error.h"
#include "kernels/philox.h"

namespace gkd::io {

namespace {

// Philox streams by purpose, so one seed gives independent draws to each kind of split.
constexpr uint64_t kNodeSplitStream = 0;
constexpr uint64_t kKFoldStream = uint64_t{1} << 32;    // | class id
constexpr uint64_t kHoldoutStream = uint64_t{2} << 32;  // | class id

// Every label in [0, num_classes), or < 0 when `allow_negative` (unlabelled).
void check_labels(const char* op, const std::vector<int64_t>& labels, int64_t num_classes,
                  bool allow_negative) {
  GKD_CHECK(num_classes >= 1, "[", op, "] num_classes is ", num_classes, " (expected >= 1)");
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t y = labels[i];
    if (y < 0 && allow_negative) continue;
    GKD_CHECK(y >= 0 && y < num_classes, "[", op, "] label of item ", i, " is ", y,
              " (expected in [0, ", num_classes, ")",
              allow_negative ? ", or < 0 for unlabelled)" : ")");
  }
}

std::vector<int64_t> class_counts(const std::vector<int64_t>& labels, int64_t num_classes) {
  std::vector<int64_t> count(static_cast<size_t>(num_classes), 0);
  for (int64_t y : labels) {
    if (y >= 0) ++count[static_cast<size_t>(y)];
  }
  return count;
}

// mask[i] = 1 for the i in `picked`.
Tensor make_mask(const std::vector<uint8_t>& picked) {
  return Tensor::from_vector<uint8_t>(static_cast<int64_t>(picked.size()), 1, picked);
}

}  // namespace

uint32_t philox_uniform_int(uint64_t seed, uint64_t stream, uint64_t* cursor, uint32_t bound) {
  GKD_CHECK(bound >= 1, "[philox_uniform_int] bound is 0 (expected >= 1)");
  GKD_CHECK(cursor != nullptr, "[philox_uniform_int] cursor is null");
  // 2^32 mod bound, computed in 32 bits: the words below it are the surplus that % would fold
  // onto the small residues.
  const uint32_t threshold = (0u - bound) % bound;
  while (true) {
    const uint32_t word = kernels::philox_bits(seed, stream, (*cursor)++);
    if (word >= threshold) return word % bound;
  }
}

void seeded_shuffle(std::span<int64_t> items, uint64_t seed, uint64_t stream) {
  const size_t n = items.size();
  GKD_CHECK(n <= UINT32_MAX, "[seeded_shuffle] ", n, " items (expected < 2^32)");
  uint64_t cursor = 0;
  for (size_t i = n; i-- > 1;) {
    const uint32_t j = philox_uniform_int(seed, stream, &cursor, static_cast<uint32_t>(i + 1));
    std::swap(items[i], items[j]);
  }
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  GKD_CHECK(n >= 0, "[seeded_permutation] n is ", n, " (expected >= 0)");
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  seeded_shuffle(perm, seed, stream);
  return perm;
}

NodeMasks split_per_class(const std::vector<int64_t>& labels, int64_t num_classes,
                          const PerClassSplitOptions& o) {
  const char* op = "split_per_class";
  GKD_CHECK(o.train_per_class >= 0, "[", op, "] train_per_class is ", o.train_per_class,
            " (expected >= 0)");
  GKD_CHECK(o.val_per_class >= 0, "[", op, "] val_per_class is ", o.val_per_class,
            " (expected >= 0)");
  check_labels(op, labels, num_classes, o.ignore_unlabeled);
  const std::vector<int64_t> count = class_counts(labels, num_classes);
  const int64_t needed = o.train_per_class + o.val_per_class;
  if (!o.allow_short_classes) {
    for (int64_t c = 0; c < num_classes; ++c) {
      GKD_CHECK(count[c] >= needed, "[", op, "] class ", c, " has ", count[c],
                " labelled nodes (expected >= ", needed, " = ", o.train_per_class, " train + ",
                o.val_per_class, " val; set allow_short_classes to take what exists)");
    }
  }

  const auto n = static_cast<int64_t>(labels.size());
  std::vector<uint8_t> train(labels.size(), 0), val(labels.size(), 0), test(labels.size(), 0);
  std::vector<int64_t> in_train(static_cast<size_t>(num_classes), 0);
  std::vector<int64_t> in_val(static_cast<size_t>(num_classes), 0);
  for (int64_t v : seeded_permutation(n, o.seed, kNodeSplitStream)) {
    const int64_t c = labels[v];
    if (c < 0) continue;  // unlabelled (only reachable with ignore_unlabeled)
    if (in_train[c] < o.train_per_class) {
      ++in_train[c];
      train[v] = 1;
    } else if (in_val[c] < o.val_per_class) {
      ++in_val[c];
      val[v] = 1;
    } else {
      test[v] = 1;
    }
  }
  return {make_mask(train), make_mask(val), make_mask(test)};
}

NodeMasks split_per_class(const Tensor& labels, int64_t num_classes,
                          const PerClassSplitOptions& options) {
  GKD_CHECK(labels.defined(), "[split_per_class] labels is undefined");
  GKD_CHECK(labels.cols() == 1, "[split_per_class] labels is ", labels.describe(),
            " (expected [N, 1])");
  if (labels.dtype() == DType::kI32) {
    const std::vector<int32_t> narrow = labels.to_vector<int32_t>();
    return split_per_class(std::vector<int64_t>(narrow.begin(), narrow.end()), num_classes,
                           options);
  }
  GKD_CHECK(labels.dtype() == DType::kI64, "[split_per_class] labels is ", labels.describe(),
            " (expected i64 or i32)");
  return split_per_class(labels.to_vector<int64_t>(), num_classes, options);
}

std::vector<Fold> stratified_kfold(const std::vector<int64_t>& labels, int64_t num_classes,
                                   int64_t k, uint64_t seed) {
  const char* op = "stratified_kfold";
  const auto n = static_cast<int64_t>(labels.size());
  GKD_CHECK(k >= 2, "[", op, "] k is ", k, " (expected >= 2)");
  GKD_CHECK(k <= n, "[", op, "] k is ", k, " but there are only ", n,
            " graphs (expected k <= number of graphs)");
  check_labels(op, labels, num_classes, false);

  // allocation[c * k + f]: how many class-c graphs fold f tests on. Dealing the sorted labels
  // round-robin balances every class and the fold sizes at once (sklearn's construction).
  std::vector<int64_t> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> allocation(static_cast<size_t>(num_classes * k), 0);
  for (int64_t i = 0; i < n; ++i) ++allocation[sorted[i] * k + i % k];

  // fold_of[i]: the fold testing graph i. Class c's fold ids are shuffled, then given to the class
  // members in index order.
  std::vector<int64_t> fold_of(labels.size(), -1);
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(num_classes));
  for (int64_t i = 0; i < n; ++i) members[labels[i]].push_back(i);
  for (int64_t c = 0; c < num_classes; ++c) {
    std::vector<int64_t> folds;
    for (int64_t f = 0; f < k; ++f) folds.insert(folds.end(), allocation[c * k + f], f);
    seeded_shuffle(folds, seed, kKFoldStream | static_cast<uint64_t>(c));
    for (size_t m = 0; m < folds.size(); ++m) fold_of[members[c][m]] = folds[m];
  }

  std::vector<Fold> out(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t f = 0; f < k; ++f) (f == fold_of[i] ? out[f].test : out[f].train).push_back(i);
  }
  return out;
}

TrainVal stratified_holdout(const std::vector<int64_t>& labels, int64_t num_classes,
                            const std::vector<int64_t>& indices, double val_fraction,
                            uint64_t seed) {
  const char* op = "stratified_holdout";
  GKD_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "[", op, "] val_fraction is ", val_fraction,
            " (expected in [0, 1))");
  check_labels(op, labels, num_classes, false);
  for (size_t m = 0; m < indices.size(); ++m) {
    GKD_CHECK(indices[m] >= 0 && indices[m] < static_cast<int64_t>(labels.size()), "[", op,
              "] indices[", m, "] is ", indices[m], " (expected in [0, ", labels.size(), "))");
  }
  // Sorted first, so the result does not depend on the order the caller lists the indices in.
  std::vector<int64_t> sorted_indices = indices;
  std::sort(sorted_indices.begin(), sorted_indices.end());
  const auto dup = std::adjacent_find(sorted_indices.begin(), sorted_indices.end());
  GKD_CHECK(dup == sorted_indices.end(), "[", op, "] index ",
            dup == sorted_indices.end() ? 0 : *dup, " appears twice in indices");
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(num_classes));
  for (int64_t i : sorted_indices) members[labels[i]].push_back(i);

  // Largest-remainder apportionment of the total so per-class shares sum to it exactly.
  const auto n = static_cast<int64_t>(indices.size());
  // At least one graph stays in train: round(0.9 * 1) would otherwise move the only one to val.
  const int64_t total = std::min<int64_t>(std::llround(val_fraction * static_cast<double>(n)),
                                          std::max<int64_t>(n - 1, 0));
  std::vector<int64_t> share(static_cast<size_t>(num_classes), 0);
  std::vector<std::pair<int64_t, int64_t>> remainder;  // (-(remainder numerator), class)
  int64_t given = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    const auto size = static_cast<int64_t>(members[c].size());
    share[c] = total * size / std::max<int64_t>(n, 1);
    given += share[c];
    remainder.emplace_back(-(total * size % std::max<int64_t>(n, 1)), c);
  }
  std::sort(remainder.begin(), remainder.end());
  for (int64_t r = 0; given < total; ++r, ++given) ++share[remainder[r].second];

  TrainVal out;
  for (int64_t c = 0; c < num_classes; ++c) {
    std::vector<int64_t>& m = members[c];
    seeded_shuffle(m, seed, kHoldoutStream | static_cast<uint64_t>(c));
    out.val.insert(out.val.end(), m.begin(), m.begin() + share[c]);
    out.train.insert(out.train.end(), m.begin() + share[c], m.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

}  // namespace gkd::io
