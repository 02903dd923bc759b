// gkd distill on PPI (inductive multi-label node classification over many graphs), micro-F1 in
// percent. Offline methods (kd, fitnet, lsp, mskd): per seed the teacher(s) are trained (or
// loaded), the student is trained with the term against the frozen teacher(s) run on each step's
// batch (the seed code's data flow, methods.md §2.4 and §3.3), and the same student alone (the
// baseline). MSKD's code weights come from the untrained student's and the teachers' logits on
// the first batch of epoch 1, as the official code computes them on its first minibatch. Online
// methods (oc, alignahead, alignahead++): per seed a cohort trained together over the same batches,
// and the student architecture alone.
#include <fmt/core.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online_inductive.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/train_inductive.h"

namespace gkd::cli {

int distill_ppi(const DistillCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const std::string name = "ppi";
  // Everything that can fail on bad input happens before the run directory exists.
  const io::PpiDataset data = load_ppi_data(c.data);
  const models::ModelConfig student_config =
      node_model_config(c, data.num_features, data.num_labels);
  const bool is_mskd = d.method == "mskd";
  const std::vector<TeacherSpec> teachers =
      teacher_specs(d, c, "ppi", data.num_features, data.num_labels);
  const distill::OfflineOptions kd = offline_options(d);
  const distill::MskdOptions mskd = mskd_options(d);
  if (is_mskd) {  // validates the layers
    check_mskd(mskd, teachers, student_config, c.epochs);
  } else {
    distill::OfflineDistiller(kd, teachers.front().config, student_config, 0);
  }

  RunDir dir(f.out.empty() ? default_run_path(name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state
  if (!f.quiet) {
    std::string who;
    for (const TeacherSpec& t : teachers) {
      who += (who.empty() ? "" : " + ") + models::Model(t.config, 0).describe();
    }
    fmt::print(stderr,
               "gkd distill --method {}: {} ({} / {} / {} graphs) | student {} | teacher {} | {}\n",
               d.method, name, data.train.graphs.size(), data.valid.graphs.size(),
               data.test.graphs.size(), models::Model(student_config, 0).describe(), who,
               ctx.describe());
  }
  const json student_meta_config = train_config_json(c);
  // Test micro-F1 under the configured selection rule, as gkd train on PPI reports it.
  const auto selected = [&](const models::InductiveTrainResult& r) {
    return c.selection == "paper" ? r.paper_test_f1 : r.test_f1;
  };
  std::vector<ResultStats> teacher_stats(teachers.size());
  ResultStats student_stats;
  std::map<std::string, ResultStats> baselines;
  std::vector<double> epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    const auto log = [&](std::string role) {
      return [&, role](const models::InductiveEpochMetrics& m) {
        dir.append_metrics({{"run", r},
                            {"seed", seed},
                            {"model", role},
                            {"epoch", m.epoch},
                            {"train_loss", m.train_loss},
                            {"val_f1", m.val_f1},
                            {"test_f1", m.test_f1},
                            {"epoch_ms", m.epoch_ms}});
      };
    };
    const auto save = [&](const models::Model& m, const std::string& role, const json& config,
                          int64_t best_epoch) {
      models::save_model(
          dir.file(fmt::format("run{}_{}.ckpt", r, role)), models::model_state(m),
          checkpoint_metadata(config, "ppi", name, r, 0, static_cast<int64_t>(seed), best_epoch)
              .dump());
    };
    // The teachers: loaded once, or trained with their own configs and this run's seed.
    std::vector<std::unique_ptr<models::Model>> trained(teachers.size());
    std::vector<const models::Model*> frozen;
    json teacher_runs = json::array();
    for (size_t k = 0; k < teachers.size(); ++k) {
      const TeacherSpec& t = teachers[k];
      const std::string role = teachers.size() > 1 ? "teacher" + std::to_string(k) : "teacher";
      if (!t.loaded) {
        trained[k] = std::make_unique<models::Model>(t.config, seed);
        models::InductiveTrainOptions o = inductive_train_options(t.train, seed);
        o.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_{}", r, role));
        const models::InductiveTrainResult tr =
            models::train_inductive(ctx, *trained[k], data, o, log(role));
        report_resumed(f, fmt::format("run {} {}", r + 1, role), tr.resumed_epoch);
        save(*trained[k], role, t.meta_config, tr.best_epoch);
      }
      frozen.push_back(t.loaded ? t.loaded.get() : trained[k].get());
      teacher_stats[k].test.push_back(
          models::evaluate_inductive(ctx, *frozen[k], data.test, c.raw_logit_rule).f1);
      teacher_stats[k].val.push_back(
          models::evaluate_inductive(ctx, *frozen[k], data.valid, c.raw_logit_rule).f1);
      teacher_runs.push_back(
          {{"test", teacher_stats[k].test.back()}, {"val", teacher_stats[k].val.back()}});
    }

    models::InductiveTrainOptions to = inductive_train_options(c, seed);
    to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_student", r));
    models::Model student(student_config, seed);
    std::unique_ptr<distill::OfflineDistiller> single;
    std::unique_ptr<distill::MskdDistiller> multi;
    models::InductiveExtraLoss extra;
    if (is_mskd) {
      const models::InductiveBatch first = models::make_inductive_batch(
          data.train,
          models::inductive_steps(static_cast<int64_t>(data.train.graphs.size()), c.graphs_per_step,
                                  seed, 1)
              .front(),
          ctx.device());
      std::vector<distill::TeacherOutputs> outputs;
      for (const models::Model* t : frozen) {
        outputs.push_back(distill::run_teacher(ctx, *t, first.graph, first.x));
      }
      const Tensor initial =
          distill::run_teacher(ctx, student, first.graph, first.x).logits;  // untrained
      multi = std::make_unique<distill::MskdDistiller>(mskd, std::move(outputs), initial,
                                                       student_config.layers - 1, c.epochs);
      extra = multi->inductive_extra_loss(frozen);
    } else {
      single = std::make_unique<distill::OfflineDistiller>(kd, teachers.front().config,
                                                           student_config, seed);
      extra = single->inductive_extra_loss(*frozen.front());
    }
    const models::InductiveTrainResult s =
        models::train_inductive(ctx, student, data, to, log("student"), extra);
    report_resumed(f, fmt::format("run {} student", r + 1), s.resumed_epoch);
    save(student, "student", student_meta_config, s.best_epoch);
    student_stats.test.push_back(selected(s));
    student_stats.val.push_back(s.best_val_f1);
    epoch_ms.push_back(s.median_epoch_ms);
    json run = {{"seed", seed},
                {"teacher", teacher_runs.back()},
                {"student", {{"test", student_stats.test.back()}, {"val", s.best_val_f1}}},
                {"student_epoch_ms_median", s.median_epoch_ms}};
    if (is_mskd) {
      run["teachers"] = teacher_runs;
      run["teacher_weights"] = multi->teacher_weights();
    }
    if (d.baseline) {
      models::Model alone(student_config, seed);
      to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_baseline", r));
      const models::InductiveTrainResult b =
          models::train_inductive(ctx, alone, data, to, log("baseline"));
      report_resumed(f, fmt::format("run {} baseline", r + 1), b.resumed_epoch);
      baselines[c.model].test.push_back(selected(b));
      baselines[c.model].val.push_back(b.best_val_f1);
      run["baseline"] = {{"test", baselines[c.model].test.back()}, {"val", b.best_val_f1}};
    }
    if (!f.quiet) {
      fmt::print(
          stderr, "  run {}/{} seed {}: teacher {:.1f}  student {:.1f}{} (micro-F1)\n", r + 1,
          c.runs, seed, teacher_stats.back().test.back(), student_stats.test.back(),
          d.baseline ? fmt::format("  baseline {:.1f}", baselines[c.model].test.back()) : "");
    }
    runs.push_back(run);
  }
  return finish_distill(call, dir,
                        {.dataset = name,
                         .metric = "micro_f1",
                         .students = {student_stats},
                         .teachers = teacher_stats,
                         .ensemble = nullptr,
                         .first_arch = c.model,
                         .baselines = baselines,
                         .epoch_ms = epoch_ms,
                         .details = {{"per_run", runs}}});
}

int distill_online_ppi(const DistillCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const std::string name = "ppi";
  const distill::OnlineOptions online = online_options(d);
  GKD_CHECK(d.cohort.empty(), "gkd distill --method ", d.method,
            " pairs the students' layers: --cohort (mixed architectures) is not available");
  GKD_CHECK(c.layers >= 2, "gkd distill --method ", d.method, " aligns hidden layers: --layers is ",
            c.layers, " (expected >= 2)");
  // Everything that can fail on bad input happens before the run directory exists.
  const io::PpiDataset data = load_ppi_data(c.data);
  TrainConfig student_train = c;  // deep supervision gives the students auxiliary heads
  student_train.aux_heads =
      c.aux_heads || (online.method == distill::OnlineMethod::kAlignaheadPlus && d.aux_weight > 0);
  const models::ModelConfig student_config =
      node_model_config(student_train, data.num_features, data.num_labels);
  const models::ModelConfig baseline_config =
      node_model_config(c, data.num_features, data.num_labels);
  const json student_meta_config = train_config_json(student_train);

  RunDir dir(f.out.empty() ? default_run_path(name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state
  if (!f.quiet) {
    fmt::print(stderr, "gkd distill --method {}: {} | {} x {} ({} schedule) | {}\n", d.method, name,
               d.students, models::Model(student_config, 0).describe(), d.schedule, ctx.describe());
  }
  const auto selected = [&](const models::InductiveTrainResult& r) {
    return c.selection == "paper" ? r.paper_test_f1 : r.test_f1;
  };
  std::vector<ResultStats> students(static_cast<size_t>(d.students));
  ResultStats ensemble;
  std::map<std::string, ResultStats> baselines;
  std::vector<double> epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    std::vector<std::unique_ptr<models::Model>> cohort;
    std::vector<models::Model*> pointers;
    for (int64_t k = 0; k < d.students; ++k) {
      cohort.push_back(
          std::make_unique<models::Model>(student_config, student_init_seed(d, seed, k)));
      pointers.push_back(cohort.back().get());
    }
    models::InductiveTrainOptions to = inductive_train_options(c, seed);
    to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_cohort", r));
    const distill::InductiveCohortResult res = distill::train_inductive_cohort(
        ctx, pointers, data, to, online, [&](int64_t k, const models::InductiveEpochMetrics& m) {
          dir.append_metrics({{"run", r},
                              {"seed", seed},
                              {"model", "student" + std::to_string(k)},
                              {"epoch", m.epoch},
                              {"train_loss", m.train_loss},
                              {"val_f1", m.val_f1},
                              {"test_f1", m.test_f1},
                              {"epoch_ms", m.epoch_ms}});
        });
    report_resumed(f, fmt::format("run {} cohort", r + 1), res.students[0].resumed_epoch);
    json run = {{"seed", seed}, {"students", json::array()}};
    for (int64_t k = 0; k < d.students; ++k) {
      const models::InductiveTrainResult& s = res.students[k];
      students[k].test.push_back(selected(s));
      students[k].val.push_back(s.best_val_f1);
      run["students"].push_back({{"test", selected(s)},
                                 {"val", s.best_val_f1},
                                 {"best_epoch", s.best_epoch},
                                 {"non_finite", s.non_finite},
                                 {"skipped_steps", s.skipped_steps}});
      report_non_finite(f, fmt::format("run {} student {}", r + 1, k), s.non_finite,
                        s.skipped_steps);
      models::save_model(dir.file(fmt::format("run{}_student{}.ckpt", r, k)),
                         models::model_state(*cohort[k]),
                         checkpoint_metadata(student_meta_config, "ppi", name, r, 0,
                                             static_cast<int64_t>(seed), s.best_epoch)
                             .dump());
    }
    ensemble.test.push_back(res.ensemble_test_f1);
    ensemble.val.push_back(res.ensemble_val_f1);
    run["ensemble"] = {{"test", res.ensemble_test_f1}, {"val", res.ensemble_val_f1}};
    run["cohort_epoch_ms_median"] = res.median_epoch_ms;
    run["students_batched"] = res.batched;
    epoch_ms.push_back(res.median_epoch_ms);
    if (d.baseline) {
      models::Model alone(baseline_config, seed);
      to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_baseline", r));
      const models::InductiveTrainResult b = models::train_inductive(ctx, alone, data, to);
      report_resumed(f, fmt::format("run {} baseline", r + 1), b.resumed_epoch);
      baselines[c.model].test.push_back(selected(b));
      baselines[c.model].val.push_back(b.best_val_f1);
      run["baseline"] = {{"test", selected(b)}, {"val", b.best_val_f1}};
    }
    if (!f.quiet) {
      std::string line;
      for (int64_t k = 0; k < d.students; ++k) {
        line += fmt::format("  student{} {:.1f}", k, students[k].test.back());
      }
      fmt::print(
          stderr, "  run {}/{} seed {}:{}  ensemble {:.1f}{} (micro-F1)\n", r + 1, c.runs, seed,
          line, res.ensemble_test_f1,
          d.baseline ? fmt::format("  baseline {:.1f}", baselines[c.model].test.back()) : "");
    }
    runs.push_back(run);
  }
  return finish_distill(call, dir,
                        {.dataset = name,
                         .metric = "micro_f1",
                         .students = students,
                         .teachers = {},
                         .ensemble = &ensemble,
                         .first_arch = c.model,
                         .baselines = baselines,
                         .epoch_ms = epoch_ms,
                         .details = {{"per_run", runs}}});
}

}  // namespace gkd::cli
