// gkd train on a graph-classification dataset: stratified k-fold cross-validation (TU datasets,
// Xu et al.'s protocol) or the dataset's own split (OGB scaffold), over --runs seeds. Summary
// numbers are mean ± sample std over every (run, fold) result.
#include <fmt/core.h>
#include <omp.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/run_dir.h"
#include "cli/train_common.h"
#include "engine/error.h"
#include "engine/io/ogb.h"
#include "engine/io/splits.h"
#include "models/checkpoint.h"
#include "models/graph_model.h"
#include "models/train_graph.h"

namespace gkd::cli {

namespace {

using nlohmann::json;

}  // namespace

int train_graphs(const TrainCall& call) {
  const TrainConfig& c = call.config;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  // Everything that can fail on bad input happens before the run directory exists.
  const io::GraphDataset data = load_graph_data(c.data);
  GKD_CHECK(!data.samples.empty(), c.data.spec, ": the dataset holds no graphs");
  const bool own_split = !data.train.empty();
  GKD_CHECK(own_split || c.selection == "paper" || c.val_fraction > 0,
            "--selection best-val needs --val-fraction > 0 for cross-validation");
  const models::GraphModelConfig mc = graph_model_config(c, data);
  const models::GraphModel shape_only(mc, 0);
  const models::GraphMetric metric =
      own_split ? models::GraphMetric::kRocAuc : models::GraphMetric::kAccuracy;
  const std::vector<GraphJob> jobs = graph_jobs(c, data);

  RunDir dir(f.out.empty() ? default_run_path(data.name, c.model) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "train", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state

  const bool tty = !f.quiet && isatty(STDERR_FILENO);
  const char* metric_name = metric == models::GraphMetric::kRocAuc ? "roc_auc" : "accuracy";
  if (!f.quiet) {
    fmt::print(stderr, "gkd train: {} ({} graphs, {} features, {} classes) | {} | {} | {}\n",
               data.name, data.samples.size(), data.num_node_features, data.num_classes,
               own_split ? "the dataset's split" : std::to_string(c.folds) + "-fold CV",
               shape_only.describe(), ctx.describe());
  }
  const models::GraphTrainOptions to = graph_train_options(c, metric);
  std::vector<double> test, val, epoch_ms;
  std::vector<std::vector<double>> curves;  // this run's per-fold test curves (paper rule)
  json per_job = json::array();
  json selected_epochs = json::array();  // paper rule: the epoch chosen for each run
  for (size_t j = 0; j < jobs.size(); ++j) {
    const GraphJob& job = jobs[j];
    models::GraphModel model(mc, job.seed * 1000 + static_cast<uint64_t>(job.fold));
    models::GraphTrainOptions o = to;
    o.seed = job.seed * 1000 + static_cast<uint64_t>(job.fold);
    o.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_fold{}", job.run, job.fold));
    const auto on_epoch = [&](const models::GraphEpochMetrics& m) {
      dir.append_metrics(graph_epoch_line(job, m));
      print_progress(f, tty, m.epoch, c.epochs,
                     fmt::format("  run {}/{} fold {} epoch {:>4}/{}  loss {:.4f}  val {:5.1f}  "
                                 "test {:5.1f}",
                                 job.run + 1, c.runs, job.fold + 1, m.epoch, c.epochs, m.train_loss,
                                 m.val, m.test));
    };
    const models::GraphTrainResult res =
        models::train_graph_classifier(ctx, model, data, job.split, o, on_epoch);
    if (tty) fmt::print(stderr, "\n");
    report_resumed(f, fmt::format("run {} fold {}", job.run + 1, job.fold + 1), res.resumed_epoch);
    report_non_finite(f, fmt::format("run {} fold {}", job.run + 1, job.fold + 1), res.non_finite,
                      res.skipped_steps);
    // Best-validation state with val graphs, else the last epoch's.
    models::save_model(dir.file(fmt::format("run{}_fold{}.ckpt", job.run, job.fold)),
                       models::model_state(model),
                       checkpoint_metadata(call.resolved, "graph", data.name, job.run, job.fold,
                                           static_cast<int64_t>(job.seed),
                                           job.split.val.empty() ? c.epochs : res.best_epoch)
                           .dump());
    std::vector<double> curve;
    for (const auto& m : res.history) curve.push_back(m.test);
    curves.push_back(std::move(curve));
    epoch_ms.push_back(res.median_epoch_ms);
    per_job.push_back({{"run", job.run},
                       {"fold", job.fold},
                       {"seed", job.seed},
                       {"best_epoch", res.best_epoch},
                       {"val", res.best_val},
                       {"best_val_test", res.test},
                       {"last_test", res.last_test},
                       {"non_finite", res.non_finite},
                       {"skipped_steps", res.skipped_steps},
                       {"epoch_ms_median", res.median_epoch_ms}});
    if (c.selection == "best-val" || own_split) {
      test.push_back(own_split && c.selection == "paper" ? res.last_test : res.test);
      val.push_back(res.best_val);
    }
    const bool run_done = j + 1 == jobs.size() || jobs[j + 1].run != job.run;
    if (run_done && c.selection == "paper" && !own_split) {
      const models::CvSelection sel = models::select_epoch_by_fold_mean(curves);
      for (const auto& cv : curves) test.push_back(cv[sel.epoch - 1]);
      selected_epochs.push_back(sel.epoch);
      if (!f.quiet) {
        fmt::print(stderr, "  run {}/{}: {:.1f} ± {:.1f} at epoch {} (best fold-mean test epoch)\n",
                   job.run + 1, c.runs, sel.mean, sel.std, sel.epoch);
      }
      curves.clear();
    } else if (run_done) {
      curves.clear();
    }
  }

  json details = {{"protocol", own_split ? "dataset split" : std::to_string(c.folds) + "-fold CV"},
                  {"per_fold", per_job}};
  if (!selected_epochs.empty()) details["selected_epochs"] = selected_epochs;
  return finish_train(call, dir,
                      {.dataset = data.name,
                       .metric = metric_name,
                       .test = test,
                       .val = val,
                       .epoch_ms = epoch_ms,
                       .parameters = shape_only.num_parameters(),
                       .details = details});
}

}  // namespace gkd::cli
