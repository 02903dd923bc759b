// Graph-classification datasets (TU Dortmund, OGB graph property prediction): one small graph per
// sample with its node features, optional edge features and a label.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace gkd::io {

struct GraphSample {
  Graph graph;       // no duplicate edges; an undirected source edge is stored in both directions
  Tensor x;          // [n, F] node features: f32 (TU: one-hot node labels and/or attributes),
                     // i64 (OGB: integer atom feature ids, one column per feature)
  Tensor edge_attr;  // [E, D] per edge in canonical order (OGB: i64 bond feature ids), or undefined
  int64_t label = 0;  // class id in [0, num_classes)
};

struct GraphDataset {
  std::string name;
  std::vector<GraphSample> samples;
  int64_t num_classes = 0;
  int64_t num_node_features = 0;  // F
  // A standard split when the dataset ships one (OGB scaffold); empty otherwise.
  std::vector<int64_t> train, valid, test;
};

// Several samples as one block-diagonal graph (Graph::batch): node rows of sample k follow those
// of sample k - 1, so graph.node_offsets() delimits each sample for readout.
struct GraphBatch {
  Graph graph;
  Tensor x;          // [Σ n, F], the samples' x stacked (CPU)
  Tensor edge_attr;  // [Σ E, D] in the batch graph's canonical order, or undefined
  Tensor y;          // i64 [B, 1] sample labels
};

// Batches dataset.samples[ids[0]], dataset.samples[ids[1]], ... in that order (ids in range,
// checked; repeats allowed).
GraphBatch make_batch(const GraphDataset& dataset, std::span<const int64_t> ids);

}  // namespace gkd::io
