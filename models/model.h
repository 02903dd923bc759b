// GNN models for node classification: a stack of layers of one architecture with dropout before
// every layer and an activation after every hidden layer. Every model exposes each hidden layer's
// pre-activation state (what the distillation losses align) and can carry a linear auxiliary
// classifier on each hidden layer (deep supervision).
//
//   models::ModelConfig cfg{.arch = models::Arch::kGcn, .in_dim = F, .out_dim = C};
//   models::Model model(cfg, /*seed=*/1);
//   autograd::Adam adam(ctx, model.parameters(), {.lr = 0.01, .weight_decay = 5e-4});
//   ModelOutput out = model.forward(tape, graph, features, {.training = true, .step = epoch});
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tape.h"
#include "engine/graph.h"
#include "engine/io/node_dataset.h"
#include "kernels/dense.h"
#include "models/layers.h"

namespace gkd::models {

enum class Arch { kMlp, kGcn, kGat, kSage, kGin };

struct ModelConfig {
  Arch arch = Arch::kGcn;
  int64_t in_dim = 0;     // F (from the data)
  int64_t out_dim = 0;    // C (from the data)
  int64_t hidden = 16;    // per-head width of every hidden layer
  int64_t layers = 2;     // layers including the output layer, >= 1
  int64_t heads = 1;      // GAT: heads of each hidden layer (concatenated)
  int64_t out_heads = 1;  // GAT: heads of the output layer (averaged)
  kernels::Activation activation = kernels::Activation::kRelu;  // after each hidden layer
  double dropout = 0.5;         // on the input of every layer (nonzeros only for sparse features)
  double attn_dropout = 0.0;    // GAT: on the attention coefficients
  double feat_dropout = 0.0;    // GAT: on the projected features before aggregation (original GAT)
  double negative_slope = 0.2;  // GAT: attention LeakyReLU
  Residual residual = Residual::kNone;  // GAT: on every layer but the first (as the seed code)
  SageAggregator aggregator = SageAggregator::kMean;
  bool learn_eps = false;  // GIN-ε instead of GIN-0
  bool aux_heads = false;  // a linear classifier on every hidden layer's activated output
  bool bias = true;

  bool operator==(const ModelConfig&) const = default;
};

// The width of every hidden state ModelOutput::hidden holds: heads * hidden for GAT, else hidden.
int64_t hidden_width(const ModelConfig& config);

// "gcn" <-> Arch::kGcn, ...; from_string throws gkd::Error listing the accepted names.
const char* arch_name(Arch arch);
Arch arch_from_string(const std::string& name);

struct ForwardOptions {
  bool training = false;  // dropout on
  uint64_t seed = 0;      // dropout masks draw Philox(seed, stream derived from step and site)
  uint64_t step = 0;      // a new mask every step
};

// A node model's outputs (graph models use the same form: models/graph_model.h).
struct ModelOutput {
  Var logits;                   // [N, C]
  std::vector<Var> hidden;      // layers - 1 pre-activation states, [N, width of layer l]
  std::vector<Var> aux_logits;  // [N, C] per hidden layer when aux_heads, else empty
};

// The dropout seeds of K students' forward options (student order), which must share training
// mode and step to run as one batch.
std::vector<uint64_t> cohort_seeds(std::span<const ForwardOptions> options);

class Model {
 public:
  // Validates the config (errors name the field) and initialises every weight from `seed`.
  Model(const ModelConfig& config, uint64_t seed);

  ModelOutput forward(Tape& tape, const Graph& g, const io::FeatureMatrix& x,
                      const ForwardOptions& options) const;

  // Students as a batch dimension: K models of one config run as one. Every layer keeps the
  // cohort's tensors side by side ([N, K*F], student k in block k), so it costs one batched GEMM
  // (or one multi-column SpMM over sparse features, each student with its own dropout) and one
  // SpMM over the shared CSR for all K, not K of each. Output k equals
  // students[k]->forward(tape, g, x, options[k]) up to float summation order, gradients
  // included; options may differ only in their seeds. Needs can_batch(students).
  static std::vector<ModelOutput> forward_cohort(Tape& tape, const Graph& g,
                                                 const io::FeatureMatrix& x,
                                                 std::span<const Model* const> students,
                                                 std::span<const ForwardOptions> options);
  // Whether the students share one config (every layer type batches).
  static bool can_batch(std::span<const Model* const> students);

  const ModelConfig& config() const { return config_; }
  std::vector<Parameter*> parameters() const;  // every trainable tensor, layer by layer
  // Every trainable tensor with a model-wide unique name ("layer0.weight", "aux0.bias"), the keys
  // of a checkpoint, and the non-trained buffers (none for the current layer types).
  std::vector<std::pair<std::string, Parameter*>> named_parameters() const;
  std::vector<std::pair<std::string, Buffer*>> named_buffers() const;
  int64_t num_parameters() const;  // total element count
  // One line: "gat 2x8x8 heads/1 (92,373 params)".
  std::string describe() const;

 private:
  ModelConfig config_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::unique_ptr<Layer>> aux_;  // one per hidden layer when aux_heads
};

}  // namespace gkd::models
