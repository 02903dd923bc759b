// GNN layers. Each computes a layer's pre-activation output from its input; the model applies
// dropout before and the activation after (models/model.h). Every layer starts with products
// "input · W", so a sparse input (bag-of-words features) costs one SpMM per weight matrix and
// never a dense [N, F_in] GEMM: aggregation is linear, so Â (X W) = (Â X) W.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autograd/tape.h"
#include "engine/graph.h"
#include "engine/sparse_matrix.h"
#include "kernels/dense.h"

namespace gkd::models {

using autograd::Parameter;
using autograd::Tape;
using autograd::Var;

class Layer;

// A layer's input: the previous layer's activated output, or the dataset's features (dense, or
// sparse with only the entries its input dropout kept). With K students as a batch dimension
// (Model::forward_cohort) a per-student input holds K column blocks, student k's in block k.
struct LayerInput {
  Var dense;  // [N, F_in] or [N, K*F_in], or undefined for sparse input
  // [N, F_in] when dense is undefined: one matrix shared by every student, or K (student k's
  // kept entries after its input dropout).
  std::vector<SparseMatrix> sparse{};
  Tensor edge_attr{};  // i64 [E, D] integer edge features in canonical order (OGB bonds), or none
  bool per_student = false;  // dense holds K blocks (else one input shared by every student)
  // input · w for the K students' stacked weights w = [W_0 | ... | W_{K-1}] ([F_in, K*F_out]):
  // [N, K*F_out] with block k = (student k's input) · W_k. K = 1: input · w.
  Var project(Var w, int64_t students = 1) const;
};

// Settings a layer needs at forward time.
struct LayerStep {
  bool training = false;
  uint64_t seed = 0;
  uint64_t stream = 0;  // Philox stream for this layer's own dropout (GAT attention)
  // Students as a batch dimension: the corresponding layers of students 1..K-1 (same type and
  // shapes as this one, student 0's) and their dropout seeds. Empty: a single model.
  std::span<Layer* const> peers{};
  std::span<const uint64_t> peer_seeds{};
  int64_t students() const { return 1 + static_cast<int64_t>(peers.size()); }
  std::vector<uint64_t> seeds() const;  // {seed, peer_seeds...}
};

// A tensor a layer keeps between steps without training it (batch-norm running statistics).
// Checkpoints save buffers with the parameters.
struct Buffer {
  std::string name;
  Tensor value;
};

class Layer {
 public:
  virtual ~Layer() = default;
  // The pre-activation output [N, out_cols()], or [N, K*out_cols()] for K students (step.peers),
  // student k's in block k. A training step may update the layer's buffers.
  virtual Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) = 0;
  virtual int64_t out_cols() const = 0;
  std::vector<Parameter*> parameters();
  std::vector<Buffer*> buffers();

  // Registers a parameter or buffer owned by the layer (stable addresses: layers are
  // heap-allocated and never copied); public so that building blocks can register on a layer.
  Parameter& own(Parameter p);
  Buffer& own(Buffer b);

  // p (one of this layer's parameters) bound on the tape; with peers, the same parameter of every
  // student side by side, [rows, K*cols] (autograd::concat_cols; the gradient flows back to each).
  Var stacked(Tape& tape, const LayerStep& step, Parameter& p) const;
  // b (one of this layer's buffers) and the same buffer of every peer, student order.
  std::vector<Buffer*> cohort_buffers(const LayerStep& step, Buffer& b) const;

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

// Parameters draw Philox streams from a counter, so each weight of a model gets its own stream.
struct InitStream {
  uint64_t seed = 0;
  uint64_t next = 1;
  uint64_t take() { return next++; }
};

// x · W + b.
std::unique_ptr<Layer> make_linear(int64_t in, int64_t out, bool bias, InitStream& init);

// Kipf & Welling: Â (x W) + b with Â = D^-1/2 (A + I) D^-1/2 (self loops added, DGL norm="both").
std::unique_ptr<Layer> make_gcn(int64_t in, int64_t out, bool bias, InitStream& init);

// How a GAT layer adds its input back.
enum class Residual {
  kNone,
  kLinear,    // + x W_res (no bias) always: DGL 0.4's rule for every multi-head layer of the seeds
  kIdentity,  // + x when in == heads * out (modern DGL), else + x W_res
};

struct GatOptions {
  int64_t heads = 1;
  bool mean_heads = false;  // output layer: average the heads ([N, out]) instead of concatenating
  double negative_slope = 0.2;
  double attn_dropout = 0.0;
  // Dropout on the projected features before aggregation, as the original TensorFlow GAT (its
  // in_drop applied a second time); PyG and DGL do not.
  double feat_dropout = 0.0;
  Residual residual = Residual::kNone;
  bool bias = true;
};
// Veličković et al. / DGL GATConv over A + I: z = x W per head, e_uv = LeakyReLU(a_l·z_u +
// a_r·z_v), α = softmax over v's in-edges (then attention dropout), out_v = Σ_u α_uv z_u (+
// residual) (+ b).
std::unique_ptr<Layer> make_gat(int64_t in, int64_t out, const GatOptions& options,
                                InitStream& init);

enum class SageAggregator {
  kMean,  // W_self x_v + W_neigh mean_u x_u + b (PyG SAGEConv)
  kPool,  // W_self x_v + W_neigh max_u relu(W_pool x_u + b_pool) + b (Hamilton et al.)
};
std::unique_ptr<Layer> make_sage(int64_t in, int64_t out, SageAggregator aggregator, bool bias,
                                 InitStream& init);

// torch.nn.BatchNorm1d over the rows of a dense input (momentum 0.1, ε 1e-5): batch statistics
// when training (updating the running ones), running statistics otherwise.
std::unique_ptr<Layer> make_batch_norm(int64_t features);

struct GinOptions {
  bool learn_eps = false;   // GIN-ε (ε learned from 0) instead of GIN-0
  bool batch_norm = false;  // BatchNorm between the MLP's two linears (Xu et al.'s graph models)
  // OGB's GIN with edge features: the message from u is ReLU(x_u + bond embedding) instead of
  // x_u, the bond embedding summing one learned table per column of LayerInput::edge_attr, with
  // these vocabulary sizes (empty: no edge features).
  std::vector<int64_t> edge_vocab;
};
// Xu et al. GIN: MLP((1 + ε) x_v + Σ_u m_u), MLP = Linear -> [BatchNorm ->] ReLU -> Linear.
std::unique_ptr<Layer> make_gin(int64_t in, int64_t out, const GinOptions& options,
                                InitStream& init);

// Embeds integer features (OGB's AtomEncoder / BondEncoder): row i becomes Σ_d T_d[ids[i, d]],
// the tables T_d stacked in `table` ([Σ vocab, dim], T_d starting at row vocab[0] + ... +
// vocab[d-1]). ids: i64 [M, D] with ids[:, d] in [0, vocab[d]), checked (error names the column).
Var embedding_sum(Var table, const std::vector<int64_t>& vocab, const Tensor& ids);

}  // namespace gkd::models
