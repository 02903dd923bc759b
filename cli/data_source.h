// Where `--data` points: a node-classification .npz file, or the built-in synthetic graph
// (`synthetic` or `synthetic:nodes=5000,homophily=0.7,...`).
#pragma once

#include <string>

#include "engine/io/node_dataset.h"

namespace gkd::cli {

struct DataOptions {
  std::string spec = "synthetic";      // a path or synthetic[:key=value,...]
  std::string features = "as-stored";  // as-stored | row-normalize | binarize
  std::string split = "auto";          // auto | public | per-class
  int64_t train_per_class = 20;
  int64_t val_per_class = 30;
};

// A relative path is looked up from the working directory first, then under $GKD_DATA_DIR
// (default ../shared/data), so configs can name "planetoid/cora.npz".
std::string resolve_data_path(const std::string& spec);

bool is_synthetic(const std::string& spec);

// Loads the dataset. `split_seed` draws a per-class split; the synthetic graph takes its own seed
// from the spec (key seed, default 1), so every run of a command sees the same graph.
io::NodeDataset load_node_data(const DataOptions& options, uint64_t split_seed);

}  // namespace gkd::cli
