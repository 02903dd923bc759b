// Loader for the PPI protein-protein interaction dataset (Hamilton et al. 2017) in the public
// layout that PyG's torch_geometric.datasets.PPI and DGL's PPIDataset download, read unchanged. Per
// split S in {train, valid, test}, files in `folder`:
//   S_graph.json    networkx node_link_data: {"directed": false, "multigraph": false, "graph": {},
//                   "nodes": [{"id": 0, ...}, ...], "links": [{"source": 0, "target": 372}, ...]}
//   S_feats.npy     [N_S, F] float features (F = 50 in the real data)
//   S_labels.npy    [N_S, L] 0/1 multi-label targets, float or integer (L = 121)
//   S_graph_id.npy  [N_S] integer graph id per node
//
// Semantics, following PyG's PPI.process except where noted:
//  - Node ids must be the integers 0..N_S-1 in some order; node id i is row i of the .npy files
//    (PyG relies on the same: it masks x by id). Extra node attributes ("val", "test") are ignored.
//  - Graph ids are re-based by their minimum (as PyG) and must form contiguous, non-decreasing
//    blocks in node order with no gap (every id in [min, max] used), as in the real files; graph
//    g of a split is the g-th block. PyG would reorder a non-contiguous layout silently; here it is
//    an error, so node order and graph order always agree.
//  - Link endpoints are node ids (networkx 2.x+). The real files list node i with id i, so they
//  read
//    the same under networkx 1.x's older convention (endpoints = positions in "nodes").
//  - Node ids are re-based per graph (local id = id - first node of its graph). Every link must
//    join two nodes of the same graph.
//  - Links are undirected: each is stored in both directions (PyG: nx.DiGraph of the undirected
//    graph). Duplicates collapse to one edge. Self loops are dropped, as PyG's remove_self_loops
//    (DGL keeps them; models that want them add them with Graph::with_self_loops()).
//  - A file saying "directed": true is rejected (the symmetrisation above would change it). The
//    edge list is read from "links", or from "edges" when "links" is absent (networkx >= 3.4 can
//    write either name).
//  - F and L are taken from the files (not fixed to 50 / 121) and must agree across the splits.
//  - x and y are f32; each graph's x / y is a row-slice view of one [N_S, F] / [N_S, L] tensor.
//
// Every defect raises one gkd::Error naming the file and the field with got vs expected, e.g.
//   ".../train_graph.json: links[17]: target 912 is outside [0, 900)".
// The JSON is parsed whole into an nlohmann DOM (a few hundred MB for the real train split).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace gkd::io {

// One split: graph g has graphs[g].num_nodes() nodes, features x[g] and targets y[g].
struct PpiSplit {
  std::vector<Graph> graphs;  // undirected (both directions), no self loops, no duplicates
  std::vector<Tensor> x;      // [n_g, F] f32 node features
  std::vector<Tensor> y;      // [n_g, L] f32 multi-label targets, each 0 or 1
};

struct PpiDataset {
  PpiSplit train, valid, test;
  int64_t num_features = 0;  // F
  int64_t num_labels = 0;    // L
};

PpiDataset load_ppi(const std::string& folder);

}  // namespace gkd::io
