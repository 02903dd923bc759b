// A model's state (parameters and buffers, by model-wide name) to and from checkpoint files
// (engine/io/checkpoint.h), and in-memory snapshots for keeping the best epoch.
//
//   models::save_model("run/model.ckpt", models::model_state(model), config_json);
//   models::load_model("run/model.ckpt", models::model_state(model));  // same config first
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "models/graph_model.h"
#include "models/model.h"

namespace gkd::models {

// Pointers to the model's tensors: parameters first, then buffers.
using ModelState = std::vector<std::pair<std::string, Tensor*>>;
ModelState model_state(const Model& model);
ModelState model_state(const GraphModel& model);

// Atomic (temporary file, fsync, rename) with `metadata` (typically the JSON that rebuilds the
// model) stored alongside.
void save_model(const std::string& path, const ModelState& state, const std::string& metadata);

// Reads `path` into the state's tensors (each keeps its device). The file must hold exactly these
// names with the same shapes and dtypes; otherwise gkd::Error names the file and the tensor, and
// no tensor is modified. Returns the metadata.
std::string load_model(const std::string& path, const ModelState& state);

// Deep copies of the state's values, and their restoration.
std::vector<Tensor> snapshot(const ModelState& state);
void restore(const ModelState& state, const std::vector<Tensor>& values);

}  // namespace gkd::models
