// GNN models for graph classification on block-diagonal batches (io::GraphBatch): message-passing
// layers, each followed by batch normalisation and ReLU, then a per-graph readout and a linear
// classifier. Defaults are Xu et al.'s GIN ("How Powerful are Graph Neural Networks?", ICLR 2019):
// 4 GIN-0 layers whose MLPs carry batch norm, sum readout, and logits summed over the readouts of
// the input and of every layer, each through its own linear head with dropout.
//
//   models::GraphModelConfig cfg{.in_dim = F, .out_dim = C};
//   models::GraphModel model(cfg, /*seed=*/1);
//   GraphModelOutput out = model.forward(tape, io::make_batch(data, ids), {.training = true});
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/graph_dataset.h"
#include "models/model.h"

namespace gkd::models {

enum class Readout { kSum, kMean, kMax };
const char* readout_name(Readout readout);
Readout readout_from_string(const std::string& name);  // "sum" | "mean" | "max"

struct GraphModelConfig {
  Arch arch = Arch::kGin;
  int64_t in_dim = 0;   // node feature columns (for integer features: id columns, one per table)
  int64_t out_dim = 0;  // classes
  int64_t hidden = 64;  // width of every layer (per head for GAT)
  int64_t layers = 4;   // message-passing layers (Xu et al.'s num_layers = 5 counts the input)
  int64_t heads = 1;    // GAT heads (concatenated)
  // Integer node features (OGB atoms): x holds ids embedded by summed learned tables of these
  // vocabulary sizes into `hidden` columns (OGB's AtomEncoder). Empty: x is dense f32.
  std::vector<int64_t> node_vocab;
  // Integer edge features (OGB bonds, GIN only): messages ReLU(h_u + bond embedding) (OGB's GIN).
  std::vector<int64_t> edge_vocab;
  bool batch_norm = true;  // after every layer, and inside GIN's MLP
  Readout readout = Readout::kSum;
  // true: logits = Σ_l dropout(Linear_l(readout(h_l))) over the input (l = 0) and every layer, as
  // Xu et al.; false: one linear on the last layer's readout (after dropout).
  bool jumping = true;
  double dropout = 0.5;  // Xu et al.'s final_dropout
  bool learn_eps = false;
  // Deep supervision: a linear classifier on the readout of every intermediate layer's activated
  // node states (layers 1..L-1), as models::ModelConfig::aux_heads. Not part of the logits.
  bool aux_heads = false;

  bool operator==(const GraphModelConfig&) const = default;
};

// The width of every layer's node states (GAT: its heads side by side).
int64_t hidden_width(const GraphModelConfig& config);

// A graph classifier's outputs, in models::ModelOutput's form: logits [B, C] per graph; hidden,
// every layer's node states before batch norm and ReLU [N, width] (all L layers: the logits come
// from a readout); aux_logits [B, C] per intermediate layer when aux_heads.
using GraphModelOutput = ModelOutput;

class GraphModel {
 public:
  // Validates the config (errors name the field) and initialises every weight from `seed`.
  GraphModel(const GraphModelConfig& config, uint64_t seed);

  // A training forward updates the batch-norm running statistics.
  GraphModelOutput forward(Tape& tape, const io::GraphBatch& batch,
                           const ForwardOptions& options) const;

  // Students as a batch dimension (as Model::forward_cohort): K models of one config on the same
  // batch, every layer, batch norm, readout and head once for the cohort; output k equals
  // students[k]->forward(tape, batch, options[k]) up to float summation order (running
  // statistics included). Options may differ only in their seeds. Needs can_batch(students).
  static std::vector<GraphModelOutput> forward_cohort(Tape& tape, const io::GraphBatch& batch,
                                                      std::span<const GraphModel* const> students,
                                                      std::span<const ForwardOptions> options);
  static bool can_batch(std::span<const GraphModel* const> students);  // one config

  const GraphModelConfig& config() const { return config_; }
  std::vector<Parameter*> parameters() const;
  // Every trainable tensor and every buffer with a model-wide unique name ("layer1.mlp_weight1"),
  // the keys of a checkpoint.
  std::vector<std::pair<std::string, Parameter*>> named_parameters() const;
  std::vector<std::pair<std::string, Buffer*>> named_buffers() const;
  int64_t num_parameters() const;
  std::string describe() const;

 private:
  struct Part {  // a layer and its checkpoint prefix
    std::string name;
    std::unique_ptr<Layer> layer;
  };
  GraphModelConfig config_;
  std::unique_ptr<Parameter> node_table_;  // [Σ node_vocab, hidden] when node_vocab is set
  std::vector<Part> layers_, norms_, heads_, aux_;
};

}  // namespace gkd::models
