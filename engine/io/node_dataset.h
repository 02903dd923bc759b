// Node-classification datasets: one graph, node features, labels and train/val/test masks. The
// Planetoid (Cora, CiteSeer) and Shchur et al. (Amazon, Coauthor) archives under shared/data are
// read by load_node_npz; the synthetic contextual SBM (engine/io/synthetic.h) builds one in memory.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.h"
#include "engine/io/splits.h"
#include "engine/sparse_matrix.h"
#include "engine/tensor.h"

namespace gkd::io {

// Node features [N, F]: dense, or sparse CSR (bag-of-words: the first layer then multiplies by a
// weight matrix through SpMM instead of a dense GEMM). Exactly one of the two is set.
struct FeatureMatrix {
  Tensor dense;         // [N, F] f32, or undefined
  SparseMatrix sparse;  // [N, F], used when `dense` is undefined
  bool is_sparse() const { return !dense.defined(); }
  int64_t rows() const { return is_sparse() ? sparse.rows() : dense.rows(); }
  int64_t cols() const { return is_sparse() ? sparse.cols() : dense.cols(); }
  FeatureMatrix to(Device device) const;
};

struct NodeDataset {
  std::string name;   // "cora", "synthetic-csbm", ...
  Graph graph;        // directed edges as stored (both directions for undirected data)
  FeatureMatrix x;    // [N, F]
  Tensor y;           // [N, 1] i64 class ids in [0, num_classes)
  Tensor train_mask;  // [N, 1] u8
  Tensor val_mask;    // [N, 1] u8
  Tensor test_mask;   // [N, 1] u8
  int64_t num_classes = 0;
};

// How stored feature values are transformed on load.
enum class FeatureTransform {
  kNone,          // as stored
  kRowNormalize,  // each row divided by its sum (Kipf & Welling; PyG NormalizeFeatures)
  kBinarize,      // nonzeros set to 1 (PyG's Coauthor loader binarises word counts)
};

enum class SplitKind {
  kAuto,      // the file's masks when it has them (Planetoid public split), else per class
  kPublic,    // the file's masks; an error when the file has none
  kPerClass,  // a seeded per-class split (split_per_class), even when the file has masks
};

struct NodeNpzOptions {
  FeatureTransform features = FeatureTransform::kNone;
  SplitKind split = SplitKind::kAuto;
  PerClassSplitOptions per_class;  // for kPerClass (and kAuto without masks); seed included
};

// Reads a node-classification .npz in the schema of shared/data/README.md: edge_index i64 [2, E]
// (no duplicates, no self loops required), CSR features x_indptr / x_indices / x_data / x_shape
// or a dense x [N, F], y i64 [N], and optionally train_mask / val_mask / test_mask bool [N].
// Every field is validated; errors name the file and the field, e.g.
//   "cora.npz: field edge_index: entry [1, 17] is 2708 (expected a node id in [0, 2708))".
NodeDataset load_node_npz(const std::string& path, const NodeNpzOptions& options = {});

}  // namespace gkd::io
