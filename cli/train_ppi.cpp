// gkd train on PPI (inductive multi-label node classification over many graphs): --runs seeds on
// the dataset's own train/valid/test graphs, micro-F1 in percent.
#include <fmt/core.h>
#include <omp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/run_dir.h"
#include "cli/train_common.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/train_inductive.h"

namespace gkd::cli {

int train_ppi(const TrainCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  // Everything that can fail on bad input happens before the run directory exists.
  const io::PpiDataset data = load_ppi_data(c.data);
  const models::ModelConfig mc = node_model_config(c, data.num_features, data.num_labels);
  const models::Model shape_only(mc, 0);
  const std::string name = "ppi";

  RunDir dir(f.out.empty() ? default_run_path(name, c.model) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "train", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state

  const bool tty = !f.quiet && isatty(STDERR_FILENO);
  if (!f.quiet) {
    fmt::print(stderr, "gkd train: {} ({} / {} / {} graphs, {} features, {} labels) | {} | {}\n",
               name, data.train.graphs.size(), data.valid.graphs.size(), data.test.graphs.size(),
               data.num_features, data.num_labels, shape_only.describe(), ctx.describe());
  }
  std::vector<double> test, val, epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    models::Model model(mc, seed);
    models::InductiveTrainOptions to = inductive_train_options(c, seed);
    to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}", r));
    const auto on_epoch = [&](const models::InductiveEpochMetrics& m) {
      dir.append_metrics({{"run", r},
                          {"seed", seed},
                          {"epoch", m.epoch},
                          {"train_loss", m.train_loss},
                          {"val_loss", m.val_loss},
                          {"val_f1", m.val_f1},
                          {"test_f1", m.test_f1},
                          {"epoch_ms", m.epoch_ms}});
      print_progress(f, tty, m.epoch, c.epochs,
                     fmt::format("  run {}/{} epoch {:>4}/{}  loss {:.4f}  val F1 {:5.1f}", r + 1,
                                 c.runs, m.epoch, c.epochs, m.train_loss, m.val_f1));
    };
    const models::InductiveTrainResult res =
        models::train_inductive(ctx, model, data, to, on_epoch);
    if (tty) fmt::print(stderr, "\n");
    report_resumed(f, fmt::format("run {}/{}", r + 1, c.runs), res.resumed_epoch);
    report_non_finite(f, fmt::format("run {}/{}", r + 1, c.runs), res.non_finite,
                      res.skipped_steps);
    models::save_model(dir.file(fmt::format("run{}.ckpt", r)), models::model_state(model),
                       checkpoint_metadata(call.resolved, "ppi", name, r, 0,
                                           static_cast<int64_t>(seed), res.best_epoch)
                           .dump());
    test.push_back(c.selection == "paper" ? res.paper_test_f1 : res.test_f1);
    val.push_back(res.best_val_f1);
    epoch_ms.push_back(res.median_epoch_ms);
    runs.push_back({{"seed", seed},
                    {"test", test.back()},
                    {"val", res.best_val_f1},
                    {"best_epoch", res.best_epoch},
                    {"best_val_test", res.test_f1},
                    {"paper_rule_test", res.paper_test_f1},
                    {"last_test", res.last_test_f1},
                    {"non_finite", res.non_finite},
                    {"skipped_steps", res.skipped_steps},
                    {"epoch_ms_median", res.median_epoch_ms}});
  }
  return finish_train(call, dir,
                      {.dataset = name,
                       .metric = "micro_f1",
                       .test = test,
                       .val = val,
                       .epoch_ms = epoch_ms,
                       .parameters = shape_only.num_parameters(),
                       .details = {{"per_run", runs}}});
}

}  // namespace gkd::cli
