#include "models/checkpoint.h"

#include "engine/error.h"
#include "engine/io/checkpoint.h"

namespace gkd::models {

namespace {

template <class M>
ModelState state_of(const M& model) {
  ModelState out;
  for (const auto& [name, p] : model.named_parameters()) out.emplace_back(name, &p->value);
  for (const auto& [name, b] : model.named_buffers()) out.emplace_back(name, &b->value);
  return out;
}

}  // namespace

ModelState model_state(const Model& model) {
  return state_of(model);
}
ModelState model_state(const GraphModel& model) {
  return state_of(model);
}

void save_model(const std::string& path, const ModelState& state, const std::string& metadata) {
  io::Checkpoint c{.metadata = metadata, .tensors = {}};
  for (const auto& [name, t] : state) c.tensors.emplace_back(name, *t);
  io::save_checkpoint(path, c);
}

std::string load_model(const std::string& path, const ModelState& state) {
  io::Checkpoint c = io::load_checkpoint(path);
  GKD_CHECK(c.tensors.size() == state.size(), path, ": holds ", c.tensors.size(),
            " tensors (expected ", state.size(), " for this model: is it the same config?)");
  // Check everything before copying anything, so a mismatch leaves the model untouched.
  for (const auto& [name, t] : state) {
    GKD_CHECK(c.has(name), path, ": no tensor named '", name,
              "' (the checkpoint was saved from a different model config)");
    const Tensor& v = c.tensor(name);
    GKD_CHECK(v.same_shape(*t) && v.dtype() == t->dtype(), path, ": tensor ", name, " is ",
              v.describe(), " (expected ", t->describe(), ")");
  }
  for (const auto& [name, t] : state) t->copy_from(c.tensor(name));
  return c.metadata;
}

std::vector<Tensor> snapshot(const ModelState& state) {
  std::vector<Tensor> out;
  out.reserve(state.size());
  for (const auto& [name, t] : state) out.push_back(t->clone());
  return out;
}

void restore(const ModelState& state, const std::vector<Tensor>& values) {
  GKD_CHECK(values.size() == state.size(), "[restore] ", values.size(), " values for ",
            state.size(), " tensors");
  for (size_t i = 0; i < state.size(); ++i) state[i].second->copy_from(values[i]);
}

}  // namespace gkd::models
