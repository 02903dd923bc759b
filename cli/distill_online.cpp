// gkd distill, online methods (dml, oc, alignahead, alignahead++, gml): per seed a cohort of
// students trained together, and each student architecture alone (the baselines).
#include <fmt/core.h>
#include <omp.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "distill/online.h"
#include "engine/error.h"
#include "models/checkpoint.h"

namespace gkd::cli {

int distill_online(const DistillCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const distill::OnlineOptions online = online_options(d);
  // The students' architectures: --cohort gcn,gat,... (mixed, dml and gml) or --students x
  // --model. Deep supervision gives them auxiliary heads; baselines stay the plain students.
  const std::vector<std::string> archs = cohort_archs(d, c);
  const auto k_count = static_cast<int64_t>(archs.size());
  std::vector<TrainConfig> student_train(archs.size(), c), baseline_train(archs.size(), c);
  for (int64_t k = 0; k < k_count; ++k) {
    student_train[k].model = baseline_train[k].model = archs[k];
    student_train[k].aux_heads =
        c.aux_heads ||
        (online.method == distill::OnlineMethod::kAlignaheadPlus && d.aux_weight > 0);
  }

  GKD_CHECK(c.patience == 0, "gkd distill --method ", d.method,
            ": --patience is not supported for online cohorts (every student trains all epochs)");
  // Everything that can fail on bad input happens before the run directory exists.
  io::NodeDataset data = load_node_data(c.data, static_cast<uint64_t>(c.seed));
  const bool structural =
      online.method != distill::OnlineMethod::kDml && online.method != distill::OnlineMethod::kGml;
  GKD_CHECK(!structural || c.layers >= 2, "gkd distill --method ", d.method,
            " aligns hidden layers: --layers is ", c.layers, " (expected >= 2)");
  GKD_CHECK(!structural || d.cohort.empty(), "gkd distill --method ", d.method,
            " pairs the students' layers: --cohort (mixed architectures) needs dml or gml");
  std::vector<models::ModelConfig> student_config, baseline_config;
  std::vector<json> student_meta_config;
  for (int64_t k = 0; k < k_count; ++k) {
    student_config.push_back(node_model_config(student_train[k], data.x.cols(), data.num_classes));
    baseline_config.push_back(
        node_model_config(baseline_train[k], data.x.cols(), data.num_classes));
    student_meta_config.push_back(train_config_json(student_train[k]));
  }

  check_node_memory(ctx, data, student_config);
  RunDir dir(f.out.empty() ? default_run_path(data.name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state
  if (!f.quiet) {
    std::string who;
    for (const auto& config : student_config) {
      who += (who.empty() ? "" : " + ") + models::Model(config, 0).describe();
    }
    fmt::print(stderr, "gkd distill --method {}: {} | {} ({} schedule) | {}\n", d.method, data.name,
               who, d.schedule, ctx.describe());
  }

  std::vector<ResultStats> students(archs.size());
  ResultStats ensemble;
  std::map<std::string, ResultStats> baselines;  // per architecture
  std::vector<double> epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    if (r > 0 && c.data.split == "per-class") data = load_node_data(c.data, seed);
    models::NodeTrainOptions to = node_train_options(c, seed);
    std::vector<std::unique_ptr<models::Model>> cohort;
    std::vector<models::Model*> pointers;
    for (int64_t k = 0; k < k_count; ++k) {
      cohort.push_back(
          std::make_unique<models::Model>(student_config[k], student_init_seed(d, seed, k)));
      pointers.push_back(cohort.back().get());
    }
    models::NodeTrainOptions cohort_options = to;
    cohort_options.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_cohort", r));
    const distill::CohortResult res = distill::train_cohort(
        ctx, pointers, data, cohort_options, online, [&](int64_t k, const models::EpochMetrics& m) {
          dir.append_metrics({{"run", r},
                              {"seed", seed},
                              {"model", "student" + std::to_string(k)},
                              {"epoch", m.epoch},
                              {"train_loss", m.train_loss},
                              {"val_acc", m.val_acc},
                              {"test_acc", m.test_acc},
                              {"step_ms", m.step_ms}});
        });
    report_resumed(f, fmt::format("run {} cohort", r + 1), res.students[0].resumed_epoch);
    json run = {{"seed", seed}, {"students", json::array()}};
    for (int64_t k = 0; k < k_count; ++k) {
      const models::NodeTrainResult& s = res.students[k];
      students[k].test.push_back(s.test_acc);
      students[k].val.push_back(s.best_val_acc);
      run["students"].push_back({{"test", s.test_acc},
                                 {"val", s.best_val_acc},
                                 {"best_epoch", s.best_epoch},
                                 {"diverged_epoch", s.diverged_epoch},
                                 {"non_finite", s.non_finite},
                                 {"skipped_steps", s.skipped_steps}});
      report_non_finite(f, fmt::format("run {} student {}", r + 1, k), s.non_finite,
                        s.skipped_steps);
      models::save_model(dir.file(fmt::format("run{}_student{}.ckpt", r, k)),
                         models::model_state(*cohort[k]),
                         checkpoint_metadata(student_meta_config[k], "node", data.name, r, 0,
                                             static_cast<int64_t>(seed), s.best_epoch)
                             .dump());
    }
    ensemble.test.push_back(res.ensemble_test_acc);
    ensemble.val.push_back(res.ensemble_val_acc);
    run["ensemble"] = {{"test", res.ensemble_test_acc}, {"val", res.ensemble_val_acc}};
    run["cohort_epoch_ms_median"] = res.median_epoch_ms;
    run["students_batched"] = res.batched;
    epoch_ms.push_back(res.median_epoch_ms);
    for (int64_t k = 0; d.baseline && k < k_count; ++k) {
      if (baselines.count(archs[k]) && baselines[archs[k]].test.size() == size_t(r + 1)) continue;
      models::Model alone(baseline_config[k], seed);
      to.state =
          state_file(dir, f, c, call.resolved, fmt::format("run{}_baseline_{}", r, archs[k]));
      const models::NodeTrainResult b = models::train_node_classifier(ctx, alone, data, to);
      report_resumed(f, fmt::format("run {} baseline {}", r + 1, archs[k]), b.resumed_epoch);
      baselines[archs[k]].test.push_back(b.test_acc);
      baselines[archs[k]].val.push_back(b.best_val_acc);
      run["baselines"][archs[k]] = {{"test", b.test_acc}, {"val", b.best_val_acc}};
    }
    if (!f.quiet) {
      std::string line;
      for (int64_t k = 0; k < k_count; ++k) {
        line += fmt::format("  student{} {:.1f}%", k, students[k].test.back());
      }
      fmt::print(
          stderr, "  run {}/{} seed {}:{}  ensemble {:.1f}%{}\n", r + 1, c.runs, seed, line,
          res.ensemble_test_acc,
          d.baseline ? fmt::format("  baseline {:.1f}%", baselines[archs[0]].test.back()) : "");
    }
    runs.push_back(run);
  }

  return finish_distill(call, dir,
                        {.dataset = data.name,
                         .metric = "accuracy",
                         .students = students,
                         .teachers = {},
                         .ensemble = &ensemble,
                         .first_arch = archs[0],
                         .baselines = baselines,
                         .epoch_ms = epoch_ms,
                         .details = {{"per_run", runs}}});
}

}  // namespace gkd::cli
