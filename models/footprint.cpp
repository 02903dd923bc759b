#include "models/footprint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

namespace gkd::models {

namespace {

constexpr int64_t kF32 = 4;

// Activations one layer keeps for backward, per node and output column, in f32 elements: the
// linear output, the aggregation, bias and activation results (and an architecture's extras:
// SAGE's second linear, GIN's MLP with its normalisation, GAT's per-head scores and residual).
int64_t node_columns_per_output(Arch arch) {
  switch (arch) {
    case Arch::kMlp:
      return 4;
    case Arch::kGcn:
      return 5;
    case Arch::kSage:
      return 7;
    case Arch::kGin:
      return 9;
    case Arch::kGat:
      return 7;
  }
  return 9;
}

int64_t clamp_bytes(double bytes) {
  return bytes >= 9e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bytes);
}

}  // namespace

int64_t estimate_folder_load_bytes(const std::string& folder) {
  namespace fs = std::filesystem;
  // The loader's own tables, vocabularies and allocator slack, whatever the dataset's size.
  double bytes = 16.0 * 1024 * 1024;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string ext = it->path().extension().string();
    double size = static_cast<double>(it->file_size(ec));
    if (ext == ".gz" && size >= 18) {  // gzip's trailer: the uncompressed size modulo 2^32
      std::ifstream in(it->path(), std::ios::binary);
      in.seekg(-4, std::ios::end);
      unsigned char isize[4] = {0, 0, 0, 0};
      in.read(reinterpret_cast<char*>(isize), 4);
      size = isize[0] + 256.0 * (isize[1] + 256.0 * (isize[2] + 256.0 * isize[3]));
    }
    bytes += (ext == ".json" ? 24 : 16) * size;
  }
  return clamp_bytes(bytes);
}

NodeDataShape data_shape(const io::NodeDataset& data) {
  return {.nodes = data.graph.num_nodes(),
          .edges = data.graph.num_edges(),
          .features = data.x.cols(),
          .feature_nnz = data.x.is_sparse() ? data.x.sparse.nnz() : -1,
          .classes = data.num_classes};
}

int64_t estimate_dataset_bytes(const NodeDataShape& s) {
  // In double, clamped: a request may be absurd (synthetic:nodes=1e15), its estimate must not wrap.
  const double nodes = static_cast<double>(s.nodes), edges = static_cast<double>(s.edges);
  // Sparse features: CSR and its transpose (f32 value, i32 index, i32 position per entry).
  const double features = s.feature_nnz >= 0
                              ? static_cast<double>(s.feature_nnz) * 2 * 12 + 2 * (nodes + 1) * 8
                              : nodes * static_cast<double>(s.features) * kF32;
  // The graph as stored and its self-loop copy; each holds per edge i32 indices by destination
  // and by source, edge ids, COO endpoints and host copies (about 8 words), plus two f32 norms,
  // and per node offsets and degrees.
  const double graph = (2 * edges + nodes) * (8 * 4 + 2 * kF32) + 2 * nodes * 48;
  const double labels_and_masks = nodes * (8 + 3);
  return clamp_bytes(features + graph + labels_and_masks);
}

int64_t estimate_node_training_bytes(const ModelConfig& c, const NodeDataShape& s) {
  const Model model(c, 0);
  // Value, gradient, two Adam moments, the best-validation snapshot and a state-file copy.
  const int64_t parameters = 6 * model.num_parameters() * kF32;
  const int64_t heads_hidden = c.arch == Arch::kGat ? c.heads : 1;
  const int64_t edges = s.edges + s.nodes;  // self loops, where the architecture adds them
  int64_t forward = 0;
  int64_t in = s.features;
  for (int64_t l = 0; l < c.layers; ++l) {
    const bool last = l + 1 == c.layers;
    const int64_t heads = c.arch == Arch::kGat ? (last ? c.out_heads : heads_hidden) : 1;
    const int64_t out = last ? c.out_dim * heads : hidden_width(c);
    // The layer's input after dropout: dense, with its mask (one byte per element), or sparse:
    // the kept entries and their transpose (value, column, transposed row and position, and a
    // scratch index per stored entry, at most all of them; both row pointers).
    const bool sparse_input = l == 0 && s.feature_nnz >= 0;
    forward +=
        sparse_input ? s.feature_nnz * 5 * 4 + (s.nodes + in + 2) * 8 : s.nodes * in * (kF32 + 1);
    forward += s.nodes * out * node_columns_per_output(c.arch) * kF32;
    // GAT: per edge and head, the raw score, its LeakyReLU, the softmax and the dropped copy.
    if (c.arch == Arch::kGat) forward += edges * heads * (4 * kF32 + 1);
    if (c.aux_heads && !last) forward += 2 * s.nodes * s.classes * kF32;
    in = out;
  }
  // Backward holds a gradient beside each saved activation at worst; the evaluation forward after
  // the step is smaller than the training one and runs after the tape is gone.
  return parameters + 2 * forward;
}

}  // namespace gkd::models
