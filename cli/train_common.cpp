#include "cli/train_common.h"

#include <fmt/core.h>
#include <omp.h>

#include <filesystem>
#include <fstream>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "cli/commands.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/ogb.h"
#include "engine/io/splits.h"
#include "engine/memory_budget.h"
#include "kernels/registry.h"
#include "models/footprint.h"

namespace gkd::cli {

extern const char* const kGitCommit;

OptionTable make_train_table(TrainConfig& c) {
  OptionTable t;
  t.add("data", &c.data.spec, {},
        "dataset: a .npz file, a TU or OGB folder, or synthetic[:key=value,...]");
  t.add("features", &c.data.features, {"as-stored", "row-normalize", "binarize"},
        "feature transform on load (node datasets)");
  t.add("split", &c.data.split, {"auto", "public", "per-class"},
        "the file's masks (public) or a seeded per-class split; auto: masks when present");
  t.add("train_per_class", &c.data.train_per_class, 1, "per-class split: training nodes");
  t.add("val_per_class", &c.data.val_per_class, 0, "per-class split: validation nodes");
  t.add("node_attributes", &c.data.node_attributes,
        "TU datasets: node attribute columns in x (false: one-hot node labels only)");
  t.add("model", &c.model, {"mlp", "gcn", "gat", "sage", "gin"}, "architecture");
  t.add("hidden", &c.hidden, 1, "hidden width (per head for GAT)");
  t.add("layers", &c.layers, 1,
        "node tasks: layers including the output layer; graph tasks: message-passing layers");
  t.add("heads", &c.heads, 1, "GAT heads per hidden layer");
  t.add("out_heads", &c.out_heads, 1, "GAT output heads (averaged)");
  t.add("activation", &c.activation, {"default", "relu", "elu", "leaky_relu", "tanh"},
        "hidden activation; default: elu for GAT, relu otherwise (node tasks)");
  t.add("dropout", &c.dropout, 0.0, 0.99,
        "node tasks: on every layer's input; graph tasks: on each readout prediction");
  t.add("attn_dropout", &c.attn_dropout, 0.0, 0.99, "GAT attention dropout");
  t.add("feat_dropout", &c.feat_dropout, 0.0, 0.99,
        "GAT: dropout on projected features before aggregation (the original TF code)");
  t.add("negative_slope", &c.negative_slope, 0.0, 1.0, "GAT attention LeakyReLU slope");
  t.add("residual", &c.residual, {"none", "linear", "identity"},
        "GAT residual on layers after the first (linear: DGL 0.4; identity: modern DGL)");
  t.add("aggregator", &c.aggregator, {"mean", "pool"}, "GraphSAGE aggregator");
  t.add("learn_eps", &c.learn_eps, "GIN-eps instead of GIN-0");
  t.add("aux_heads", &c.aux_heads, "a linear classifier on every hidden layer (trained too)");
  t.add("bias", &c.bias, "layer biases");
  t.add("epochs", &c.epochs, 1, "training epochs");
  t.add("lr", &c.lr, 1e-12, 10.0, "Adam learning rate");
  t.add("weight_decay", &c.weight_decay, 0.0, 1.0, "Adam L2 weight decay (all parameters)");
  t.add("patience", &c.patience, 0,
        "node tasks: stop after N epochs without a better val accuracy (0: never)");
  t.add("selection", &c.selection, {"best-val", "paper"},
        "best-val: test at the best validation epoch; paper: the published protocol's rule "
        "(graph CV: the epoch of the best test accuracy averaged over folds, as Xu et al.)");
  t.add("clip_grad_norm", &c.clip_grad_norm, 0.0, 1e9,
        "node tasks: clip the global gradient norm before each step (0: off)");
  t.add("divergence_jump", &c.divergence_jump, 0.0, 1e9,
        "node tasks: report divergence when the training loss exceeds this many times its lowest "
        "(0: off; a non-finite loss always stops the run)");
  t.add("stop_on_divergence", &c.stop_on_divergence,
        "node tasks: end the run at a detected divergence (the best state is kept)");
  t.add("on_non_finite", &c.on_non_finite, {"stop", "skip"},
        "at a NaN or Inf loss or gradient (named on stderr), end the run keeping its best state "
        "(stop), or skip that step (skip; 5 in a row end the run)");
  t.add("state_every", &c.state_every, 0,
        "write the resumable training state every N epochs (0: only when a run ends); gkd "
        "train --resume DIR continues a killed run from it");
  t.add("runs", &c.runs, 1, "independent runs, seeds seed .. seed + runs - 1");
  t.add("seed", &c.seed, 0, "first seed (weights, dropout, splits)");
  t.add("device", &c.device, {"auto", "cpu", "cuda"},
        "auto: CUDA when a GPU is usable and every kernel has a CUDA twin");
  t.add("readout", &c.readout, {"sum", "mean", "max"}, "graph tasks: per-graph readout");
  t.add("batch_norm", &c.batch_norm, "graph tasks: batch norm after every layer and in GIN's MLP");
  t.add(
      "jumping", &c.jumping,
      "graph tasks: sum the predictions of every layer's readout (Xu et al.) instead of the last");
  t.add("batch_size", &c.batch_size, 2, "graph tasks: graphs per training batch");
  t.add("iters_per_epoch", &c.iters_per_epoch, 0,
        "graph tasks: random batches per epoch (0: one pass over the training graphs)");
  t.add("lr_step", &c.lr_step, 0,
        "graph tasks: multiply the lr by lr_gamma every N epochs (0: never)");
  t.add("lr_gamma", &c.lr_gamma, 1e-6, 1.0, "graph tasks: step decay factor");
  t.add("folds", &c.folds, 2,
        "graph tasks without a shipped split: stratified cross-validation folds");
  t.add("val_fraction", &c.val_fraction, 0.0, 0.9,
        "graph CV with --selection best-val: stratified share of each training fold held out");
  t.add("graphs_per_step", &c.graphs_per_step, 1, "PPI: training graphs per step");
  t.add("raw_logit_rule", &c.raw_logit_rule,
        "PPI: micro-F1 predicts a label when the raw logit >= 0.5 (the seed code's rule)");
  return t;
}

nlohmann::json train_config_json(TrainConfig config) {
  return make_train_table(config).to_json();
}

bool parse_run_arguments(int argc, char** argv, const char* header, const std::string& command,
                         OptionTable& table, TrainFlags* f) {
  using nlohmann::json;
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}{}", header, table.help());
      return false;
    }
    if (arg == "--json") {
      f->json = true;
      continue;
    }
    if (arg == "--quiet") {
      f->quiet = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value");
      value = argv[++i];
    }
    const std::string name = arg.substr(2);
    if (name == "config") {
      f->config = value;
    } else if (name == "out") {
      f->out = value;
    } else if (name == "resume") {
      f->resume = run_path_of(value);
    } else if (name == "threads") {
      char* end = nullptr;
      f->threads = std::strtoll(value.c_str(), &end, 10);
      if (*end != '\0' || f->threads < 1) {
        throw UsageError("option --threads expects a positive integer (got '" + value + "')");
      }
    } else if (table.has_flag(name)) {
      flags.emplace_back(name, value);
    } else {
      throw UsageError("unknown option " + arg + " (see gkd " + command + " --help)");
    }
  }
  if (!f->resume.empty()) {
    if (!f->config.empty() || !f->out.empty() || !flags.empty()) {
      throw UsageError(
          "--resume continues a run with its own config.json; only --threads, "
          "--quiet and --json may accompany it");
    }
    GKD_CHECK(!std::filesystem::exists(f->resume), f->resume,
              ": the run finished already (nothing to resume)");
    GKD_CHECK(std::filesystem::is_directory(f->resume + ".partial"), f->resume,
              ".partial: no unfinished run there (expected the directory a killed gkd train "
              "left)");
    f->config = f->resume + ".partial/config.json";
    GKD_CHECK(std::filesystem::exists(f->config), f->config,
              ": missing (the run was killed before it began: start it again)");
    f->out = f->resume;
  }
  if (!f->config.empty()) {
    std::ifstream in(f->config);
    GKD_CHECK(in.good(), f->config, ": cannot be read");
    const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    GKD_CHECK(!j.is_discarded(), f->config, ": not valid JSON");
    table.apply_json(j, f->config);
  }
  for (const auto& [name, value] : flags) table.apply_flag(name, value);
  if (f->threads > 0) omp_set_num_threads(static_cast<int>(f->threads));
  return true;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  const io::Checkpoint ckpt = io::load_checkpoint(path);
  CheckpointInfo info;
  info.meta = nlohmann::json::parse(ckpt.metadata, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json& meta = info.meta;
  GKD_CHECK(!meta.is_discarded() && meta.is_object() && meta.contains("format") &&
                meta["format"].is_string() && meta["format"].get<std::string>() == "gkd-model",
            path,
            ": field metadata.format: not a gkd model checkpoint (expected the metadata gkd "
            "train writes)");
  for (const char* key : {"task", "config", "run", "fold", "seed"}) {
    GKD_CHECK(meta.contains(key), path, ": field metadata.", key, " is missing");
  }
  for (const char* key : {"run", "fold", "seed"}) {
    GKD_CHECK(meta[key].is_number_unsigned(), path, ": field metadata.", key, ": ",
              meta[key].dump(), " (expected a non-negative integer)");
  }
  OptionTable table = make_train_table(info.config);
  table.apply_json(meta["config"], path + " (metadata.config)");
  GKD_CHECK(meta["task"].is_string(), path, ": field metadata.task is not a string");
  info.task = meta["task"].get<std::string>();
  return info;
}

