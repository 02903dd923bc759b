#include "engine/io/graph_dataset.h"

#include "engine/error.h"

namespace gkd::io {

GraphBatch make_batch(const GraphDataset& dataset, std::span<const int64_t> ids) {
  GKD_CHECK(!ids.empty(), "[make_batch] no samples given");
  const auto count = static_cast<int64_t>(dataset.samples.size());
  std::vector<Graph> graphs;
  std::vector<const Tensor*> xs, edge_attrs;
  std::vector<int64_t> labels;
  graphs.reserve(ids.size());
  for (int64_t id : ids) {
    GKD_CHECK(id >= 0 && id < count, "[make_batch] sample ", id, " is outside [0, ", count, ") of ",
              dataset.name);
    const GraphSample& s = dataset.samples[id];
    graphs.push_back(s.graph);
    xs.push_back(&s.x);
    if (s.edge_attr.defined()) edge_attrs.push_back(&s.edge_attr);
    labels.push_back(s.label);
  }
  GKD_CHECK(edge_attrs.empty() || edge_attrs.size() == ids.size(), "[make_batch] ", dataset.name,
            ": some samples have edge features and some do not");
  GraphBatch b;
  b.graph = Graph::batch(graphs);
  b.x = concat_rows(xs);
  // Graph::batch shifts node ids by the node offsets, so each sample's canonical edges (sorted by
  // destination, then source) stay contiguous and in order: stacking edge rows keeps alignment.
  if (!edge_attrs.empty()) b.edge_attr = concat_rows(edge_attrs);
  b.y = Tensor::from_vector<int64_t>(static_cast<int64_t>(labels.size()), 1, labels);
  return b;
}

}  // namespace gkd::io
