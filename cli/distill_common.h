// What the gkd distill paths share: the method options (added to gkd train's option table) and
// the resolved call.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions_graph.h"
#include "cli/run_dir.h"
#include "cli/train_common.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online.h"

namespace gkd::cli {

struct DistillConfig {
  std::string method = "kd";
  // offline
  std::string teacher;         // checkpoint path
  std::string teacher_config;  // gkd train config
  int64_t student_layer = -1;
  int64_t teacher_layer = -1;
  int64_t kd_start = 1;
  int64_t kd_end = 0;
  // mskd
  std::string teachers;  // comma-separated, shallow to deep; .ckpt entries are checkpoints
  std::string mskd_weighting = "code";
  double mskd_lambda = 7.0;
  int64_t stage_epochs = 0;
  int64_t mskd_warmup = 80;
  double attention_temperature = 1.0;
  // both
  double weight = 1.0;
  double temperature = 2.0;
  std::string kernel = "l1-exp";
  double kernel_tau = 100.0;
  double kernel_sigma = 1.0;
  bool baseline = true;
  // online
  int64_t students = 2;
  std::string schedule = "simultaneous";
  int64_t shift = 1;
  bool same_init = false;
  double feature_weight = 1.0;
  std::string feature_distance = "mse";
  double aux_weight = 1.0;
  double entropy_weight = 0.1;
  int64_t alw_rank = 8;
  std::string cohort;  // comma-separated architectures (mixed cohorts), or empty
  std::string batch_students = "auto";
};

bool is_online_method(const std::string& method);
// The entries of a comma-separated option (--cohort, --teachers); none for an empty one.
std::vector<std::string> comma_list(const std::string& list);
// The cohort's architectures: --cohort a,b,... (each checked) or --students copies of --model.
std::vector<std::string> cohort_archs(const DistillConfig& distill, const TrainConfig& config);
autograd::StructureKernel kernel_of(const DistillConfig& config);
distill::OnlineOptions online_options(const DistillConfig& config);
// Student k of a cohort starts as its baseline does (the run's seed); with several students of
// one architecture the others take their own seeds, unless same_init.
uint64_t student_init_seed(const DistillConfig& config, uint64_t seed, int64_t k);

// Test and val accuracy of one model role over runs, and its summary object.
struct ResultStats {
  std::vector<double> test, val;
  nlohmann::json summary() const {
    return {{"test_mean", mean(test)}, {"test_std", stddev(test)}, {"val_mean", mean(val)}};
  }
};

// What every gkd distill path reports. summary.json and --json get the common keys (command,
// method, dataset, metric, runs, students, epoch_ms_median, device, threads, run_dir), "teacher"
// (the last teacher) and "teachers" (MSKD) when there are teachers, "ensemble" for cohorts,
// "baseline" (the first student's architecture alone) and "baselines" (per architecture), plus
// `details` (per_run or per_fold, protocol).
struct DistillReport {
  std::string dataset, metric;
  std::vector<ResultStats> students;
  std::vector<ResultStats> teachers;      // offline: shallow to deep; empty for cohorts
  const ResultStats* ensemble = nullptr;  // cohorts
  std::string first_arch;                 // the key of "baseline" in baselines
  std::map<std::string, ResultStats> baselines;
  std::vector<double> epoch_ms;
  nlohmann::json details = nlohmann::json::object();
};

// An offline teacher: its gkd train config (from --teacher-config, or a checkpoint's metadata of
// `task`: "node" or "ppi"), its model config on data of in_dim features and `classes` outputs,
// the model when loaded from a checkpoint (else trained per run), and the gkd train config its
// checkpoints record (the teacher's own config on this run's data, seed and runs).
struct TeacherSpec {
  TrainConfig train;
  models::ModelConfig config;
  std::unique_ptr<models::Model> loaded;
  nlohmann::json meta_config;
};
// A teacher's training config, read like gkd train reads --config.
TrainConfig read_train_config(const std::string& path);
TeacherSpec teacher_spec(const std::string& source, bool checkpoint, const TrainConfig& student,
                         const std::string& task, int64_t in_dim, int64_t classes);
// The teachers of an offline method: mskd's --teachers list (shallow to deep; .ckpt entries are
// checkpoints), else the one --teacher checkpoint or --teacher-config.
std::vector<TeacherSpec> teacher_specs(const DistillConfig& distill, const TrainConfig& student,
                                       const std::string& task, int64_t in_dim, int64_t classes);
// The offline term's options (mskd: LSP's, which it distils per teacher).
distill::OfflineOptions offline_options(const DistillConfig& config);
distill::MskdOptions mskd_options(const DistillConfig& config);
// Validates the MSKD layer choices and widths against the teachers' configs before any training.
void check_mskd(const distill::MskdOptions& options, const std::vector<TeacherSpec>& teachers,
                const models::ModelConfig& student, int64_t epochs);

struct DistillCall;
// Writes summary.json, commits the run directory, prints the closing line (unless --quiet) and
// the summary (with --json). Returns the exit code, 0.
int finish_distill(const DistillCall& call, RunDir& dir, const DistillReport& report);

struct DistillCall {
  const TrainConfig& config;
  const DistillConfig& distill;
  const nlohmann::json& resolved;  // the whole option table, for config.json
  const TrainFlags& flags;
  const Context& ctx;
  int argc;
  char** argv;
};
int distill_offline(const DistillCall& call);
int distill_online(const DistillCall& call);
int distill_online_graph(const DistillCall& call);   // dml, gml on a TU or OGB folder
int distill_offline_graph(const DistillCall& call);  // kd, fitnet, lsp on a TU or OGB folder
int distill_ppi(const DistillCall& call);            // kd, fitnet, lsp, mskd on a PPI folder
int distill_online_ppi(const DistillCall& call);     // oc, alignahead(++) on a PPI folder

}  // namespace gkd::cli