int finish_train(const TrainCall& call, RunDir& dir, const RunSummary& s) {
  const TrainConfig& c = call.config;
  nlohmann::json summary = {{"command", "train"},
                            {"dataset", s.dataset},
                            {"model", c.model},
                            {"metric", s.metric},
                            {"selection", c.selection},
                            {"runs", c.runs},
                            {"test_mean", mean(s.test)},
                            {"test_std", stddev(s.test)},
                            {"val_mean", mean(s.val)},
                            {"epoch_ms_median", median(s.epoch_ms)},
                            {"device", call.ctx.describe()},
                            {"threads", omp_get_max_threads()},
                            {"parameters", s.parameters},
                            {"run_dir", dir.path()}};
  summary.update(s.details);
  dir.write_json("summary.json", summary);
  dir.commit();
  if (!call.flags.quiet) {
    fmt::print(stderr,
               "{} {}: test {} {:.2f} ± {:.2f} over {} result(s) (val {:.2f}), {:.2f} ms/epoch; "
               "run directory {}\n",
               s.dataset, c.model, s.metric, mean(s.test), stddev(s.test), s.test.size(),
               mean(s.val), median(s.epoch_ms), dir.path());
  }
  if (call.flags.json) print_summary_json(summary);
  return 0;
}

void print_summary_json(const nlohmann::json& summary) {
  fmt::print("{}\n", summary.dump());
  std::fflush(stdout);
}

