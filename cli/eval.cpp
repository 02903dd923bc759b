// gkd eval: rebuilds a model from a checkpoint written by gkd train (its metadata holds the
// resolved config and the run's seed and fold), loads the weights and reports the metric on the
// train, val and test parts of that run's split.
#include <fmt/core.h>
#include <omp.h>

#include <nlohmann/json.hpp>
#include <string>

#include "autograd/tape.h"
#include "cli/commands.h"
#include "cli/train_common.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/train_inductive.h"

namespace gkd::cli {

namespace {

using nlohmann::json;

constexpr const char* kUsage = R"(usage: gkd eval --checkpoint FILE [options]

Rebuilds the model a checkpoint of `gkd train` describes, loads its weights and prints the
metric on the train, val and test parts of the run's split.

  --checkpoint FILE      a .ckpt file from a run directory (runN.ckpt, runN_foldK.ckpt)
  --data SPEC            evaluate on this dataset instead of the one in the checkpoint
  --json                 print one summary object on stdout
  --threads N            OpenMP threads
)";

struct Scores {
  double train = 0, val = 0, test = 0;
};

Scores eval_nodes(const Context& ctx, const TrainConfig& c, const std::string& path, uint64_t seed,
                  std::string* dataset) {
  const io::NodeDataset data = load_node_data(c.data, seed);
  *dataset = data.name;
  const models::Model model(node_model_config(c, data.x.cols(), data.num_classes), 0);
  const models::ModelState state = models::model_state(model);
  models::load_model(path, state);
  for (auto& [name, t] : state) *t = t->to(ctx.device());
  autograd::Tape tape(ctx);
  autograd::NoGrad no_grad(tape);
  const Tensor logits =
      model.forward(tape, data.graph.to(ctx.device()), data.x.to(ctx.device()), {.training = false})
          .logits.value()
          .to(Device::kCPU);
  return {models::accuracy(logits, data.y, data.train_mask),
          models::accuracy(logits, data.y, data.val_mask),
          models::accuracy(logits, data.y, data.test_mask)};
}

Scores eval_graphs(const Context& ctx, const TrainConfig& c, const std::string& path, int64_t run,
                   int64_t fold, std::string* dataset, std::string* metric_name) {
  const io::GraphDataset data = load_graph_data(c.data);
  *dataset = data.name;
  const std::vector<GraphJob> jobs = graph_jobs(c, data);
  const GraphJob* job = nullptr;
  for (const GraphJob& j : jobs) {
    if (j.run == run && j.fold == fold) job = &j;
  }
  GKD_CHECK(job != nullptr, path, ": field metadata.run/fold: run ", run, ", fold ", fold,
            " is not a job of this config");
  const models::GraphModel model(graph_model_config(c, data), 0);
  const models::ModelState state = models::model_state(model);
  models::load_model(path, state);
  for (auto& [name, t] : state) *t = t->to(ctx.device());
  const models::GraphMetric metric =
      data.train.empty() ? models::GraphMetric::kAccuracy : models::GraphMetric::kRocAuc;
  *metric_name = metric == models::GraphMetric::kRocAuc ? "roc_auc" : "accuracy";
  const auto score = [&](const std::vector<int64_t>& ids) {
    return ids.empty() ? 0.0
                       : models::evaluate_graph_classifier(ctx, model, data, ids, metric).metric;
  };
  return {score(job->split.train), score(job->split.val), score(job->split.test)};
}

Scores eval_ppi(const Context& ctx, const TrainConfig& c, const std::string& path) {
  const io::PpiDataset data = load_ppi_data(c.data);
  const models::Model model(node_model_config(c, data.num_features, data.num_labels), 0);
  const models::ModelState state = models::model_state(model);
  models::load_model(path, state);
  for (auto& [name, t] : state) *t = t->to(ctx.device());
  const auto f1 = [&](const io::PpiSplit& s) {
    return models::evaluate_inductive(ctx, model, s, c.raw_logit_rule).f1;
  };
  return {f1(data.train), f1(data.valid), f1(data.test)};
}

}  // namespace

int run_eval(int argc, char** argv) {
  std::string path, data_spec;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", kUsage);
      return 0;
    }
    if (arg == "--json") {
      as_json = true;
      continue;
    }
    if (arg != "--checkpoint" && arg != "--data" && arg != "--threads") {
      throw UsageError("unknown argument '" + arg + "' (see gkd eval --help)");
    }
    if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--checkpoint") path = value;
    if (arg == "--data") data_spec = value;
    if (arg == "--threads") {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || n < 1) {
        throw UsageError("option --threads expects a positive integer (got '" + value + "')");
      }
      omp_set_num_threads(static_cast<int>(n));
    }
  }
  if (path.empty()) throw UsageError("gkd eval needs --checkpoint FILE");

  const CheckpointInfo info = read_checkpoint_info(path);
  const json& meta = info.meta;
  TrainConfig c = info.config;
  if (!data_spec.empty()) c.data.spec = data_spec;
  const Context ctx = select_device(c.device);
  const std::string& task = info.task;
  std::string dataset, metric = "accuracy";
  Scores s;
  if (task == "node") {
    s = eval_nodes(ctx, c, path, meta["seed"].get<uint64_t>(), &dataset);
  } else if (task == "ppi") {
    s = eval_ppi(ctx, c, path);
    dataset = "ppi";
    metric = "micro_f1";
  } else {
    GKD_CHECK(task == "graph", path, ": field metadata.task: '", task,
              "' (expected node, graph or ppi)");
    s = eval_graphs(ctx, c, path, meta["run"].get<int64_t>(), meta["fold"].get<int64_t>(), &dataset,
                    &metric);
  }
  const json summary = {{"command", "eval"}, {"checkpoint", path}, {"dataset", dataset},
                        {"model", c.model},  {"metric", metric},   {"train", s.train},
                        {"val", s.val},      {"test", s.test},     {"device", ctx.describe()}};
  if (as_json) {
    fmt::print("{}\n", summary.dump());
  } else {
    fmt::print("{} {} ({}): {} train {:.2f}  val {:.2f}  test {:.2f}\n", dataset, c.model, path,
               metric, s.train, s.val, s.test);
  }
  return 0;
}

}  // namespace gkd::cli
