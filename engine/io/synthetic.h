// Built-in synthetic datasets, generated in-process from a seed (no files). They are for demos,
// tests and speed measurements, never reported as a real dataset.
#pragma once

#include <cstdint>

#include "engine/graph.h"
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

// R-MAT power-law graphs (Chakrabarti et al. 2004; Graph500 parameters by default) for
// benchmarks: 2^scale nodes and edge_factor * 2^scale edge draws, each choosing one quadrant of
// the adjacency matrix per level with probabilities a, b, c, 1 - a - b - c. Node ids are then
// permuted (as Graph500 does) so that degree does not follow id order. Duplicate draws collapse
// to one edge and self loops are dropped, so the graph has somewhat fewer edges than drawn; with
// `symmetric` every edge is stored in both directions. Edge e draws from Philox(seed, stream, e),
// so a graph is a pure function of its options, generated in parallel.
struct RmatOptions {
  int64_t scale = 16;        // nodes = 2^scale, 1 <= scale <= 30
  int64_t edge_factor = 16;  // edge draws per node
  double a = 0.57, b = 0.19, c = 0.19;
  bool symmetric = true;
  uint64_t seed = 1;
};
Graph make_rmat(const RmatOptions& options);

}  // namespace gkd::io
