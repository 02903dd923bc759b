// gkd distill, offline methods (kd, fitnet, lsp, mskd): per seed the teacher(s) are trained (or
// loaded), the student is trained with the distillation term, and the same student alone (the
// baseline).
#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"

namespace gkd::cli {

using nlohmann::json;

TrainConfig read_train_config(const std::string& path) {
  TrainConfig c;
  OptionTable t = make_train_table(c);
  std::ifstream in(path);
  GKD_CHECK(in.good(), path, ": cannot be read");
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  GKD_CHECK(!j.is_discarded(), path, ": not valid JSON");
  t.apply_json(j, path);
  return c;
}

TeacherSpec teacher_spec(const std::string& source, bool checkpoint, const TrainConfig& student,
                         const std::string& task, int64_t in_dim, int64_t classes) {
  TeacherSpec t;
  if (checkpoint) {
    const CheckpointInfo info = read_checkpoint_info(source);
    GKD_CHECK(info.task == task, source, ": field metadata.task: '", info.task, "' (expected '",
              task, "', a checkpoint of this kind of task)");
    t.train = info.config;
  } else {
    t.train = read_train_config(source);
  }
  t.config = node_model_config(t.train, in_dim, classes);
  if (checkpoint) {
    t.loaded = std::make_unique<models::Model>(t.config, 0);
    models::load_model(source, models::model_state(*t.loaded));
  }
  // Checkpoint metadata: gkd train configs, so that gkd eval (or a later --teacher) can rebuild
  // the model on this run's data and split.
  TrainConfig as_run = t.train;
  as_run.data = student.data;
  as_run.seed = student.seed;
  as_run.runs = student.runs;
  t.meta_config = train_config_json(as_run);
  return t;
}

namespace {

// Empty outputs of the teacher's shapes, to validate layer choices before any training.
distill::TeacherOutputs empty_outputs(const models::ModelConfig& config) {
  distill::TeacherOutputs shapes{.logits = Tensor::zeros(0, config.out_dim, DType::kF32),
                                 .hidden = {}};
  for (int64_t l = 0; l + 1 < config.layers; ++l) {
    shapes.hidden.push_back(Tensor::zeros(0, models::hidden_width(config), DType::kF32));
  }
  return shapes;
}

}  // namespace

std::vector<TeacherSpec> teacher_specs(const DistillConfig& d, const TrainConfig& c,
                                       const std::string& task, int64_t in_dim, int64_t classes) {
  std::vector<TeacherSpec> teachers;
  if (d.method != "mskd") {
    const bool ckpt = !d.teacher.empty();
    teachers.push_back(
        teacher_spec(ckpt ? d.teacher : d.teacher_config, ckpt, c, task, in_dim, classes));
    return teachers;
  }
  for (const std::string& source : comma_list(d.teachers)) {
    teachers.push_back(teacher_spec(source, source.ends_with(".ckpt"), c, task, in_dim, classes));
  }
  return teachers;
}

distill::OfflineOptions offline_options(const DistillConfig& d) {
  return {
      .method = d.method == "mskd" ? distill::Method::kLsp : distill::method_from_string(d.method),
      .weight = d.weight,
      .temperature = d.temperature,
      .student_layer = d.student_layer,
      .teacher_layer = d.teacher_layer,
      .kernel = kernel_of(d),
      .start_epoch = d.kd_start,
      .end_epoch = d.kd_end};
}

distill::MskdOptions mskd_options(const DistillConfig& d) {
  return {.weighting = d.mskd_weighting == "node-attention" ? distill::MskdWeighting::kNodeAttention
                                                            : distill::MskdWeighting::kCode,
          .lambda = d.mskd_lambda,
          .stage_epochs = d.stage_epochs,
          .warmup = d.mskd_warmup,
          .attention_temperature = d.attention_temperature,
          .student_layer = d.student_layer,
          .kernel = kernel_of(d)};
}

void check_mskd(const distill::MskdOptions& options, const std::vector<TeacherSpec>& teachers,
                const models::ModelConfig& student, int64_t epochs) {
  std::vector<distill::TeacherOutputs> shapes;
  for (const TeacherSpec& t : teachers) shapes.push_back(empty_outputs(t.config));
  distill::MskdDistiller(options, std::move(shapes), Tensor::zeros(0, student.out_dim, DType::kF32),
                         student.layers - 1, epochs);
}

int distill_offline(const DistillCall& call) {
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  const bool is_mskd = d.method == "mskd";
  // Everything that can fail on bad input happens before the run directory exists.
  io::NodeDataset data = load_node_data(c.data, static_cast<uint64_t>(c.seed));
  const models::ModelConfig student_config = node_model_config(c, data.x.cols(), data.num_classes);
  const std::vector<TeacherSpec> teachers =
      teacher_specs(d, c, "node", data.x.cols(), data.num_classes);
  const json student_meta_config = train_config_json(c);
  const distill::OfflineOptions kd = offline_options(d);
  const distill::MskdOptions mskd = mskd_options(d);
  // The layer choices and widths, checked before any training.
  if (is_mskd) {
    check_mskd(mskd, teachers, student_config, c.epochs);
  } else {
    distill::OfflineDistiller check(kd, teachers.front().config, student_config, 0);
  }

  // Teachers train one at a time, then the student (the teachers' outputs it reads are small).
  for (const TeacherSpec& t : teachers) check_node_memory(ctx, data, {t.config});
  check_node_memory(ctx, data, {student_config});
  RunDir dir(f.out.empty() ? default_run_path(data.name, d.method) : f.out,
             f.resume.empty() ? RunDir::Mode::kCreate : RunDir::Mode::kResume);
  write_run_header(dir, "distill", call.resolved, c, ctx, call.argc, call.argv);
  dir.keep_on_failure();  // from here on the run dir holds resumable state

  const bool quiet = f.quiet;
  if (!quiet) {
    std::string who;
    for (const TeacherSpec& t : teachers) {
      who += (who.empty() ? "" : " + ") + models::Model(t.config, 0).describe();
    }
    fmt::print(stderr, "gkd distill --method {}: {} | student {} | teacher {} | {}\n", d.method,
               data.name, models::Model(student_config, 0).describe(), who, ctx.describe());
  }
  std::vector<ResultStats> teacher_stats(teachers.size());
  ResultStats student_stats;
  std::map<std::string, ResultStats> baselines;  // the student's architecture alone
  std::vector<double> epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    if (r > 0 && c.data.split == "per-class") data = load_node_data(c.data, seed);
    const auto log = [&](std::string role) {
      return [&, role](const models::EpochMetrics& m) {
        dir.append_metrics({{"run", r},
                            {"seed", seed},
                            {"model", role},
                            {"epoch", m.epoch},
                            {"train_loss", m.train_loss},
                            {"val_acc", m.val_acc},
                            {"test_acc", m.test_acc},
                            {"step_ms", m.step_ms}});
      };
    };
    // The teachers: loaded once, or trained with their own configs and this run's seed.
    std::vector<distill::TeacherOutputs> outputs;
    json teacher_runs = json::array();
    for (size_t k = 0; k < teachers.size(); ++k) {
      const TeacherSpec& t = teachers[k];
      const std::string role = teachers.size() > 1 ? "teacher" + std::to_string(k) : "teacher";
      std::unique_ptr<models::Model> trained;
      if (!t.loaded) {
        trained = std::make_unique<models::Model>(t.config, seed);
        models::NodeTrainOptions teacher_options = node_train_options(t.train, seed);
        teacher_options.state =
            state_file(dir, f, c, call.resolved, fmt::format("run{}_{}", r, role));
        const models::NodeTrainResult tr =
            models::train_node_classifier(ctx, *trained, data, teacher_options, log(role));
        report_resumed(f, fmt::format("run {} {}", r + 1, role), tr.resumed_epoch);
        models::save_model(dir.file(fmt::format("run{}_{}.ckpt", r, role)),
                           models::model_state(*trained),
                           checkpoint_metadata(t.meta_config, "node", data.name, r, 0,
                                               static_cast<int64_t>(seed), tr.best_epoch)
                               .dump());
      }
      outputs.push_back(distill::run_teacher(ctx, t.loaded ? *t.loaded : *trained, data));
      // Scored on this run's split from its outputs (the best-validation state).
      const Tensor logits = outputs.back().logits.to(Device::kCPU);
      teacher_stats[k].test.push_back(models::accuracy(logits, data.y, data.test_mask));
      teacher_stats[k].val.push_back(models::accuracy(logits, data.y, data.val_mask));
      teacher_runs.push_back(
          {{"test", teacher_stats[k].test.back()}, {"val", teacher_stats[k].val.back()}});
    }

    models::NodeTrainOptions to = node_train_options(c, seed);
    to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_student", r));
    models::Model student(student_config, seed);
    std::unique_ptr<distill::OfflineDistiller> single;
    std::unique_ptr<distill::MskdDistiller> multi;
    models::ExtraLoss extra;
    json mskd_weights;
    if (is_mskd) {
      // The code's teacher weights come from the untrained student's logits.
      autograd::Tape tape(ctx);
      autograd::NoGrad no_grad(tape);
      const Tensor initial = student
                                 .forward(tape, data.graph.to(ctx.device()),
                                          data.x.to(ctx.device()), {.training = false})
                                 .logits.value();
      multi = std::make_unique<distill::MskdDistiller>(mskd, std::move(outputs), initial,
                                                       student_config.layers - 1, c.epochs);
      extra = multi->extra_loss(data.graph);
      mskd_weights = multi->teacher_weights();
    } else {
      single = std::make_unique<distill::OfflineDistiller>(kd, teachers.front().config,
                                                           student_config, seed);
      extra = single->extra_loss(data.graph, std::move(outputs.front()));
    }
    const models::NodeTrainResult s =
        models::train_node_classifier(ctx, student, data, to, log("student"), extra);
    report_resumed(f, fmt::format("run {} student", r + 1), s.resumed_epoch);
    student_stats.test.push_back(s.test_acc);
    student_stats.val.push_back(s.best_val_acc);
    epoch_ms.push_back(s.median_step_ms);
    models::save_model(dir.file(fmt::format("run{}_student.ckpt", r)), models::model_state(student),
                       checkpoint_metadata(student_meta_config, "node", data.name, r, 0,
                                           static_cast<int64_t>(seed), s.best_epoch)
                           .dump());
    json run = {{"seed", seed},
                {"teacher", teacher_runs.back()},
                {"student", {{"test", s.test_acc}, {"val", s.best_val_acc}}},
                {"student_epoch_ms_median", s.median_step_ms}};
    if (is_mskd) {
      run["teachers"] = teacher_runs;
      run["teacher_weights"] = mskd_weights;
    }
    if (d.baseline) {
      models::Model alone(student_config, seed);
      to.state = state_file(dir, f, c, call.resolved, fmt::format("run{}_baseline", r));
      const models::NodeTrainResult b =
          models::train_node_classifier(ctx, alone, data, to, log("baseline"));
      report_resumed(f, fmt::format("run {} baseline", r + 1), b.resumed_epoch);
      baselines[c.model].test.push_back(b.test_acc);
      baselines[c.model].val.push_back(b.best_val_acc);
      run["baseline"] = {{"test", b.test_acc}, {"val", b.best_val_acc}};
    }
    if (!quiet) {
      fmt::print(
          stderr, "  run {}/{} seed {}: teacher {:.1f}%  student {:.1f}%{}\n", r + 1, c.runs, seed,
          teacher_stats.back().test.back(), s.test_acc,
          d.baseline ? fmt::format("  baseline {:.1f}%", baselines[c.model].test.back()) : "");
    }
    runs.push_back(run);
  }

  return finish_distill(call, dir,
                        {.dataset = data.name,
                         .metric = "accuracy",
                         .students = {student_stats},
                         .teachers = teacher_stats,
                         .ensemble = nullptr,
                         .first_arch = c.model,
                         .baselines = baselines,
                         .epoch_ms = epoch_ms,
                         .details = {{"per_run", runs}}});
}

}  // namespace gkd::cli
