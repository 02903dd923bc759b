// gkd distill on a graph-classification folder (TU: stratified k-fold CV; OGB: the scaffold split
// and ROC-AUC), per job (run and fold):
//   online (dml, gml, oc, alignahead, alignahead++): a cohort of graph models, and each student
//     architecture trained alone with the same seed and budget (the baselines);
//   offline (kd, fitnet, lsp, mskd): the teacher (mskd: every teacher of --teachers) trained from
//     its config on the job's training graphs (a checkpoint would have seen other folds' test
//     graphs), then the student with the term against the frozen teachers run on every training
//     batch, and the student alone.
#include <fmt/core.h>
#include <omp.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online_graph.h"
#include "engine/error.h"
#include "models/checkpoint.h"

namespace gkd::cli {

int distill_online_graph(const DistillCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const distill::OnlineOptions online = online_options(d);
  const bool structural =
      online.method != distill::OnlineMethod::kDml && online.method != distill::OnlineMethod::kGml;
  GKD_CHECK(!structural || d.cohort.empty(), "gkd distill --method ", d.method,
            " pairs the students' layers: --cohort (mixed architectures) needs dml or gml");
  // Everything that can fail on bad input happens before the run directory exists.
  const io::GraphDataset data = load_graph_data(c.data);
  GKD_CHECK(!data.samples.empty(), c.data.spec, ": the dataset holds no graphs");
  const bool own_split = !data.train.empty();
  const models::GraphMetric metric =
      own_split ? models::GraphMetric::kRocAuc : models::GraphMetric::kAccuracy;
  const std::vector<std::string> archs = cohort_archs(d, c);
  const auto k_count = static_cast<int64_t>(archs.size());
  // Deep supervision gives the students auxiliary heads; the baselines stay the plain students.
  std::vector<models::GraphModelConfig> configs, baseline_configs;
  std::vector<json> meta_configs;
  for (const std::string& arch : archs) {
    TrainConfig ck = c;
    ck.model = arch;
    baseline_configs.push_back(graph_model_config(ck, data));
    ck.aux_heads = c.aux_heads ||
                   (online.method == distill::OnlineMethod::kAlignaheadPlus && d.aux_weight > 0);
    configs.push_back(graph_model_config(ck, data));
    meta_configs.push_back(train_config_json(ck));
  }
  const std::vector<GraphJob> jobs = graph_jobs(c, data);
  const models::GraphTrainOptions budget = graph_train_options(c, metric);

  RunDir dir(f.out.empty() ? default_run_path(data.name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state
  const char* metric_name = own_split ? "roc_auc" : "accuracy";
  if (!f.quiet) {
    std::string who;
    for (const auto& config : configs) {
      who += (who.empty() ? "" : " + ") + models::GraphModel(config, 0).describe();
    }
    fmt::print(stderr, "gkd distill --method {}: {} ({} graphs, {}) | {} | {}\n", d.method,
               data.name, data.samples.size(),
               own_split ? "the dataset's split" : std::to_string(c.folds) + "-fold CV", who,
               ctx.describe());
  }

  std::vector<ResultStats> students(archs.size());
  ResultStats ensemble;
  std::map<std::string, ResultStats> baselines;
  std::vector<double> epoch_ms;
  json per_job = json::array();
  for (const GraphJob& job : jobs) {
    const uint64_t seed = job.seed * 1000 + static_cast<uint64_t>(job.fold);
    models::GraphTrainOptions o = budget;
    o.seed = seed;
    const std::string job_name = fmt::format("run{}_fold{}", job.run, job.fold);
    o.state = state_file(dir, f, c, call.resolved, job_name + "_cohort");
    std::vector<std::unique_ptr<models::GraphModel>> cohort;
    std::vector<models::GraphModel*> pointers;
    for (int64_t k = 0; k < k_count; ++k) {
      cohort.push_back(
          std::make_unique<models::GraphModel>(configs[k], student_init_seed(d, seed, k)));
      pointers.push_back(cohort.back().get());
    }
    const distill::GraphCohortResult res =
        distill::train_graph_cohort(ctx, pointers, data, job.split, o, online,
                                    [&](int64_t k, const models::GraphEpochMetrics& m) {
                                      json line = graph_epoch_line(job, m);
                                      line["model"] = "student" + std::to_string(k);
                                      dir.append_metrics(line);
                                    });
    report_resumed(f, fmt::format("run {} fold {} cohort", job.run + 1, job.fold + 1),
                   res.students[0].resumed_epoch);
    json entry = {
        {"run", job.run}, {"fold", job.fold}, {"seed", job.seed}, {"students", json::array()}};
    for (int64_t k = 0; k < k_count; ++k) {
      const models::GraphTrainResult& s = res.students[k];
      students[k].test.push_back(s.test);
      students[k].val.push_back(s.best_val);
      entry["students"].push_back({{"test", s.test},
                                   {"val", s.best_val},
                                   {"non_finite", s.non_finite},
                                   {"skipped_steps", s.skipped_steps}});
      report_non_finite(f, fmt::format("run {} fold {} student {}", job.run + 1, job.fold + 1, k),
                        s.non_finite, s.skipped_steps);
      models::save_model(dir.file(fmt::format("run{}_fold{}_student{}.ckpt", job.run, job.fold, k)),
                         models::model_state(*cohort[k]),
                         checkpoint_metadata(meta_configs[k], "graph", data.name, job.run, job.fold,
                                             static_cast<int64_t>(job.seed), s.best_epoch)
                             .dump());
    }
    ensemble.test.push_back(res.ensemble_test);
    ensemble.val.push_back(res.ensemble_val);
    entry["ensemble"] = {{"test", res.ensemble_test}, {"val", res.ensemble_val}};
    entry["students_batched"] = res.batched;
    epoch_ms.push_back(res.median_epoch_ms);
    for (int64_t k = 0; d.baseline && k < k_count; ++k) {
      if (entry.contains("baselines") && entry["baselines"].contains(archs[k])) continue;
      models::GraphModel alone(baseline_configs[k], seed);
      o.state = state_file(dir, f, c, call.resolved, job_name + "_baseline_" + archs[k]);
      const models::GraphTrainResult b =
          models::train_graph_classifier(ctx, alone, data, job.split, o);
      report_resumed(f,
                     fmt::format("run {} fold {} baseline {}", job.run + 1, job.fold + 1, archs[k]),
                     b.resumed_epoch);
      baselines[archs[k]].test.push_back(b.test);
      baselines[archs[k]].val.push_back(b.best_val);
      entry["baselines"][archs[k]] = {{"test", b.test}, {"val", b.best_val}};
    }
    if (!f.quiet) {
      std::string line;
      for (int64_t k = 0; k < k_count; ++k) {
        line += fmt::format("  student{} {:.1f}", k, students[k].test.back());
      }
      fmt::print(
          stderr, "  run {} fold {}:{}  ensemble {:.1f}{}\n", job.run + 1, job.fold + 1, line,
          res.ensemble_test,
          d.baseline ? fmt::format("  baseline {:.1f}", baselines[archs[0]].test.back()) : "");
    }
    per_job.push_back(entry);
  }

  return finish_distill(
      call, dir,
      {.dataset = data.name,
       .metric = metric_name,
       .students = students,
       .teachers = {},
       .ensemble = &ensemble,
       .first_arch = archs[0],
       .baselines = baselines,
       .epoch_ms = epoch_ms,
       .details = {{"protocol", own_split ? "dataset split" : std::to_string(c.folds) + "-fold CV"},
                   {"per_fold", per_job}}});
}

namespace {

// The teachers' training configs: mskd's --teachers list (shallow to deep), else --teacher-config.
// Checkpoints are refused: under cross-validation they would have seen other folds' test graphs.
std::vector<std::string> graph_teacher_configs(const DistillConfig& d) {
  if (d.method != "mskd") {
    GKD_CHECK(!d.teacher_config.empty(), "gkd distill --method ", d.method,
              " on graph classification trains its teacher per fold: use --teacher-config (a "
              "--teacher checkpoint would have seen other folds' test graphs)");
    return {d.teacher_config};
  }
  const std::vector<std::string> configs = comma_list(d.teachers);
  for (const std::string& source : configs) {
    GKD_CHECK(!source.ends_with(".ckpt"),
              "gkd distill --method mskd on graph classification "
              "trains its teachers per fold: --teachers takes training configs only (got ",
              source, "; a checkpoint would have seen other folds' test graphs)");
  }
  return configs;
}

}  // namespace

int distill_offline_graph(const DistillCall& call) {
  using nlohmann::json;
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const bool is_mskd = d.method == "mskd";
  const std::vector<std::string> teacher_sources = graph_teacher_configs(d);
  // Everything that can fail on bad input happens before the run directory exists.
  const io::GraphDataset data = load_graph_data(c.data);
  GKD_CHECK(!data.samples.empty(), c.data.spec, ": the dataset holds no graphs");
  const bool own_split = !data.train.empty();
  const models::GraphMetric metric =
      own_split ? models::GraphMetric::kRocAuc : models::GraphMetric::kAccuracy;
  const models::GraphModelConfig student_config = graph_model_config(c, data);
  struct GraphTeacher {
    models::GraphModelConfig config;
    models::GraphTrainOptions budget;
    json meta;  // its own config on this run's data, seed and runs
  };
  std::vector<GraphTeacher> teachers;
  for (const std::string& source : teacher_sources) {
    TrainConfig train = read_train_config(source);
    const models::GraphModelConfig config = graph_model_config(train, data);
    const models::GraphTrainOptions budget = graph_train_options(train, metric);
    train.data = c.data;
    train.seed = c.seed;
    train.runs = c.runs;
    train.folds = c.folds;
    teachers.push_back({config, budget, train_config_json(train)});
  }
  const distill::OfflineOptions kd = offline_options(d);
  const distill::MskdOptions mskd = mskd_options(d);
  if (is_mskd) {  // validates the layers and options before any training
    std::vector<distill::TeacherOutputs> shapes;
    for (const GraphTeacher& t : teachers) {
      shapes.push_back({.logits = Tensor::zeros(0, t.config.out_dim, DType::kF32),
                        .hidden = {Tensor::zeros(0, hidden_width(t.config), DType::kF32)}});
    }
    distill::MskdDistiller(mskd, std::move(shapes),
                           Tensor::zeros(0, student_config.out_dim, DType::kF32),
                           student_config.layers, c.epochs);
  } else {
    distill::OfflineDistiller(kd, teachers.front().config, student_config, 0);
  }
  const std::vector<GraphJob> jobs = graph_jobs(c, data);
  const models::GraphTrainOptions budget = graph_train_options(c, metric);
  const json student_meta = train_config_json(c);

  RunDir dir(f.out.empty() ? default_run_path(data.name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state
  const char* metric_name = own_split ? "roc_auc" : "accuracy";
  if (!f.quiet) {
    std::string who;
    for (const GraphTeacher& t : teachers) {
      who += (who.empty() ? "" : " + ") + models::GraphModel(t.config, 0).describe();
    }
    fmt::print(stderr,
               "gkd distill --method {}: {} ({} graphs, {}) | student {} | teacher {} | {}\n",
               d.method, data.name, data.samples.size(),
               own_split ? "the dataset's split" : std::to_string(c.folds) + "-fold CV",
               models::GraphModel(student_config, 0).describe(), who, ctx.describe());
  }

  std::vector<ResultStats> teacher_stats(teachers.size());
  ResultStats student_stats;
  std::map<std::string, ResultStats> baselines;
  std::vector<double> epoch_ms;
  json per_job = json::array();
  for (const GraphJob& job : jobs) {
    const uint64_t seed = job.seed * 1000 + static_cast<uint64_t>(job.fold);
    const std::string job_name = fmt::format("run{}_fold{}", job.run, job.fold);
    const auto log = [&](std::string role) {
      return [&, role](const models::GraphEpochMetrics& m) {
        json line = graph_epoch_line(job, m);
        line["model"] = role;
        dir.append_metrics(line);
      };
    };
    const auto save = [&](const models::GraphModel& m, const std::string& role, const json& config,
                          int64_t best_epoch) {
      models::save_model(dir.file(job_name + "_" + role + ".ckpt"), models::model_state(m),
                         checkpoint_metadata(config, "graph", data.name, job.run, job.fold,
                                             static_cast<int64_t>(job.seed), best_epoch)
                             .dump());
    };
    // The teachers, each trained on the job's training graphs with its own config, then frozen.
    std::vector<std::unique_ptr<models::GraphModel>> trained;
    std::vector<const models::GraphModel*> frozen;
    json teacher_runs = json::array();
    for (size_t k = 0; k < teachers.size(); ++k) {
      const std::string role = teachers.size() > 1 ? "teacher" + std::to_string(k) : "teacher";
      models::GraphTrainOptions to = teachers[k].budget;
      to.seed = seed;
      to.state = state_file(dir, f, c, call.resolved, job_name + "_" + role);
      trained.push_back(std::make_unique<models::GraphModel>(teachers[k].config, seed));
      const models::GraphTrainResult t =
          models::train_graph_classifier(ctx, *trained.back(), data, job.split, to, log(role));
      report_resumed(f, fmt::format("run {} fold {} {}", job.run + 1, job.fold + 1, role),
                     t.resumed_epoch);
      save(*trained.back(), role, teachers[k].meta, t.best_epoch);
      frozen.push_back(trained.back().get());
      teacher_stats[k].test.push_back(t.test);
      teacher_stats[k].val.push_back(t.best_val);
      teacher_runs.push_back({{"test", t.test}, {"val", t.best_val}});
    }

    models::GraphTrainOptions o = budget;
    o.seed = seed;
    o.state = state_file(dir, f, c, call.resolved, job_name + "_student");
    models::GraphModel student(student_config, seed);
    std::unique_ptr<distill::OfflineDistiller> single;
    std::unique_ptr<distill::MskdDistiller> multi;
    models::GraphExtraLoss extra;
    if (is_mskd) {
      // The code weights come from the untrained student and the teachers on the first batch of
      // epoch 1, as the official code does on its first minibatch.
      const io::GraphBatch first =
          io::make_batch(data, models::epoch_batches(job.split.train, o, 1).front());
      std::vector<distill::TeacherOutputs> outputs;
      for (const models::GraphModel* t : frozen) {
        outputs.push_back(distill::run_teacher(ctx, *t, first));
      }
      const Tensor initial = distill::run_teacher(ctx, student, first).logits;
      multi = std::make_unique<distill::MskdDistiller>(mskd, std::move(outputs), initial,
                                                       student_config.layers, c.epochs);
      extra = multi->graph_extra_loss(frozen);
    } else {
      single = std::make_unique<distill::OfflineDistiller>(kd, teachers.front().config,
                                                           student_config, seed);
      extra = single->graph_extra_loss(*frozen.front());
    }
    const models::GraphTrainResult s =
        models::train_graph_classifier(ctx, student, data, job.split, o, log("student"), extra);
    report_resumed(f, fmt::format("run {} fold {} student", job.run + 1, job.fold + 1),
                   s.resumed_epoch);
    save(student, "student", student_meta, s.best_epoch);
    student_stats.test.push_back(s.test);
    student_stats.val.push_back(s.best_val);
    epoch_ms.push_back(s.median_epoch_ms);
    json entry = {{"run", job.run},
                  {"fold", job.fold},
                  {"seed", job.seed},
                  {"teacher", teacher_runs.back()},
                  {"student", {{"test", s.test}, {"val", s.best_val}}},
                  {"student_epoch_ms_median", s.median_epoch_ms}};
    if (is_mskd) {
      entry["teachers"] = teacher_runs;
      entry["teacher_weights"] = multi->teacher_weights();
    }
    if (d.baseline) {
      models::GraphModel alone(student_config, seed);
      o.state = state_file(dir, f, c, call.resolved, job_name + "_baseline");
      const models::GraphTrainResult b =
          models::train_graph_classifier(ctx, alone, data, job.split, o, log("baseline"));
      report_resumed(f, fmt::format("run {} fold {} baseline", job.run + 1, job.fold + 1),
                     b.resumed_epoch);
      baselines[c.model].test.push_back(b.test);
      baselines[c.model].val.push_back(b.best_val);
      entry["baseline"] = {{"test", b.test}, {"val", b.best_val}};
    }
    if (!f.quiet) {
      fmt::print(
          stderr, "  run {} fold {}: teacher {:.1f}  student {:.1f}{}\n", job.run + 1, job.fold + 1,
          teacher_stats.back().test.back(), s.test,
          d.baseline ? fmt::format("  baseline {:.1f}", baselines[c.model].test.back()) : "");
    }
    per_job.push_back(entry);
  }

  return finish_distill(
      call, dir,
      {.dataset = data.name,
       .metric = metric_name,
       .students = {student_stats},
       .teachers = teacher_stats,
       .ensemble = nullptr,
       .first_arch = c.model,
       .baselines = baselines,
       .epoch_ms = epoch_ms,
       .details = {{"protocol", own_split ? "dataset split" : std::to_string(c.folds) + "-fold CV"},
                   {"per_fold", per_job}}});
}

}  // namespace gkd::cli
