// Loader for OGB graph-property-prediction datasets in OGB's raw CSV layout (the folder OGB's own
// loader extracts from its zip), for the single-task binary molecule sets ogbg-molbace and
// ogbg-molbbbp. Files read (all gzipped CSV, one record per line, no header):
//   raw/num-node-list.csv.gz   atoms per graph (>= 1)
//   raw/num-edge-list.csv.gz   bonds per graph (>= 0)
//   raw/node-feat.csv.gz       9 atom feature ids per atom, graphs concatenated
//   raw/edge.csv.gz            "i,j" per bond, graph-local atom ids, each bond listed once
//   raw/edge-feat.csv.gz       3 bond feature ids per bond, same order as edge.csv
//   raw/graph-label.csv.gz     0/1 per graph
//   split/scaffold/{train,valid,test}.csv.gz   0-based graph ids
//
// Each bond becomes two directed edges i -> j and j -> i (OGB's add_inverse_edge=True), both with
// the bond's features; edge_attr rows follow each graph's canonical edge order. Atom and bond
// feature ids are checked against OGB's vocabularies (get_atom_feature_dims() = [119, 5, 12, 12,
// 10, 6, 6, 2, 2], get_bond_feature_dims() = [5, 6, 2]), so an embedding lookup can trust them.
//
// Strict by design: a missing label ('nan', which OGB allows in multi-task sets) is an error, since
// both supported datasets label every molecule; self-loop and duplicate bonds are errors, since
// molecules have none (checked: neither occurs in molbace or molbbbp). Splits must be disjoint and
// free of repeats but need not cover every graph. Any defect, including truncated or corrupted gzip
// data, raises gkd::Error naming the file, line and field, e.g.
//   ".../raw/node-feat.csv.gz: line 7, field 3: 12 is outside OGB's vocabulary [0, 12)".
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "engine/io/graph_dataset.h"

namespace gkd::io {

// OGB's get_atom_feature_dims() and get_bond_feature_dims(): the vocabulary of each id column.
inline constexpr std::array<int64_t, 9> kOgbAtomVocab = {119, 5, 12, 12, 10, 6, 6, 2, 2};
inline constexpr std::array<int64_t, 3> kOgbBondVocab = {5, 6, 2};

// `folder` is the dataset root (e.g. shared/data/ogb/ogbg_molbace). The result's name is the
// folder's last component with '_' written as '-' ("ogbg-molbace"); x is i64 [n, 9] per sample,
// edge_attr i64 [E, 3], num_classes = 2, num_node_features = 9, train/valid/test the scaffold
// split.
GraphDataset load_ogb_graph(const std::string& folder);

}  // namespace gkd::io
