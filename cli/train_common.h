// What `gkd train` shares between its node- and graph-classification paths: the option table that
// JSON configs and flags both set, the flags that are not options, and small helpers.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cli/data_source.h"
#include "cli/options.h"
#include "cli/run_dir.h"
#include "engine/context.h"
#include "models/graph_model.h"
#include "models/model.h"
#include "models/train_graph.h"
#include "models/train_inductive.h"
#include "models/train_node.h"

namespace gkd::cli {

// Everything a config file or a flag can set. Defaults: Kipf & Welling's GCN; the graph-task
// options default to Xu et al.'s GIN protocol.
struct TrainConfig {
  DataOptions data;
  std::string model = "gcn";
  int64_t hidden = 16;
  int64_t layers = 2;
  int64_t heads = 8;
  int64_t out_heads = 1;
  std::string activation = "default";
  double dropout = 0.5;
  double attn_dropout = 0.0;
  double feat_dropout = 0.0;
  double negative_slope = 0.2;
  std::string residual = "none";
  std::string aggregator = "mean";
  bool learn_eps = false;
  bool aux_heads = false;
  bool bias = true;
  int64_t epochs = 200;
  double lr = 0.01;
  double weight_decay = 5e-4;
  int64_t patience = 0;
  std::string selection = "best-val";
  double clip_grad_norm = 0;
  double divergence_jump = 0;
  bool stop_on_divergence = false;
  std::string on_non_finite = "stop";
  int64_t state_every = 10;
  int64_t runs = 1;
  int64_t seed = 1;
  std::string device = "auto";
  // Graph classification.
  std::string readout = "sum";
  bool batch_norm = true;
  bool jumping = true;
  int64_t batch_size = 32;
  int64_t iters_per_epoch = 50;
  int64_t lr_step = 50;
  double lr_gamma = 0.5;
  int64_t folds = 10;
  double val_fraction = 0.1;
  // Inductive multi-label (PPI).
  int64_t graphs_per_step = 2;
  bool raw_logit_rule = false;
};

OptionTable make_train_table(TrainConfig& config);
// The resolved options of `config` as gkd train's config.json holds them.
nlohmann::json train_config_json(TrainConfig config);

// Flags that are not part of the resolved config.
struct TrainFlags {
  std::string config;
  std::string out;
  std::string resume;  // gkd train --resume: the unfinished run directory (then also `out`)
  bool json = false;
  bool quiet = false;
  int64_t threads = 0;
};

// Parses `gkd train`-style arguments: --config FILE, --out DIR, --json, --quiet, --threads N and
// the table's options as flags. Applies the config file, then the flags (flags win), and the
// thread count. For "train", --resume DIR takes the config of the unfinished run DIR instead
// (only --threads, --quiet and --json may accompany it). Returns false when --help was printed
// (with `header`). Bad usage throws UsageError; a bad config file throws gkd::Error naming it.
bool parse_run_arguments(int argc, char** argv, const char* header, const std::string& command,
                         OptionTable& table, TrainFlags* flags);

// A model checkpoint written by gkd train: its metadata (validated: errors name the file and the
// field), the task ("node", "graph", "ppi") and the resolved config it was trained with.
struct CheckpointInfo {
  nlohmann::json meta;
  std::string task;
  TrainConfig config;
};
CheckpointInfo read_checkpoint_info(const std::string& path);

Context select_device(const std::string& device);

double mean(const std::vector<double>& v);
double stddev(const std::vector<double>& v);  // sample std (n - 1), 0 for fewer than two values
double median(std::vector<double> v);
std::string iso_time();

models::ModelConfig node_model_config(const TrainConfig& config, int64_t in_dim, int64_t out_dim);
// OGB datasets (integer x) get atom embeddings, and bond embeddings when the model is GIN.
models::GraphModelConfig graph_model_config(const TrainConfig& config,
                                            const io::GraphDataset& data);

// One graph-classification training job: the split of a (run, fold). Runs use seeds seed, seed+1,
// ...; each run redraws the stratified folds (and, with --selection best-val, a stratified
// validation share of each training fold); a dataset with its own split gives one job per run.
struct GraphJob {
  int64_t run = 0, fold = 0;
  uint64_t seed = 0;
  models::GraphSplit split;
};
std::vector<GraphJob> graph_jobs(const TrainConfig& config, const io::GraphDataset& data);
// The metrics.jsonl line of one epoch of `job`.
nlohmann::json graph_epoch_line(const GraphJob& job, const models::GraphEpochMetrics& m);

// The metadata a model checkpoint carries: enough for `gkd eval` to rebuild the model and its
// split (the resolved config, the run's seed and fold).
nlohmann::json checkpoint_metadata(const nlohmann::json& resolved, const std::string& task,
                                   const std::string& dataset, int64_t run, int64_t fold,
                                   int64_t seed, int64_t epoch);

// One progress line on stderr: on a terminal (tty) every epoch, rewritten in place; otherwise a
// plain line at epoch 1, every 50th and the last; nothing with --quiet.
void print_progress(const TrainFlags& flags, bool tty, int64_t epoch, int64_t epochs,
                    const std::string& text);

// The graph trainer's options from the config.
models::GraphTrainOptions graph_train_options(const TrainConfig& config,
                                              models::GraphMetric metric);

// The node trainer's options from the config and a run's seed.
models::NodeTrainOptions node_train_options(const TrainConfig& config, uint64_t seed);
// The same for inductive (PPI) training.
models::InductiveTrainOptions inductive_train_options(const TrainConfig& config, uint64_t seed);

// The state file of one training job of this run directory: "<name>.state.ckpt", written every
// --state-every epochs, read back with --resume; tagged with the resolved config and `name`.
models::StateFileOptions state_file(const RunDir& dir, const TrainFlags& flags,
                                    const TrainConfig& config, const nlohmann::json& resolved,
                                    const std::string& name);

// One stderr line (unless --quiet) when a training job continued from its state file.
void report_resumed(const TrainFlags& flags, const std::string& label, int64_t resumed_epoch);

// One stderr line (unless --quiet) when a trainer met a non-finite loss or gradient: `label` ("run
// 1/5", "run 1 fold 3", "student 2"), the trainer's report, and what was done about it.
void report_non_finite(const TrainFlags& flags, const std::string& label, const std::string& report,
                       int64_t skipped_steps);

// Refuses node training that would not fit on ctx's device, before the run directory exists: the
// dataset plus the models trained at the same time (a cohort; one model otherwise), estimated
// from their shapes (models/footprint.h). Throws gkd::Error with the estimate; returns it.
int64_t check_node_memory(const Context& ctx, const io::NodeDataset& data,
                          const std::vector<models::ModelConfig>& together);

// Writes what every run directory opens with: config.json (the resolved options) and
// manifest.json (command, git commit, device, threads, start time, argv, the runs' seeds).
void write_run_header(RunDir& dir, const std::string& command, const nlohmann::json& resolved,
                      const TrainConfig& config, const Context& ctx, int argc, char** argv);

// Node and graph classification, after the options are resolved. `resolved` is the option table
// as JSON (the run directory's config.json).
struct TrainCall {
  const TrainConfig& config;
  const nlohmann::json& resolved;
  const TrainFlags& flags;
  const Context& ctx;
  int argc;
  char** argv;
};
// What every training command reports: the common summary keys come from these fields,
// `details` adds the command's own (per_run or per_fold, protocol, selected epochs).
struct RunSummary {
  std::string dataset, metric;
  std::vector<double> test, val, epoch_ms;  // one entry per result (run, or run and fold)
  int64_t parameters = 0;
  nlohmann::json details = nlohmann::json::object();
};
// Writes summary.json, commits the run directory, prints the closing line on stderr (unless
// --quiet) and the summary on stdout (with --json). Returns the exit code, 0.
// The --json line: the summary on stdout, flushed at once. The run directory is final by then,
// and a kill during the process's teardown (freeing data and models) must not lose the line.
void print_summary_json(const nlohmann::json& summary);

int finish_train(const TrainCall& call, RunDir& dir, const RunSummary& summary);

int train_nodes(const TrainCall& call);
int train_graphs(const TrainCall& call);
int train_ppi(const TrainCall& call);

}  // namespace gkd::cli
