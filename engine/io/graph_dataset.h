// Graph-classification datasets (TU Dortmund, OGB graph property prediction): one small graph per
// sample with its node features, optional edge features and a label.
#pragma once

#include <cstdint>
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

}  // namespace gkd::io
