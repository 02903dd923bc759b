// gkd train: parses the options, then dispatches on --data (node classification here; graph
// classification in train_graph.cpp, PPI in train_ppi.cpp). Every path writes a run directory
// (config.json, metrics.jsonl, summary.json, manifest.json, checkpoints) and an optional --json
// summary on stdout. Progress goes to stderr: a rewritten line on a terminal, plain lines
// otherwise.
#include <fmt/core.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/data_source.h"
#include "cli/run_dir.h"
#include "cli/train_common.h"
#include "engine/error.h"
#include "engine/memory_budget.h"
#include "models/checkpoint.h"
#include "models/model.h"
#include "models/train_node.h"

namespace gkd::cli {

namespace {

using nlohmann::json;

constexpr const char* kHeader = R"(usage: gkd train [--config FILE.json] [options]

Trains a node classifier (a .npz or synthetic --data), a graph classifier (a TU or OGB folder) or
an inductive multi-label model (a PPI folder) over --runs seeds, and reports the test metric at
the best validation epoch (or --selection paper), mean and std over runs (and folds). Options
override the config file; config keys are the option names with '_' for '-'.

  --config FILE          a JSON object of options (configs/ ships one per reproduced result)
  --out DIR              the run directory (default runs/<dataset>-<model>-<time>)
  --json                 print one summary object on stdout
  --quiet                no progress on stderr
  --threads N            OpenMP threads (default: OpenMP's own default)
  --resume DIR           continue the killed run DIR (its DIR.partial) from its state files;
                         ends as the uninterrupted run would
)";

}  // namespace

int run_train(int argc, char** argv) {
  TrainConfig c;
  OptionTable table = make_train_table(c);
  TrainFlags f;
  if (!parse_run_arguments(argc, argv, kHeader, "train", table, &f)) return 0;

  const Context ctx = select_device(c.device);
  const nlohmann::json resolved = table.to_json();
  const TrainCall call{c, resolved, f, ctx, argc, argv};
  if (is_ppi_data(c.data.spec)) return train_ppi(call);
  return is_graph_data(c.data.spec) ? train_graphs(call) : train_nodes(call);
}

int train_nodes(const TrainCall& call) {
  const TrainConfig& c = call.config;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  // Everything that can fail on bad input happens before the run directory exists.
  io::NodeDataset data = load_node_data(c.data, static_cast<uint64_t>(c.seed));
  const models::ModelConfig mc = node_model_config(c, data.x.cols(), data.num_classes);
  const models::Model shape_only(mc, 0);  // for its description and parameter count
  const int64_t memory = check_node_memory(ctx, data, {mc});

  RunDir dir(f.out.empty() ? default_run_path(data.name, c.model) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "train", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state

  const bool tty = !f.quiet && isatty(STDERR_FILENO);
  if (!f.quiet) {
    fmt::print(stderr,
               "gkd train: {} ({} nodes, {} edges, {} features{}, {} classes) | {} | {}, about "
               "{}\n",
               data.name, data.graph.num_nodes(), data.graph.num_edges(), data.x.cols(),
               data.x.is_sparse() ? " sparse" : "", data.num_classes, shape_only.describe(),
               ctx.describe(), format_bytes(memory));
  }
  std::vector<double> test, val, step_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    // A per-class split is redrawn for every run (Shchur et al.); file masks stay fixed.
    if (r > 0 && c.data.split == "per-class") data = load_node_data(c.data, seed);
    models::Model model(mc, seed);
    models::NodeTrainOptions to = node_train_options(c, seed);
    to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}", r));
    const auto on_epoch = [&](const models::EpochMetrics& m) {
      dir.append_metrics({{"run", r},
                          {"seed", seed},
                          {"epoch", m.epoch},
                          {"train_loss", m.train_loss},
                          {"val_loss", m.val_loss},
                          {"train_acc", m.train_acc},
                          {"val_acc", m.val_acc},
                          {"test_acc", m.test_acc},
                          {"step_ms", m.step_ms}});
      print_progress(
          f, tty, m.epoch, c.epochs,
          fmt::format("  run {}/{} epoch {:>4}/{}  loss {:.4f}  train {:5.1f}%  "
                      "val {:5.1f}%",
                      r + 1, c.runs, m.epoch, c.epochs, m.train_loss, m.train_acc, m.val_acc));
    };
    const models::NodeTrainResult res =
        models::train_node_classifier(ctx, model, data, to, on_epoch);
    if (tty) fmt::print(stderr, "\n");
    report_non_finite(f, fmt::format("run {}/{}", r + 1, c.runs), res.non_finite,
                      res.skipped_steps);
    report_resumed(f, fmt::format("run {}/{}", r + 1, c.runs), res.resumed_epoch);
    // The model is in its best-validation state (the trainer restored it).
    models::save_model(dir.file(fmt::format("run{}.ckpt", r)), models::model_state(model),
                       checkpoint_metadata(call.resolved, "node", data.name, r, 0,
                                           static_cast<int64_t>(seed), res.best_epoch)
                           .dump());
    if (!f.quiet) {
      fmt::print(
          stderr,
          "  run {}/{} seed {}: test {:.1f}% at best val {:.1f}% (epoch {}), {:.2f} ms/epoch\n",
          r + 1, c.runs, seed, res.test_acc, res.best_val_acc, res.best_epoch, res.median_step_ms);
    }
    test.push_back(c.selection == "paper" ? res.paper_test_acc : res.test_acc);
    val.push_back(res.best_val_acc);
    step_ms.push_back(res.median_step_ms);
    runs.push_back({{"seed", seed},
                    {"test", test.back()},
                    {"val", res.best_val_acc},
                    {"best_epoch", res.best_epoch},
                    {"epochs_run", res.epochs_run},
                    {"last_test", res.last_test_acc},
                    {"best_val_test", res.test_acc},
                    {"paper_rule_test", res.paper_test_acc},
                    {"diverged_epoch", res.diverged_epoch},
                    {"resumed_epoch", res.resumed_epoch},
                    {"non_finite", res.non_finite},
                    {"skipped_steps", res.skipped_steps},
                    {"epoch_ms_median", res.median_step_ms}});
  }

  return finish_train(call, dir,
                      {.dataset = data.name,
                       .metric = "accuracy",
                       .test = test,
                       .val = val,
                       .epoch_ms = step_ms,
                       .parameters = shape_only.num_parameters(),
                       .details = {{"per_run", runs}}});
}

}  // namespace gkd::cli
