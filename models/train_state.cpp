#include "models/train_state.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "models/graph_model.h"

namespace gkd::models {

namespace {

using nlohmann::json;

constexpr const char* kFormat = "gkd-train-state";
constexpr int kFormatVersion = 1;

// The tensor named `name` of the file, checked against the shape and dtype of `like`.
const Tensor& checked(const io::Checkpoint& c, const std::string& path, const std::string& name,
                      const Tensor& like) {
  GKD_CHECK(c.has(name), path, ": field ", name,
            ": missing (the state was written by a "
            "different model or trainer)");
  const Tensor& t = c.tensor(name);
  GKD_CHECK(t.same_shape(like) && t.dtype() == like.dtype(), path, ": field ", name, ": is ",
            t.describe(), " (expected ", like.describe(), ")");
  return t;
}

}  // namespace

void save_train_state(const StateFileOptions& file, const TrainState& state,
                      const TrainStateRefs& refs) {
  io::Checkpoint c;
  c.metadata = json{{"format", kFormat},
                    {"version", kFormatVersion},
                    {"tag", file.tag},
                    {"epoch", state.epoch},
                    {"finished", state.finished},
                    {"diverged_epoch", state.diverged_epoch},
                    {"steps", state.steps},
                    {"best_count", refs.best.size()}}
                   .dump();
  c.tensors.emplace_back("history", state.history);
  for (const auto& [name, t] : refs.live) c.tensors.emplace_back("live/" + name, *t);
  for (size_t i = 0; i < refs.best.size(); ++i) {
    c.tensors.emplace_back("best/" + refs.live[i].first, refs.best[i]);
  }
  for (size_t k = 0; k < refs.optimizers.size(); ++k) {
    for (auto& [name, t] : refs.optimizers[k]->state()) {
      c.tensors.emplace_back("optimizer" + std::to_string(k) + "/" + name, t);
    }
  }
  io::save_checkpoint(file.path, c);
}

bool load_train_state(const StateFileOptions& file, int64_t history_columns, TrainState* state,
                      const TrainStateRefs& refs) {
  if (!file.resume || file.path.empty() || !std::filesystem::exists(file.path)) return false;
  const std::string& path = file.path;
  const io::Checkpoint c = io::load_checkpoint(path);
  json meta;
  try {
    meta = json::parse(c.metadata);
  } catch (const json::exception&) {
    GKD_FAIL(path, ": field metadata: not JSON (expected a gkd train state)");
  }
  const auto field = [&](const char* key, json::value_t type) -> const json& {
    GKD_CHECK(meta.is_object() && meta.contains(key) && meta[key].type() == type, path, ": field ",
              key, ": missing or of the wrong type (expected a gkd train state)");
    return meta[key];
  };
  GKD_CHECK(field("format", json::value_t::string) == kFormat, path,
            ": field format: not a gkd train state");
  const int64_t version = field("version", json::value_t::number_unsigned).get<int64_t>();
  GKD_CHECK(version == kFormatVersion, path, ": field version: ", version, " (expected ",
            kFormatVersion, ")");
  GKD_CHECK(field("tag", json::value_t::string) == file.tag, path,
            ": field tag: the state belongs to a different run configuration (expected the "
            "config and seed this run was started with)");
  const int64_t epoch = field("epoch", json::value_t::number_unsigned).get<int64_t>();
  const bool finished = field("finished", json::value_t::boolean).get<bool>();
  const int64_t diverged = field("diverged_epoch", json::value_t::number_unsigned).get<int64_t>();
  const auto best_count = field("best_count", json::value_t::number_unsigned).get<size_t>();
  GKD_CHECK(best_count <= refs.live.size(), path, ": field best_count: ", best_count,
            " (expected at most ", refs.live.size(), ", the live tensors)");
  const int64_t steps = field("steps", json::value_t::number_unsigned).get<int64_t>();

  GKD_CHECK(c.has("history"), path, ": field history: missing");
  const Tensor& history = c.tensor("history");
  GKD_CHECK(history.dtype() == DType::kF64 && history.rows() == epoch &&
                history.cols() == history_columns,
            path, ": field history: is ", history.describe(), " (expected [", epoch, ", ",
            history_columns, "] f64)");
  // Validate every tensor before modifying any: a bad file leaves the run as it was.
  std::vector<const Tensor*> live, best;
  for (const auto& [name, t] : refs.live) live.push_back(&checked(c, path, "live/" + name, *t));
  for (size_t i = 0; i < best_count; ++i) {
    best.push_back(&checked(c, path, "best/" + refs.live[i].first, *refs.live[i].second));
  }
  std::vector<autograd::Optimizer::NamedTensors> opt(refs.optimizers.size());
  size_t expected = 1 + live.size() + best.size();
  for (size_t k = 0; k < opt.size(); ++k) {
    const std::string prefix = "optimizer" + std::to_string(k) + "/";
    for (const auto& [name, t] : c.tensors) {
      if (name.rfind(prefix, 0) == 0) opt[k].emplace_back(name.substr(prefix.size()), t);
    }
    expected += opt[k].size();
  }
  GKD_CHECK(c.tensors.size() == expected, path, ": holds ", c.tensors.size(), " tensors (expected ",
            expected, ": the state was written by a different model)");
  // Each optimizer validates its entries before it modifies anything; with several, those before
  // a bad one stay loaded (the caller's run fails either way). The live tensors come last.
  for (size_t k = 0; k < opt.size(); ++k) {
    try {
      refs.optimizers[k]->load_state(opt[k]);
    } catch (const Error& e) {
      GKD_FAIL(path, ": field optimizer", k, ": ", e.what());
    }
  }
  for (size_t i = 0; i < live.size(); ++i) refs.live[i].second->copy_from(*live[i]);
  refs.best.clear();
  for (const Tensor* t : best) refs.best.push_back(t->clone());
  *state = {.epoch = epoch,
            .finished = finished,
            .diverged_epoch = diverged,
            .steps = steps,
            .history = history.clone()};
  return true;
}

namespace {

TrainedState with_extra(const Context& ctx, TrainedState t,
                        const std::vector<autograd::Parameter*>& extra) {
  for (autograd::Parameter* p : t.parameters) p->value = p->value.to(ctx.device());
  for (size_t i = 0; i < extra.size(); ++i) {
    extra[i]->value = extra[i]->value.to(ctx.device());
    t.parameters.push_back(extra[i]);
    t.live.emplace_back("extra." + std::to_string(i), &extra[i]->value);
  }
  return t;
}

}  // namespace

TrainedState trained_state(const Context& ctx, const Model& model,
                           const std::vector<autograd::Parameter*>& extra) {
  return with_extra(ctx, {.parameters = model.parameters(), .live = model_state(model)}, extra);
}

TrainedState trained_state(const Context& ctx, const GraphModel& model,
                           const std::vector<autograd::Parameter*>& extra) {
  for (auto& [name, b] : model.named_buffers()) b->value = b->value.to(ctx.device());
  return with_extra(ctx, {.parameters = model.parameters(), .live = model_state(model)}, extra);
}

}  // namespace gkd::models
