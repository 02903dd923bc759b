// Where `--data` points: a node-classification .npz file, a graph-classification folder (TU
// Dortmund raw text, or OGB's raw CSV layout), or the built-in synthetic graph (`synthetic` or
// `synthetic:nodes=5000,homophily=0.7,...`).
#pragma once

#include <string>

#include "engine/io/graph_dataset.h"
#include "engine/io/node_dataset.h"
#include "engine/io/ppi.h"

namespace gkd::cli {

struct DataOptions {
  std::string spec = "synthetic";      // a path or synthetic[:key=value,...]
  std::string features = "as-stored";  // as-stored | row-normalize | binarize
  std::string split = "auto";          // auto | public | per-class
  int64_t train_per_class = 20;
  int64_t val_per_class = 30;
  bool node_attributes = true;  // TU: include NAME_node_attributes.txt in x
};

// A relative path is looked up from the working directory first, then under $GKD_DATA_DIR
// (default ../shared/data), so configs can name "planetoid/cora.npz".
std::string resolve_data_path(const std::string& spec);

bool is_synthetic(const std::string& spec);
// A folder with PPI's train_graph.json (inductive multi-label node classification).
bool is_ppi_data(const std::string& spec);
// Any other folder (after resolve_data_path): graph classification.
bool is_graph_data(const std::string& spec);

// Loads the dataset. `split_seed` draws a per-class split; the synthetic graph takes its own seed
// from the spec (key seed, default 1), so every run of a command sees the same graph.
io::NodeDataset load_node_data(const DataOptions& options, uint64_t split_seed);

io::PpiDataset load_ppi_data(const DataOptions& options);

// A TU folder (NAME/NAME_A.txt) or an OGB folder (raw/num-node-list.csv.gz).
io::GraphDataset load_graph_data(const DataOptions& options);

}  // namespace gkd::cli
