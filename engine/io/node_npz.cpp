// The node-classification .npz reader (schema: shared/data/README.md). Every field is checked
// before the dataset is built; graph and sparse-matrix validation errors are re-thrown with the
// file and field in front, so the user always learns which file and which array is wrong.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/node_dataset.h"
#include "engine/io/npy.h"

namespace gkd::io {
namespace {

using Archive = std::map<std::string, Tensor>;

const Tensor* find(const Archive& a, const std::string& key) {
  const auto it = a.find(key);
  return it == a.end() ? nullptr : &it->second;
}

const Tensor& require(const Archive& a, const std::string& path, const std::string& key) {
  const Tensor* t = find(a, key);
  GKD_CHECK(t, path, ": field ", key, ": missing");
  return *t;
}

// An integer array as int64 values, with its dtype checked.
std::vector<int64_t> integers(const std::string& path, const std::string& key, const Tensor& t) {
  GKD_CHECK(t.dtype() == DType::kI64 || t.dtype() == DType::kI32, path, ": field ", key, ": dtype ",
            dtype_name(t.dtype()), " (expected int64 or int32)");
  return t.to_dtype(DType::kI64).to_vector<int64_t>();
}

void check_vector(const std::string& path, const std::string& key, const Tensor& t, int64_t n) {
  GKD_CHECK(t.cols() == 1 && t.rows() == n, path, ": field ", key, ": shape [", t.rows(), ", ",
            t.cols(), "] (expected [", n, "])");
}

FeatureMatrix read_features(const Archive& a, const std::string& path) {
  FeatureMatrix x;
  if (const Tensor* dense = find(a, "x")) {
    GKD_CHECK(dense->dtype() == DType::kF32 || dense->dtype() == DType::kF64, path,
              ": field x: dtype ", dtype_name(dense->dtype()), " (expected float32 or float64)");
    x.dense = dense->to_dtype(DType::kF32);
    return x;
  }
  GKD_CHECK(find(a, "x_shape"), path,
            ": field x: missing (expected a dense x or CSR x_indptr, x_indices, x_data, x_shape; "
            "this archive has no node features)");
  const std::vector<int64_t> shape = integers(path, "x_shape", require(a, path, "x_shape"));
  GKD_CHECK(shape.size() == 2 && shape[0] >= 0 && shape[1] >= 1, path,
            ": field x_shape: expected 2 entries (N >= 0, F >= 1)");
  // Node ids are i32: a larger N would wrap when narrowed.
  constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();
  GKD_CHECK(shape[0] < kMaxIndex, path, ": field x_shape: N is ", shape[0], " (expected at most ",
            kMaxIndex - 1, ", the i32 node-id range)");
  // The transpose kept for the backward pass costs 8 bytes per column whatever the nonzeros, so a
  // huge F from a tiny file must not become a multi-GB allocation (the real datasets have < 10^4).
  constexpr int64_t kMaxFeatures = int64_t{1} << 24;
  GKD_CHECK(shape[1] <= kMaxFeatures, path, ": field x_shape: F is ", shape[1],
            " (expected at most ", kMaxFeatures, " feature columns)");
  const Tensor& indptr = require(a, path, "x_indptr");
  const Tensor& indices = require(a, path, "x_indices");
  const Tensor& data = require(a, path, "x_data");
  check_vector(path, "x_indptr", indptr, shape[0] + 1);
  check_vector(path, "x_indices", indices, indices.rows());
  check_vector(path, "x_data", data, indices.rows());
  GKD_CHECK(data.dtype() == DType::kF32 || data.dtype() == DType::kF64, path,
            ": field x_data: dtype ", dtype_name(data.dtype()), " (expected float32 or float64)");
  std::vector<int32_t> cols;
  for (int64_t c : integers(path, "x_indices", indices)) {
    GKD_CHECK(c >= 0 && c < shape[1], path, ": field x_indices: entry ", cols.size(), " is ", c,
              " (expected a column in [0, ", shape[1], "))");
    cols.push_back(static_cast<int32_t>(c));
  }
  try {
    x.sparse = SparseMatrix::from_csr(shape[0], shape[1], integers(path, "x_indptr", indptr),
                                      std::move(cols), data.to_dtype(DType::kF32));
  } catch (const Error& e) {
    GKD_FAIL(path, ": fields x_indptr/x_indices/x_data: ", e.what());
  }
  return x;
}

Graph read_graph(const Archive& a, const std::string& path, int64_t n) {
  const Tensor& ei = require(a, path, "edge_index");
  GKD_CHECK(ei.rows() == 2, path, ": field edge_index: shape [", ei.rows(), ", ", ei.cols(),
            "] (expected [2, E])");
  const std::vector<int64_t> v = integers(path, "edge_index", ei);
  const int64_t e = ei.cols();
  std::vector<int32_t> src(e), dst(e);
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t k = 0; k < e; ++k) {
      const int64_t node = v[r * e + k];
      GKD_CHECK(node >= 0 && node < n, path, ": field edge_index: entry [", r, ", ", k, "] is ",
                node, " (expected a node id in [0, ", n, "))");
      (r == 0 ? src : dst)[k] = static_cast<int32_t>(node);
    }
  }
  try {
    return Graph::from_edges(n, src, dst);
  } catch (const Error& e) {
    GKD_FAIL(path, ": field edge_index: ", e.what());
  }
}

