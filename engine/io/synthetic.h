// Built-in synthetic datasets, generated in-process from a seed (no files). They are for demos,
// tests and speed measurements, never reported as a real dataset.
#pragma once

#include <cstdint>

#include "engine/io/node_dataset.h"

namespace gkd::io {

// Contextual stochastic block model: each node draws a class uniformly; an edge joins two nodes of
// the same class with probability `homophily` and otherwise a node of any class; features are the
// class mean (a random ±`signal` pattern per class) plus unit Gaussian noise, so a GNN that
// aggregates neighbours learns more than an MLP whenever homophily is high.
struct CsbmOptions {
  int64_t num_nodes = 2000;
  int64_t num_classes = 5;
  int64_t num_features = 32;
  double avg_degree = 8.0;  // average in-degree (= out-degree) after symmetrisation
  double homophily = 0.8;   // fraction of edges drawn within a class
  double signal = 0.4;      // class-mean magnitude relative to unit noise
  double train_fraction = 0.1;
  double val_fraction = 0.1;  // the rest is the test split
  uint64_t seed = 1;
};
NodeDataset make_csbm(const CsbmOptions& options);

}  // namespace gkd::io
