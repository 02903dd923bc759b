// Seeded dataset splits: per-class node splits (Shchur et al., "Pitfalls of GNN evaluation", the
// Amazon/Coauthor protocol) and stratified k-fold cross-validation for graph classification (Xu
// et al., GIN: 10-fold stratified CV, as sklearn's StratifiedKFold(shuffle=True)).
//
// All randomness comes from kernels/philox.h, a counter-based generator with a fixed algorithm,
// so a split is a pure function of (labels, options, seed): identical on every machine, compiler
// and standard library. std::shuffle / std::uniform_int_distribution are deliberately not used:
// their output is implementation-defined. Every function here validates its input and throws
// gkd::Error naming the function, the argument, and got vs expected.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace gkd::io {

// ---- seeded permutations (exposed for reuse) ----

// A uniform integer in [0, bound), bound >= 1, drawn from the Philox word stream (seed, stream)
// starting at word *cursor; *cursor advances by the number of words consumed (1, or more when a
// word is rejected). Rejection sampling (words below 2^32 mod bound are redrawn) makes the result
// exactly uniform; plain `word % bound` would favour small values whenever bound does not divide
// 2^32.
uint32_t philox_uniform_int(uint64_t seed, uint64_t stream, uint64_t* cursor, uint32_t bound);

// Fisher-Yates shuffle of `items` in place: for i = n-1 down to 1, swap items[i] with
// items[philox_uniform_int(seed, stream, &cursor, i + 1)], cursor starting at 0. Each of the n!
// orders is equally likely. Requires n < 2^32.
void seeded_shuffle(std::span<int64_t> items, uint64_t seed, uint64_t stream = 0);

// A uniformly random permutation of 0..n-1: seeded_shuffle of the identity.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream = 0);

// ---- per-class node split (transductive node classification) ----

struct PerClassSplitOptions {
  int64_t train_per_class = 20;  // Shchur et al.'s default
  int64_t val_per_class = 30;    // Shchur et al.'s default
  uint64_t seed = 0;
  // Nodes with a label < 0 have no label: true leaves them out of every mask, false (default)
  // rejects them, since a negative label is more often a bug than a convention.
  bool ignore_unlabeled = false;
  // A class with fewer than train_per_class + val_per_class labelled nodes is an error by default:
  // silently shrinking it would change the protocol behind the reported numbers (Shchur et al. drop
  // such classes from the dataset instead). true takes what exists: train is filled first, then
  // val, and that class contributes no test nodes.
  bool allow_short_classes = false;
};

struct NodeMasks {
  Tensor train;  // [N, 1] u8, 1 for train nodes
  Tensor val;    // [N, 1] u8
  Tensor test;   // [N, 1] u8: every labelled node in neither train nor val
};

// For each class, train_per_class nodes drawn uniformly without replacement go to train, then
// val_per_class of the remaining ones to val; all other labelled nodes are test. Implementation:
// one seeded permutation of all N nodes (stream 0), walked in order, each node going to the first
// of train / val / test whose quota for its class is not yet full. The three masks are disjoint
// and cover every labelled node.
NodeMasks split_per_class(const std::vector<int64_t>& labels, int64_t num_classes,
                          const PerClassSplitOptions& options = {});
// labels: [N, 1] i64 (i32 also accepted), any device.
NodeMasks split_per_class(const Tensor& labels, int64_t num_classes,
                          const PerClassSplitOptions& options = {});

// ---- stratified k-fold (graph classification) ----

struct Fold {
  std::vector<int64_t> train;  // graph indices, ascending
  std::vector<int64_t> test;   // graph indices, ascending
};

// k folds; every graph is in exactly one test fold and in the train set of the other k-1. As
// sklearn's StratifiedKFold(shuffle=True): the number of class-c graphs in fold f is taken from
// the labels sorted and dealt round-robin to the folds (so per-class counts differ by at most 1
// across folds, and fold sizes differ by at most 1), then which class-c graphs land in which fold
// is a seeded shuffle (stream 1 << 32 | c). A class with fewer than k members is allowed (sklearn
// only warns): some folds then hold none of it, and a model trained on such a fold never sees it.
// Requires 2 <= k <= number of graphs.
std::vector<Fold> stratified_kfold(const std::vector<int64_t>& labels, int64_t num_classes,
                                   int64_t k, uint64_t seed);

struct TrainVal {
  std::vector<int64_t> train;  // ascending
  std::vector<int64_t> val;    // ascending
};

// Carves a stratified validation subset out of `indices` (e.g. a fold's train list, entries into
// `labels`): round(val_fraction * n) graphs in total, apportioned to classes by largest remainder
// (ties to the lower class id), each class's share drawn uniformly (stream 2 << 32 | c).
// val_fraction in [0, 1); at least one graph stays in train whenever `indices` is non-empty.
TrainVal stratified_holdout(const std::vector<int64_t>& labels, int64_t num_classes,
                            const std::vector<int64_t>& indices, double val_fraction,
                            uint64_t seed);

}  // namespace gkd::io