Tensor read_mask(const Archive& a, const std::string& path, const std::string& key, int64_t n) {
  const Tensor& m = require(a, path, key);
  GKD_CHECK(m.dtype() == DType::kU8, path, ": field ", key, ": dtype ", dtype_name(m.dtype()),
            " (expected bool)");
  check_vector(path, key, m, n);
  return m;
}

}  // namespace

FeatureMatrix FeatureMatrix::to(Device device) const {
  FeatureMatrix out;
  if (is_sparse()) {
    out.sparse = sparse.to(device);
  } else {
    out.dense = dense.to(device);
  }
  return out;
}

NodeDataset load_node_npz(const std::string& path, const NodeNpzOptions& options) {
  const Archive a = read_npz(path);
  NodeDataset d;
  d.name = path.substr(path.find_last_of('/') + 1);
  d.name = d.name.substr(0, d.name.rfind(".npz"));

  d.x = read_features(a, path);
  const int64_t n = d.x.rows();
  const Tensor& y = require(a, path, "y");
  check_vector(path, "y", y, n);
  const std::vector<int64_t> labels = integers(path, "y", y);
  // A class id is below the node count: a larger one would only add empty classes, and the
  // per-class split allocates one counter per class.
  for (size_t i = 0; i < labels.size(); ++i) {
    GKD_CHECK(labels[i] >= 0, path, ": field y: entry ", i, " is ", labels[i],
              " (expected a class id >= 0)");
    GKD_CHECK(labels[i] < n, path, ": field y: entry ", i, " is ", labels[i],
              " (expected a class id below the node count ", n, ")");
  }
  d.num_classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  d.y = Tensor::from_vector<int64_t>(n, 1, labels);
  d.graph = read_graph(a, path, n);

  if (options.features == FeatureTransform::kRowNormalize) {
    GKD_CHECK(d.x.is_sparse(), path, ": row normalisation is implemented for sparse features");
    d.x.sparse = d.x.sparse.row_normalized();
  } else if (options.features == FeatureTransform::kBinarize) {
    GKD_CHECK(d.x.is_sparse(), path, ": binarisation is implemented for sparse features");
    d.x.sparse = d.x.sparse.binarized();
  }

  const int masks = !!find(a, "train_mask") + !!find(a, "val_mask") + !!find(a, "test_mask");
  GKD_CHECK(masks == 0 || masks == 3, path, ": fields train_mask/val_mask/test_mask: ", masks,
            " of the three present (expected all or none)");
  const bool use_file_masks =
      options.split == SplitKind::kPublic || (options.split == SplitKind::kAuto && masks == 3);
  if (use_file_masks) {
    GKD_CHECK(masks == 3, path,
              ": field train_mask: missing (the public split needs the file's masks; this "
              "dataset has no standard split: use a per-class split)");
    d.train_mask = read_mask(a, path, "train_mask", n);
    d.val_mask = read_mask(a, path, "val_mask", n);
    d.test_mask = read_mask(a, path, "test_mask", n);
  } else {
    NodeMasks m;
    try {
      m = split_per_class(labels, d.num_classes, options.per_class);
    } catch (const Error& e) {
      GKD_FAIL(path, ": per-class split: ", e.what());
    }
    d.train_mask = m.train;
    d.val_mask = m.val;
    d.test_mask = m.test;
  }
  return d;
}

}  // namespace gkd::io
