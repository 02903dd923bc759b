// Memory footprint estimates, so that a run that cannot fit is refused before it starts
// (engine/memory_budget.h check_fits) with a number the user can act on.
//
// They are estimates from the shapes alone, calibrated against the host allocator's measured peak
// (tests/models: the estimate stays between 1x and 3x the peak for every architecture, dense and
// sparse features): they err on the large side, never by an order of magnitude.
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/node_dataset.h"
#include "models/model.h"

namespace gkd::models {

struct NodeDataShape {
  int64_t nodes = 0, edges = 0;  // edges as stored (both directions for undirected graphs)
  int64_t features = 0;
  int64_t feature_nnz = -1;  // stored entries of a sparse feature matrix; -1: dense
  int64_t classes = 0;
};
NodeDataShape data_shape(const io::NodeDataset& data);

// The dataset in memory: features, CSR in both directions with self loops and norms, labels, masks.
int64_t estimate_dataset_bytes(const NodeDataShape& shape);

// Peak bytes of loading a dataset folder (TU, OGB or PPI), from its files' sizes (a gzip member by
// the uncompressed size its trailer records): text, CSV and .npy bytes become tensors, index
// vectors and CSR copies, about 16x the text (a JSON DOM about 24x), plus 16 MiB for the loader
// itself. On the TU and OGB datasets of ../shared/data the resident memory a load adds stays
// below this (`gkd data info`, maximum RSS over the binary's own: NCI1 +34.7 MiB for 4.1 MB of
// text, estimate 78.2 MiB; ogbg-molbace +19.4 MiB for 1.7 MB of CSV, estimate 41.9 MiB).
int64_t estimate_folder_load_bytes(const std::string& folder);

// Peak bytes of full-batch node training of one model (train_node_classifier) on that data,
// dataset excluded: parameters with their gradients, Adam moments and best snapshot, and the
// activations a training step keeps for backward plus their gradients.
int64_t estimate_node_training_bytes(const ModelConfig& config, const NodeDataShape& shape);

}  // namespace gkd::models
