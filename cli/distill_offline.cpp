// gkd distill, offline methods (kd, fitnet, lsp): per seed the teacher is trained (or loaded),
// the student is trained with the distillation term, and the same student alone (the baseline).
#include <fmt/core.h>
#include <omp.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "distill/offline.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"

namespace gkd::cli {

namespace {

using nlohmann::json;

// The teacher's training config, read like gkd train reads --config.
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

}  // namespace

int distill_offline(const DistillCall& call) {
  const TrainConfig& c = call.config;
  const DistillConfig& d = call.distill;
  const TrainFlags& f = call.flags;
  const Context& ctx = call.ctx;
  // Everything that can fail on bad input happens before the run directory exists.
  io::NodeDataset data = load_node_data(c.data, static_cast<uint64_t>(c.seed));
  const models::ModelConfig student_config = node_model_config(c, data.x.cols(), data.num_classes);
  TrainConfig teacher_train;
  std::unique_ptr<models::Model> loaded_teacher;
  if (!d.teacher.empty()) {
    const CheckpointInfo info = read_checkpoint_info(d.teacher);
    GKD_CHECK(info.task == "node", d.teacher, ": field metadata.task: '", info.task,
              "' (expected a node-classification checkpoint)");
    teacher_train = info.config;
    loaded_teacher = std::make_unique<models::Model>(
        node_model_config(teacher_train, data.x.cols(), data.num_classes), 0);
    models::load_model(d.teacher, models::model_state(*loaded_teacher));
  } else {
    teacher_train = read_train_config(d.teacher_config);
  }
  const models::ModelConfig teacher_config =
      node_model_config(teacher_train, data.x.cols(), data.num_classes);
  // Checkpoint metadata: gkd train configs, so that gkd eval (or a later --teacher) can rebuild
  // each model on this run's data and split.
  TrainConfig teacher_as_run = teacher_train;
  teacher_as_run.data = c.data;
  teacher_as_run.seed = c.seed;
  teacher_as_run.runs = c.runs;
  const json teacher_meta_config = train_config_json(teacher_as_run);
  const json student_meta_config = train_config_json(c);
  const distill::OfflineOptions kd{.method = distill::method_from_string(d.method),
                                   .weight = d.weight,
                                   .temperature = d.temperature,
                                   .student_layer = d.student_layer,
                                   .teacher_layer = d.teacher_layer,
                                   .kernel = kernel_of(d),
                                   .start_epoch = d.kd_start,
                                   .end_epoch = d.kd_end};
  {  // the layer choices and widths, checked on empty teacher outputs before any training
    distill::TeacherOutputs shapes{.logits = Tensor::zeros(0, teacher_config.out_dim, DType::kF32),
                                   .hidden = {}};
    for (int64_t l = 0; l + 1 < teacher_config.layers; ++l) {
      shapes.hidden.push_back(Tensor::zeros(0, models::hidden_width(teacher_config), DType::kF32));
    }
    distill::OfflineDistiller check(kd, std::move(shapes), student_config, 0);
  }

  RunDir dir(f.out.empty() ? default_run_path(data.name, d.method) : f.out);
  dir.write_json("config.json", call.resolved);
  std::vector<int64_t> seeds;
  for (int64_t r = 0; r < c.runs; ++r) seeds.push_back(c.seed + r);
  json manifest = make_manifest(ctx, call.argc, call.argv, seeds);
  manifest["command"] = "distill";
  dir.write_json("manifest.json", manifest);

  const bool quiet = f.quiet;
  if (!quiet) {
    fmt::print(stderr, "gkd distill --method {}: {} | student {} | teacher {} | {}\n", d.method,
               data.name, models::Model(student_config, 0).describe(),
               models::Model(teacher_config, 0).describe(), ctx.describe());
  }
  ResultStats teacher_stats, student_stats, baseline_stats;
  std::vector<double> epoch_ms;
  json runs = json::array();
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    if (r > 0 && c.data.split == "per-class") data = load_node_data(c.data, seed);
    const auto log = [&](const char* role) {
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
    // The teacher: loaded once, or trained with its own config and this run's seed.
    std::unique_ptr<models::Model> trained_teacher;
    json teacher_run;
    if (!loaded_teacher) {
      trained_teacher = std::make_unique<models::Model>(teacher_config, seed);
      const models::NodeTrainResult t = models::train_node_classifier(
          ctx, *trained_teacher, data, node_train_options(teacher_train, seed), log("teacher"));
      models::save_model(dir.file(fmt::format("run{}_teacher.ckpt", r)),
                         models::model_state(*trained_teacher),
                         checkpoint_metadata(teacher_meta_config, "node", data.name, r, 0,
                                             static_cast<int64_t>(seed), t.best_epoch)
                             .dump());
      teacher_stats.test.push_back(t.test_acc);
      teacher_stats.val.push_back(t.best_val_acc);
      teacher_run = {{"test", t.test_acc}, {"val", t.best_val_acc}};
    }
    const models::Model& teacher = loaded_teacher ? *loaded_teacher : *trained_teacher;
    distill::TeacherOutputs outputs = distill::run_teacher(ctx, teacher, data);
    if (loaded_teacher) {  // score the loaded teacher on this run's split
      const Tensor logits = outputs.logits.to(Device::kCPU);
      teacher_stats.test.push_back(models::accuracy(logits, data.y, data.test_mask));
      teacher_stats.val.push_back(models::accuracy(logits, data.y, data.val_mask));
      teacher_run = {{"test", teacher_stats.test.back()}, {"val", teacher_stats.val.back()}};
    }

    const models::NodeTrainOptions to = node_train_options(c, seed);
    models::Model student(student_config, seed);
    distill::OfflineDistiller distiller(kd, std::move(outputs), student_config, seed);
    const models::NodeTrainResult s = models::train_node_classifier(
        ctx, student, data, to, log("student"), distiller.extra_loss(data.graph));
    student_stats.test.push_back(s.test_acc);
    student_stats.val.push_back(s.best_val_acc);
    epoch_ms.push_back(s.median_step_ms);
    models::save_model(dir.file(fmt::format("run{}_student.ckpt", r)), models::model_state(student),
                       checkpoint_metadata(student_meta_config, "node", data.name, r, 0,
                                           static_cast<int64_t>(seed), s.best_epoch)
                           .dump());
    json run = {{"seed", seed},
                {"teacher", teacher_run},
                {"student", {{"test", s.test_acc}, {"val", s.best_val_acc}}},
                {"student_epoch_ms_median", s.median_step_ms}};
    if (d.baseline) {
      models::Model alone(student_config, seed);
      const models::NodeTrainResult b =
          models::train_node_classifier(ctx, alone, data, to, log("baseline"));
      baseline_stats.test.push_back(b.test_acc);
      baseline_stats.val.push_back(b.best_val_acc);
      run["baseline"] = {{"test", b.test_acc}, {"val", b.best_val_acc}};
    }
    if (!quiet) {
      fmt::print(stderr, "  run {}/{} seed {}: teacher {:.1f}%  student {:.1f}%{}\n", r + 1, c.runs,
                 seed, teacher_stats.test.back(), s.test_acc,
                 d.baseline ? fmt::format("  baseline {:.1f}%", baseline_stats.test.back()) : "");
    }
    runs.push_back(run);
  }

  json summary = {{"command", "distill"},
                  {"method", d.method},
                  {"dataset", data.name},
                  {"metric", "accuracy"},
                  {"runs", c.runs},
                  {"students", json::array({student_stats.summary()})},
                  {"teacher", teacher_stats.summary()},
                  {"epoch_ms_median", median(epoch_ms)},
                  {"device", ctx.describe()},
                  {"threads", omp_get_max_threads()},
                  {"per_run", runs},
                  {"run_dir", dir.path()}};
  if (d.baseline) summary["baseline"] = baseline_stats.summary();
  dir.write_json("summary.json", summary);
  dir.commit();
  if (!quiet) {
    fmt::print(stderr,
               "{} {}: student {:.2f} ± {:.2f}%{} (teacher {:.2f} ± {:.2f}%) over {} run(s); run "
               "directory {}\n",
               data.name, d.method, mean(student_stats.test), stddev(student_stats.test),
               d.baseline ? fmt::format(", baseline {:.2f} ± {:.2f}%", mean(baseline_stats.test),
                                        stddev(baseline_stats.test))
                          : "",
               mean(teacher_stats.test), stddev(teacher_stats.test), c.runs, dir.path());
  }
  if (f.json) fmt::print("{}\n", summary.dump());
  return 0;
}

}  // namespace gkd::cli