// The CUDA twins were written without a GPU to run them on; until the gpu parity suite
// (tests/parity) has passed on one, `--device auto` stays on the CPU and CUDA is opt-in.
constexpr bool kCudaTwinsVerified = false;

Context select_device(const std::string& device) {
  if (device == "cpu") return Context::cpu();
  bool all_twins = true;
  for (const auto& k : kernels::kKernels) all_twins = all_twins && k.has_cuda_twin;
  if (device == "cuda") {
    GKD_CHECK(all_twins,
              "--device cuda: this build has no CUDA twin for some kernels yet "
              "(`gkd-bench list` names them); use --device cpu");
    if (!kCudaTwinsVerified) {
      log(LogLevel::kWarning,
          "--device cuda: the CUDA kernels have not yet passed the gpu parity suite on a GPU");
    }
    return Context::cuda();
  }
  return all_twins && kCudaTwinsVerified ? Context::auto_select() : Context::cpu();
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

std::string iso_time() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

void print_progress(const TrainFlags& f, bool tty, int64_t epoch, int64_t epochs,
                    const std::string& text) {
  if (f.quiet) return;
  if (tty) {
    fmt::print(stderr, "\r{}", text);
  } else if (epoch == 1 || epoch % 50 == 0 || epoch == epochs) {
    fmt::print(stderr, "{}\n", text);
  }
}

models::GraphTrainOptions graph_train_options(const TrainConfig& c, models::GraphMetric metric) {
  return {.epochs = c.epochs,
          .batch_size = c.batch_size,
          .iters_per_epoch = c.iters_per_epoch,
          .lr = c.lr,
          .weight_decay = c.weight_decay,
          .lr_step = c.lr_step,
          .lr_gamma = c.lr_gamma,
          .metric = metric,
          .on_non_finite = models::non_finite_policy_from_string(c.on_non_finite)};
}

models::NodeTrainOptions node_train_options(const TrainConfig& c, uint64_t seed) {
  return {.epochs = c.epochs,
          .lr = c.lr,
          .weight_decay = c.weight_decay,
          .patience = c.patience,
          .seed = seed,
          .clip_grad_norm = c.clip_grad_norm,
          .divergence_jump = c.divergence_jump,
          .stop_on_divergence = c.stop_on_divergence,
          .on_non_finite = models::non_finite_policy_from_string(c.on_non_finite)};
}

models::InductiveTrainOptions inductive_train_options(const TrainConfig& c, uint64_t seed) {
  return {.epochs = c.epochs,
          .graphs_per_step = c.graphs_per_step,
          .lr = c.lr,
          .weight_decay = c.weight_decay,
          .raw_logit_rule = c.raw_logit_rule,
          .seed = seed,
          .on_non_finite = models::non_finite_policy_from_string(c.on_non_finite)};
}

nlohmann::json checkpoint_metadata(const nlohmann::json& resolved, const std::string& task,
                                   const std::string& dataset, int64_t run, int64_t fold,
                                   int64_t seed, int64_t epoch) {
  return {{"format", "gkd-model"},
          {"task", task},
          {"dataset", dataset},
          {"run", run},
          {"fold", fold},
          {"seed", seed},
          {"epoch", epoch},
          {"config", resolved},
          {"gkd_commit", kGitCommit}};
}

nlohmann::json graph_epoch_line(const GraphJob& job, const models::GraphEpochMetrics& m) {
  return {{"run", job.run},
          {"seed", job.seed},
          {"fold", job.fold},
          {"epoch", m.epoch},
          {"train_loss", m.train_loss},
          {"val_loss", m.val_loss},
          {"val", m.val},
          {"test", m.test},
          {"epoch_ms", m.epoch_ms}};
}

models::StateFileOptions state_file(const RunDir& dir, const TrainFlags& flags,
                                    const TrainConfig& config, const nlohmann::json& resolved,
                                    const std::string& name) {
  return {.path = dir.file(name + ".state.ckpt"),
          .every = config.state_every,
          .resume = !flags.resume.empty(),
          .tag = resolved.dump() + " " + name};
}

void report_resumed(const TrainFlags& flags, const std::string& label, int64_t resumed_epoch) {
  if (flags.quiet || resumed_epoch == 0) return;
  fmt::print(stderr, "  {}: resumed after epoch {} from its state file\n", label, resumed_epoch);
}

void report_non_finite(const TrainFlags& flags, const std::string& label, const std::string& report,
                       int64_t skipped_steps) {
  if (flags.quiet || report.empty()) return;
  fmt::print(stderr, "  {}: {} ({})\n", label, report,
             skipped_steps > 0 ? fmt::format("{} step(s) skipped", skipped_steps)
                               : "the run stopped there; its best state is kept");
}

int64_t check_node_memory(const Context& ctx, const io::NodeDataset& data,
                          const std::vector<models::ModelConfig>& together) {
  const models::NodeDataShape shape = models::data_shape(data);
  int64_t bytes = models::estimate_dataset_bytes(shape);
  std::string what;
  for (const models::ModelConfig& mc : together) {
    bytes += models::estimate_node_training_bytes(mc, shape);
    what += (what.empty() ? "" : " + ") + std::string(models::arch_name(mc.arch));
  }
  check_fits(ctx.device(),
             fmt::format("training {} on {} ({} nodes, {} edges)", what, data.name, shape.nodes,
                         shape.edges),
             bytes);
  return bytes;
}

void write_run_header(RunDir& dir, const std::string& command, const nlohmann::json& resolved,
                      const TrainConfig& c, const Context& ctx, int argc, char** argv) {
  std::vector<int64_t> seeds;
  for (int64_t r = 0; r < c.runs; ++r) seeds.push_back(c.seed + r);
  dir.write_json("config.json", resolved);
  dir.write_json("manifest.json", {{"command", command},
                                   {"gkd_commit", kGitCommit},
                                   {"device", ctx.describe()},
                                   {"threads", omp_get_max_threads()},
                                   {"started", iso_time()},
                                   {"argv", std::vector<std::string>(argv, argv + argc)},
                                   {"seeds", seeds}});
}

namespace {

kernels::Activation activation_of(const TrainConfig& c) {
  const std::string& a = c.activation;
  if (a == "default")
    return c.model == "gat" ? kernels::Activation::kElu : kernels::Activation::kRelu;
  if (a == "elu") return kernels::Activation::kElu;
  if (a == "leaky_relu") return kernels::Activation::kLeakyRelu;
  if (a == "tanh") return kernels::Activation::kTanh;
  return kernels::Activation::kRelu;
}

}  // namespace

models::ModelConfig node_model_config(const TrainConfig& c, int64_t in_dim, int64_t out_dim) {
  return {.arch = models::arch_from_string(c.model),
          .in_dim = in_dim,
          .out_dim = out_dim,
          .hidden = c.hidden,
          .layers = c.layers,
          .heads = c.heads,
          .out_heads = c.out_heads,
          .activation = activation_of(c),
          .dropout = c.dropout,
          .attn_dropout = c.attn_dropout,
          .feat_dropout = c.feat_dropout,
          .negative_slope = c.negative_slope,
          .residual = c.residual == "linear"     ? models::Residual::kLinear
                      : c.residual == "identity" ? models::Residual::kIdentity
                                                 : models::Residual::kNone,
          .aggregator = c.aggregator == "pool" ? models::SageAggregator::kPool
                                               : models::SageAggregator::kMean,
          .learn_eps = c.learn_eps,
          .aux_heads = c.aux_heads,
          .bias = c.bias};
}

models::GraphModelConfig graph_model_config(const TrainConfig& c, const io::GraphDataset& d) {
  models::GraphModelConfig m{.arch = models::arch_from_string(c.model),
                             .in_dim = d.num_node_features,
                             .out_dim = d.num_classes,
                             .hidden = c.hidden,
                             .layers = c.layers,
                             .heads = c.heads,
                             .node_vocab = {},
                             .edge_vocab = {},
                             .batch_norm = c.batch_norm,
                             .readout = models::readout_from_string(c.readout),
                             .jumping = c.jumping,
                             .dropout = c.dropout,
                             .learn_eps = c.learn_eps,
                             .aux_heads = c.aux_heads};
  const io::GraphSample& first = d.samples.front();
  if (first.x.dtype() == DType::kI64) {  // OGB molecules: atom and bond ids
    m.node_vocab.assign(io::kOgbAtomVocab.begin(), io::kOgbAtomVocab.end());
    if (m.arch == models::Arch::kGin && first.edge_attr.defined()) {
      m.edge_vocab.assign(io::kOgbBondVocab.begin(), io::kOgbBondVocab.end());
    }
  }
  return m;
}

std::vector<GraphJob> graph_jobs(const TrainConfig& c, const io::GraphDataset& d) {
  std::vector<int64_t> labels;
  for (const auto& s : d.samples) labels.push_back(s.label);
  std::vector<GraphJob> jobs;
  for (int64_t r = 0; r < c.runs; ++r) {
    const auto seed = static_cast<uint64_t>(c.seed + r);
    if (!d.train.empty()) {  // the dataset's own split
      jobs.push_back({r, 0, seed, {d.train, d.valid, d.test}});
      continue;
    }
    GKD_CHECK(c.folds <= static_cast<int64_t>(d.samples.size()), "--folds ", c.folds, ": ", d.name,
              " has only ", d.samples.size(), " graphs");
    const auto folds = io::stratified_kfold(labels, d.num_classes, c.folds, seed);
    for (size_t k = 0; k < folds.size(); ++k) {
      GraphJob job{r, static_cast<int64_t>(k), seed, {folds[k].train, {}, folds[k].test}};
      if (c.selection == "best-val") {
        io::TrainVal tv =
            io::stratified_holdout(labels, d.num_classes, folds[k].train, c.val_fraction, seed);
        job.split.train = std::move(tv.train);
        job.split.val = std::move(tv.val);
      }
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

}  // namespace gkd::cli
