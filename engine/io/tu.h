// Loader for the TU Dortmund graph-classification datasets in their raw text layout (the members
// of the official NAME.zip). Files read from `folder`, NAME being the folder's basename:
//   NAME_A.txt                 "i, j" per directed adjacency entry, 1-based global node ids
//   NAME_graph_indicator.txt   1-based graph id of node i on line i (non-decreasing, contiguous)
//   NAME_graph_labels.txt      one integer label per graph
//   NAME_node_labels.txt       optional: one or more integer columns per node
//   NAME_node_attributes.txt   optional: comma-separated floats per node
// Edge labels / attributes and graph attributes are not read (edge_attr stays undefined).
//
// Semantics, following PyG's read_tu_data (TUDataset with use_node_attr=True) except where noted:
//  - Graph labels: raw values remapped to 0..C-1 in sorted order of the distinct values
//    ({-1, 1} -> {0, 1}), as PyG's y.unique(sorted=True, return_inverse=True).
//  - x = [node_attributes | one-hot(node_labels)], attributes first, as PyG's cat order. Each
//    node-label column is one-hot encoded over the distinct values seen in that column, sorted
//    (PyG encodes value - min over max - min + 1 classes; the two agree whenever the values are
//    contiguous, which holds for every dataset under shared/data). F is the total width.
//  - Neither file present (IMDB-BINARY): x is an [n, 1] column of ones (PyG leaves x = None).
//  - Edges: duplicate entries are dropped (IMDB-BINARY lists every entry twice), as PyG's
//    coalesce. Self loops are kept as given (PyG removes them; none of the shipped datasets has
//    any). The edge set is taken as given, never symmetrised: the files already list both
//    directions of every undirected edge.
//  - Each sample's x is a row-slice view of one shared [N_total, F] f32 tensor.
//
// Every defect raises gkd::Error naming the file, the line and the field, e.g.
//   ".../MUTAG/MUTAG_A.txt: line 12, field 2: node id 4000 is outside [1, 3371]".
#pragma once

#include <string>

#include "engine/io/graph_dataset.h"

namespace gkd::io {

struct TuOptions {
  // false ignores NAME_node_attributes.txt: x is the one-hot node labels only, as PyG's default
  // use_node_attr=False and Xu et al.'s GIN data (PROTEINS: 3 columns instead of 4).
  bool node_attributes = true;
};
GraphDataset load_tu(const std::string& folder, const TuOptions& options = {});

}  // namespace gkd::io
