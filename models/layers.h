// GNN layers. Each computes a layer's pre-activation output from its input; the model applies
// dropout before and the activation after (models/model.h). Every layer starts with products
// "input · W", so a sparse input (bag-of-words features) costs one SpMM per weight matrix and
// never a dense [N, F_in] GEMM: aggregation is linear, so Â (X W) = (Â X) W.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/tape.h"
#include "engine/graph.h"
#include "engine/sparse_matrix.h"
#include "kernels/dense.h"

namespace gkd::models {

using autograd::Parameter;
using autograd::Tape;
using autograd::Var;

// A layer's input: the previous layer's activated output, or the dataset's features (dense, or
// sparse with its nonzeros after input dropout).
struct LayerInput {
  Var dense;                             // [N, F_in], or undefined for sparse input
  const SparseMatrix* sparse = nullptr;  // [N, F_in] when dense is undefined
  Tensor sparse_values{};                // [nnz, 1]: the values to use for *sparse
  int64_t cols() const { return dense.defined() ? dense.cols() : sparse->cols(); }
  Var project(Var w) const;  // input · w: [N, F_in] · [F_in, F_out]
};

// Settings a layer needs at forward time.
struct LayerStep {
  bool training = false;
  uint64_t seed = 0;
  uint64_t stream = 0;  // Philox stream for this layer's own dropout (GAT attention)
};

class Layer {
 public:
  virtual ~Layer() = default;
  // The pre-activation output [N, out_cols()].
  virtual Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) = 0;
  virtual int64_t out_cols() const = 0;
  std::vector<Parameter*> parameters();

 protected:
  // Registers a parameter owned by the layer (stable address: layers are heap-allocated and never
  // copied).
  Parameter& own(Parameter p);

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
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

// Xu et al. GIN: MLP((1 + ε) x_v + Σ_u x_u), MLP = Linear -> ReLU -> Linear; ε = 0 (GIN-0) or
// learned (GIN-ε, starting at 0).
std::unique_ptr<Layer> make_gin(int64_t in, int64_t out, bool learn_eps, InitStream& init);

}  // namespace gkd::models
