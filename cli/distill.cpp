// gkd distill: offline distillation from a frozen teacher on node classification. Per seed it
// trains (or loads) the teacher, trains the student with the distillation term, and trains the
// same student architecture alone with the same seed and budget (the baseline), then reports all
// three. Options: those of gkd train (they describe the student and the training budget) plus the
// method's.
#include <fmt/core.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/distill_common.h"
#include "cli/run_dir.h"
#include "cli/train_common.h"
#include "distill/offline.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/model.h"

namespace gkd::cli {

namespace {

using nlohmann::json;

constexpr const char* kHeader = R"(usage: gkd distill [--method M] [--config FILE.json] [options]

Distillation on node classification (one graph, or PPI's graphs: kd, fitnet, lsp, mskd, oc,
alignahead, alignahead++) and graph classification (every method; the teachers are trained per
fold from --teacher-config or mskd's --teachers configs, and the structure terms run over the
message-passing layers' node states). Without arguments: a demo, an Alignahead cohort of two
3-layer GCNs on the built-in synthetic graph against one GCN trained alone.

Offline (frozen teachers: trained from --teacher-config per run, or loaded from --teacher, a
gkd train checkpoint), one student trained with cross-entropy + weight x the method's term:
  kd      T^2 KL(teacher || student) of temperature-softened outputs over every node (Hinton)
  fitnet  MSE between a learned projection of a student hidden layer and a teacher hidden layer
  lsp     KL(teacher || student) of local structures over in-edges (LSP; --kernel)
  mskd    LSP from several teachers of different depth (--teachers, shallow to deep): the
          official code's staged curriculum and weights, or per-node attention
Online (no teacher), a cohort of --students students (or --cohort gcn,gat,...) trained together:
  dml           T^2 KL(peer || student) of the outputs (deep mutual learning)
  oc            local-structure KL between the same hidden layers of student and peer
  alignahead    ... between layer t and the peer's layer t + --shift (cyclic)
  alignahead++  alignahead + feature alignment (--feature-weight) + deep supervision
                (--aux-weight; the students get auxiliary heads)
  gml           dml on adaptively weighted logits (--alw-rank) minus --entropy-weight x the
                student's prediction entropy; mixed cohorts with --cohort gcn,gat,sage
Each run also trains the same student alone with the same seed and budget (the baseline, unless
--baseline false). Reports test accuracy at the best validation epoch of every model (and of the
cohort's ensemble). The students and the budget take gkd train's options.

  --config FILE          a JSON object of options (configs/ ships one per reported result)
  --out DIR              the run directory (default runs/<dataset>-<method>-<time>)
  --json                 print one summary object on stdout
  --quiet                no progress on stderr
  --threads N            OpenMP threads
  --resume DIR           continue the killed run DIR (its DIR.partial) from its state files;
                         ends as the uninterrupted run would
)";

void add_distill_options(OptionTable& t, DistillConfig& d) {
  t.add("method", &d.method,
        {"kd", "fitnet", "lsp", "mskd", "dml", "oc", "alignahead", "alignahead++", "gml"},
        "distillation method");
  t.add("teacher", &d.teacher, {},
        "a teacher checkpoint from gkd train (loaded once; a relative path is looked up from the "
        "working directory, then beside --config)");
  t.add("teacher_config", &d.teacher_config, {},
        "a gkd train config: the teacher is trained per run with that run's seed (path lookup "
        "as --teacher)");
  t.add("weight", &d.weight, 0.0, 1e6, "weight of the distillation term");
  t.add("temperature", &d.temperature, 1e-3, 1e3, "kd: softmax temperature");
  t.add("student_layer", &d.student_layer, -1000,
        "fitnet/lsp: student hidden layer (negative: from the end)");
  t.add("teacher_layer", &d.teacher_layer, -1000,
        "fitnet/lsp: teacher hidden layer (negative: from the end)");
  t.add("kernel", &d.kernel, {"l1-exp", "linear", "poly", "rbf", "cosine"},
        "lsp: exp(-|h_u-h_v|_1/tau) (official code), <h_u,h_v>, (<h_u,h_v>+1)^2, "
        "exp(-|h_u-h_v|^2/2sigma^2), cosine");
  t.add("kernel_tau", &d.kernel_tau, 1e-9, 1e9, "lsp l1-exp kernel: tau");
  t.add("kernel_sigma", &d.kernel_sigma, 1e-9, 1e9, "lsp rbf kernel: sigma");
  t.add("kd_start", &d.kd_start, 1, "first epoch with the distillation term");
  t.add("kd_end", &d.kd_end, 0, "last epoch with the distillation term (0: the last epoch)");
  t.add("teachers", &d.teachers, {},
        "mskd: teachers shallow to deep, comma-separated gkd train configs or .ckpt checkpoints");
  t.add("mskd_weighting", &d.mskd_weighting, {"code", "node-attention"},
        "mskd: the official code's staged curriculum with per-teacher weights, or per-node "
        "attention over all teachers");
  t.add("mskd_lambda", &d.mskd_lambda, 0.0, 1e6,
        "mskd: lambda (code: weights = round(lambda softmax(alpha), 2); attention: the weight)");
  t.add("stage_epochs", &d.stage_epochs, 0, "mskd code: epochs per teacher stage (0: epochs / K)");
  t.add("mskd_warmup", &d.mskd_warmup, 0,
        "mskd: epochs of each stage (code) or of training (attention) with the term on (0: all)");
  t.add("attention_temperature", &d.attention_temperature, 1e-6, 1e6,
        "mskd node attention: temperature of the softmax over teachers' negative entropies");
  t.add("baseline", &d.baseline, "also train the student alone with the same seeds and budget");
  t.add("students", &d.students, 1, "online: students in the cohort");
  t.add("schedule", &d.schedule, {"simultaneous", "alternating"},
        "online: one joint step per epoch, or each student in turn (the official Alignahead code)");
  t.add("shift", &d.shift, -1000,
        "alignahead(++): target layer t learns from the peer's layer t + shift (paper: 1, "
        "official code: -1)");
  t.add("same_init", &d.same_init,
        "online: every student starts from the same weights (the official Alignahead code)");
  t.add("feature_weight", &d.feature_weight, 0.0, 1e6, "alignahead++: feature alignment weight");
  t.add("feature_distance", &d.feature_distance, {"mse", "normalized-mse", "cosine"},
        "alignahead++: feature alignment distance");
  t.add("aux_weight", &d.aux_weight, 0.0, 1e6,
        "alignahead++: weight of each auxiliary head's loss (deep supervision)");
  t.add("entropy_weight", &d.entropy_weight, 0.0, 1e6,
        "gml: weight of the prediction entropy subtracted from each loss (entropy enhancement)");
  t.add("alw_rank", &d.alw_rank, 0, "gml: rank h of the adaptive logit weighting (0: off)");
  t.add("cohort", &d.cohort, {},
        "dml/gml: the students' architectures, comma-separated (e.g. gcn,gat,sage); "
        "default --students copies of --model");
  t.add("batch_students", &d.batch_students, {"auto", "true", "false"},
        "online: students of one architecture as one batch (one GEMM and one SpMM per layer for "
        "the cohort); auto: on CUDA only, where a cohort step is launch-bound");
}

constexpr const char* kDemo =
    "an Alignahead cohort of two 3-layer GCNs (hidden 16) and the same GCN alone, on the "
    "built-in synthetic graph with weak homophily (0.55) and weak features (signal 0.25)";

}  // namespace

bool is_online_method(const std::string& method) {
  return method == "dml" || method == "oc" || method == "alignahead" || method == "alignahead++" ||
         method == "gml";
}

std::vector<std::string> comma_list(const std::string& list) {
  std::vector<std::string> entries;
  for (size_t at = 0; !list.empty() && at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    entries.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return entries;
}

std::vector<std::string> cohort_archs(const DistillConfig& d, const TrainConfig& c) {
  std::vector<std::string> archs = comma_list(d.cohort);
  for (const std::string& arch : archs) models::arch_from_string(arch);  // names the bad entry
  if (archs.empty()) archs.assign(static_cast<size_t>(d.students), c.model);
  return archs;
}

int finish_distill(const DistillCall& call, RunDir& dir, const DistillReport& r) {
  const TrainConfig& c = call.config;
  nlohmann::json summary = {{"command", "distill"},
                            {"method", call.distill.method},
                            {"dataset", r.dataset},
                            {"metric", r.metric},
                            {"runs", c.runs},
                            {"students", nlohmann::json::array()},
                            {"epoch_ms_median", median(r.epoch_ms)},
                            {"device", call.ctx.describe()},
                            {"threads", omp_get_max_threads()},
                            {"run_dir", dir.path()}};
  const auto stats = [](const ResultStats& s) {
    return fmt::format("{:.2f} ± {:.2f}", mean(s.test), stddev(s.test));
  };
  std::string line;
  for (size_t k = 0; k < r.students.size(); ++k) {
    summary["students"].push_back(r.students[k].summary());
    line += fmt::format("{}student{} {}", k ? ", " : "", k, stats(r.students[k]));
  }
  if (r.ensemble) {
    summary["ensemble"] = r.ensemble->summary();
    line += ", ensemble " + stats(*r.ensemble);
  }
  if (!r.baselines.empty()) {
    summary["baseline"] = r.baselines.at(r.first_arch).summary();
    for (const auto& [arch, s] : r.baselines) summary["baselines"][arch] = s.summary();
    line += ", baseline " + stats(r.baselines.at(r.first_arch));
  }
  if (!r.teachers.empty()) {
    summary["teacher"] = r.teachers.back().summary();
    if (r.teachers.size() > 1) {
      for (const ResultStats& t : r.teachers) summary["teachers"].push_back(t.summary());
    }
    line += ", teacher " + stats(r.teachers.back());
  }
  summary.update(r.details);
  dir.write_json("summary.json", summary);
  dir.commit();
  if (!call.flags.quiet) {
    fmt::print(stderr, "{} {} ({}): {} over {} result(s); run directory {}\n", r.dataset,
               call.distill.method, r.metric, line, r.students.front().test.size(), dir.path());
  }
  if (call.flags.json) print_summary_json(summary);
  return 0;
}

autograd::StructureKernel kernel_of(const DistillConfig& d) {
  using K = autograd::StructureKernelKind;
  autograd::StructureKernel k;
  k.kind = d.kernel == "linear"   ? K::kLinear
           : d.kernel == "poly"   ? K::kPolynomial
           : d.kernel == "rbf"    ? K::kRbf
           : d.kernel == "cosine" ? K::kCosine
                                  : K::kL1Exp;
  k.tau = d.kernel_tau;
  k.sigma = d.kernel_sigma;
  return k;
}

distill::OnlineOptions online_options(const DistillConfig& d) {
  return {.method = distill::online_method_from_string(d.method),
          .weight = d.weight,
          .temperature = d.temperature,
          .shift = d.shift,
          .kernel = kernel_of(d),
          .schedule = d.schedule == "alternating" ? distill::Schedule::kAlternating
                                                  : distill::Schedule::kSimultaneous,
          .feature_weight = d.feature_weight,
          .feature_distance = d.feature_distance == "cosine" ? distill::FeatureDistance::kCosine
                              : d.feature_distance == "normalized-mse"
                                  ? distill::FeatureDistance::kNormalizedMse
                                  : distill::FeatureDistance::kMse,
          .aux_weight = d.aux_weight,
          .entropy_weight = d.entropy_weight,
          .alw_rank = d.alw_rank,
          .batch_students = d.batch_students == "true"    ? distill::BatchStudents::kAlways
                            : d.batch_students == "false" ? distill::BatchStudents::kNever
                                                          : distill::BatchStudents::kAuto};
}

uint64_t student_init_seed(const DistillConfig& d, uint64_t seed, int64_t k) {
  return d.same_init || k == 0 || !d.cohort.empty() ? seed
                                                    : seed + 1000003 * static_cast<uint64_t>(k);
}

int run_distill(int argc, char** argv) {
  TrainConfig c;
  DistillConfig d;
  OptionTable table = make_train_table(c);
  add_distill_options(table, d);
  TrainFlags f;
  const bool demo = argc == 1;
  if (demo) {  // a small online cohort on the built-in graph, against one student alone
    table.apply_flag("data", "synthetic:homophily=0.55,signal=0.25");
    table.apply_flag("model", "gcn");
    table.apply_flag("layers", "3");
    table.apply_flag("epochs", "100");
    table.apply_flag("method", "alignahead");
    fmt::print(stderr, "gkd distill (demo): {}\n", kDemo);
  } else if (!parse_run_arguments(argc, argv, kHeader, "distill", table, &f)) {
    return 0;
  }
  const bool online = is_online_method(d.method);
  const bool mskd = d.method == "mskd";
  GKD_CHECK(!mskd || (!d.teachers.empty() && d.teacher.empty() && d.teacher_config.empty()),
            "gkd distill --method mskd needs --teachers A,B,... (and no --teacher or "
            "--teacher-config)");
  GKD_CHECK(mskd || d.teachers.empty(), "--teachers is for --method mskd");
  GKD_CHECK(online || mskd || d.teacher.empty() != d.teacher_config.empty(),
            "gkd distill --method ", d.method,
            " needs exactly one of --teacher CHECKPOINT and --teacher-config FILE");
  GKD_CHECK(!online || (d.teacher.empty() && d.teacher_config.empty()), "gkd distill --method ",
            d.method, " trains its students online and takes no teacher");
  // A relative teacher path in a config file may be relative to that file (configs/ ships pairs).
  const auto beside_config = [&](const std::string& path) {
    const std::filesystem::path beside = std::filesystem::path(f.config).parent_path() / path;
    const bool use = !path.empty() && !f.config.empty() &&
                     std::filesystem::path(path).is_relative() && !std::filesystem::exists(path) &&
                     std::filesystem::exists(beside);
    return use ? beside.string() : path;
  };
  d.teacher = beside_config(d.teacher);
  d.teacher_config = beside_config(d.teacher_config);
  std::string resolved_teachers;
  for (const std::string& teacher : comma_list(d.teachers)) {
    resolved_teachers += (resolved_teachers.empty() ? "" : ",") + beside_config(teacher);
  }
  d.teachers = resolved_teachers;
  const bool ppi = is_ppi_data(c.data.spec);
  GKD_CHECK(!ppi || (d.method != "dml" && d.method != "gml"), "gkd distill: --data ", c.data.spec,
            " is a PPI folder: --method ", d.method,
            " is not available there (PPI: kd, fitnet, lsp, mskd, oc, alignahead, alignahead++; "
            "dml and gml compare softmax class distributions, which a multi-label task lacks)");
  const bool graphs = is_graph_data(c.data.spec);
  const Context ctx = select_device(c.device);
  const nlohmann::json resolved = table.to_json();
  const DistillCall call{c, d, resolved, f, ctx, argc, argv};
  if (ppi) return online ? distill_online_ppi(call) : distill_ppi(call);
  if (graphs) return online ? distill_online_graph(call) : distill_offline_graph(call);
  return online ? distill_online(call) : distill_offline(call);
}

}  // namespace gkd::cli
