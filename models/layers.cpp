#include "models/layers.h"

#include <numeric>
#include <optional>
#include <vector>

#include "autograd/functions_cohort.h"
#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "engine/error.h"
#include "models/init.h"

namespace gkd::models {

using kernels::Activation;
namespace ag = autograd;

Var LayerInput::project(Var w, int64_t students) const {
  if (dense.defined()) {
    return per_student ? ag::block_matmul(dense, w, students) : ag::matmul(dense, w);
  }
  // One shared matrix multiplies every block of the stacked weights at once; K matrices (each
  // student's input dropout) multiply one block each.
  return ag::sparse_matmul(sparse, w);
}

std::vector<uint64_t> LayerStep::seeds() const {
  std::vector<uint64_t> out{seed};
  out.insert(out.end(), peer_seeds.begin(), peer_seeds.end());
  return out;
}

std::vector<Buffer*> Layer::cohort_buffers(const LayerStep& step, Buffer& b) const {
  size_t index = 0;
  while (index < buffers_.size() && buffers_[index].get() != &b) ++index;
  GKD_CHECK(index < buffers_.size(), "[Layer] ", b.name, " is not a buffer of this layer");
  std::vector<Buffer*> out{&b};
  for (Layer* peer : step.peers) {
    GKD_CHECK(index < peer->buffers_.size() && peer->buffers_[index]->value.same_shape(b.value),
              "[Layer] the students' layers differ in ", b.name);
    out.push_back(peer->buffers_[index].get());
  }
  return out;
}

Var Layer::stacked(Tape& tape, const LayerStep& step, Parameter& p) const {
  if (step.peers.empty()) return tape.param(p);
  size_t index = 0;
  while (index < params_.size() && params_[index].get() != &p) ++index;
  GKD_CHECK(index < params_.size(), "[Layer] ", p.name, " is not a parameter of this layer");
  std::vector<Var> per_student{tape.param(p)};
  for (Layer* peer : step.peers) {
    GKD_CHECK(index < peer->params_.size() && peer->params_[index]->value.same_shape(p.value),
              "[Layer] the students' layers differ in ", p.name);
    per_student.push_back(tape.param(*peer->params_[index]));
  }
  return ag::concat_cols(per_student);
}

std::vector<Parameter*> Layer::parameters() {
  std::vector<Parameter*> out;
  for (auto& p : params_) out.push_back(p.get());
  return out;
}

std::vector<Buffer*> Layer::buffers() {
  std::vector<Buffer*> out;
  for (auto& b : buffers_) out.push_back(b.get());
  return out;
}

Parameter& Layer::own(Parameter p) {
  params_.push_back(std::make_unique<Parameter>(std::move(p)));
  return *params_.back();
}

Buffer& Layer::own(Buffer b) {
  buffers_.push_back(std::make_unique<Buffer>(std::move(b)));
  return *buffers_.back();
}

Var embedding_sum(Var table, const std::vector<int64_t>& vocab, const Tensor& ids) {
  const auto d_count = static_cast<int64_t>(vocab.size());
  GKD_CHECK(ids.dtype() == DType::kI64 && ids.cols() == d_count, "[embedding] ids are ",
            dtype_name(ids.dtype()), " [", ids.rows(), ", ", ids.cols(), "] (expected i64 [M, ",
            d_count, "])");
  const std::vector<int64_t> v = ids.to(Device::kCPU).to_vector<int64_t>();  // row-major
  const int64_t m = ids.rows();
  // Row i's D lookups are rows i*D .. i*D+D-1 of the gathered matrix, so a segment sum with
  // offsets 0, D, 2D, ... adds them up.
  std::vector<int64_t> flat(static_cast<size_t>(m * d_count)), offsets(m + 1);
  for (int64_t i = 0; i < m; ++i) {
    int64_t base = 0;
    for (int64_t d = 0; d < d_count; ++d) {
      const int64_t id = v[i * d_count + d];
      GKD_CHECK(id >= 0 && id < vocab[d], "[embedding] ids[", i, ", ", d, "] = ", id,
                " (expected [0, ", vocab[d], ") for column ", d, ")");
      flat[i * d_count + d] = base + id;
      base += vocab[d];
    }
    offsets[i + 1] = (i + 1) * d_count;
  }
  const Device dev = table.value().device();
  const Tensor index = Tensor::from_vector<int64_t>(m * d_count, 1, flat).to(dev);
  const Tensor seg = Tensor::from_vector<int64_t>(m + 1, 1, offsets).to(dev);
  return ag::segment_sum(seg, ag::gather_rows(table, index));  // [M, dim]
}

namespace {

// h + the stacked biases.
Var add_bias(Var h, Var b) {
  return b.defined() ? ag::bias_act(h, b, Activation::kNone) : h;
}

class Linear : public Layer {
 public:
  Linear(int64_t in, int64_t out, bool bias, InitStream& init)
      : w_(own(glorot_uniform("weight", in, out, init.seed, init.take()))),
        b_(bias ? &own(zeros("bias", 1, out)) : nullptr) {}
  Var forward(Tape& tape, const Graph&, const LayerInput& in, const LayerStep& step) override {
    return add_bias(in.project(stacked(tape, step, w_), step.students()),
                    b_ ? stacked(tape, step, *b_) : Var());
  }
  int64_t out_cols() const override { return w_.value.cols(); }

 private:
  Parameter& w_;
  Parameter* b_;
};

class Gcn : public Layer {
 public:
  Gcn(int64_t in, int64_t out, bool bias, InitStream& init)
      : w_(own(glorot_uniform("weight", in, out, init.seed, init.take()))),
        b_(bias ? &own(zeros("bias", 1, out)) : nullptr) {}
  Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) override {
    const Graph& gs = g.with_self_loops();
    // [N, K*out]: project first, aggregate fewer columns, every student in one SpMM.
    Var h = in.project(stacked(tape, step, w_), step.students());
    h = ag::spmm(gs, h, tape.constant(gs.norm(EdgeNorm::kGcnSymmetric, h.value().dtype())));
    return add_bias(h, b_ ? stacked(tape, step, *b_) : Var());
  }
  int64_t out_cols() const override { return w_.value.cols(); }

 private:
  Parameter& w_;
  Parameter* b_;
};

class Gat : public Layer {
 public:
  Gat(int64_t in, int64_t out, const GatOptions& o, InitStream& init) : o_(o), out_(out) {
    GKD_CHECK(o.heads >= 1 && out >= 1, "[GAT] heads ", o.heads, " and width ", out,
              " (expected >= 1)");
    const int64_t hf = o.heads * out;
    w_ = &own(glorot_uniform("weight", in, hf, init.seed, init.take()));
    // Attention vectors [1, H*F]; Glorot over one head's (F, 1) shape, as PyG's [1, H, F] tensor.
    a_src_ = &own(glorot_uniform("attn_src", 1, hf, init.seed, init.take(), 1.0, out, 1));
    a_dst_ = &own(glorot_uniform("attn_dst", 1, hf, init.seed, init.take(), 1.0, out, 1));
    const bool identity = o.residual == Residual::kIdentity && in == hf;
    if (o.residual != Residual::kNone && !identity) {
      w_res_ = &own(glorot_uniform("res_weight", in, hf, init.seed, init.take()));
    }
    identity_residual_ = o.residual != Residual::kNone && identity;
    if (o.bias) b_ = &own(zeros("bias", 1, o.mean_heads ? out : hf));
  }

  Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) override {
    const Graph& gs = g.with_self_loops();
    // K students' heads side by side are K*H heads of one layer: one SDDMM, one edge softmax and
    // one SpMM for the cohort.
    const int64_t k = step.students(), h = k * o_.heads;
    const std::vector<uint64_t> seeds = step.seeds();
    Var z = in.project(stacked(tape, step, *w_), k);  // [N, K*H*F]
    Var logits = ag::sddmm_u_add_v(gs, ag::head_dot(z, stacked(tape, step, *a_src_), h),
                                   ag::head_dot(z, stacked(tape, step, *a_dst_), h), true,
                                   o_.negative_slope);  // [E, K*H]
    Var alpha = ag::edge_softmax(gs, logits);
    alpha = ag::dropout_blocks(alpha, static_cast<float>(o_.attn_dropout), seeds, step.stream,
                               step.training);
    // The original GAT code also drops the projected features that are aggregated (the scores
    // above use them undropped); its own stream: the top bit is never set in a model's streams.
    Var values = ag::dropout_blocks(z, static_cast<float>(o_.feat_dropout), seeds,
                                    step.stream | (uint64_t{1} << 63), step.training);
    Var out = ag::spmm(gs, values, alpha);  // [N, K*H*F]
    if (w_res_) out = ag::add(out, in.project(stacked(tape, step, *w_res_), k));
    if (identity_residual_) {
      GKD_CHECK(in.dense.defined() && (k == 1 || in.per_student),
                "[GAT] an identity residual needs a dense input of every student");
      out = ag::add(out, in.dense);
    }
    if (o_.mean_heads && o_.heads > 1) {
      out = ag::block_matmul(out, tape.constant(head_mean(z.value().dtype(), k)), k);
    }
    return add_bias(out, b_ ? stacked(tape, step, *b_) : Var());
  }
  int64_t out_cols() const override { return o_.mean_heads ? out_ : o_.heads * out_; }

 private:
  // K copies side by side of the [H*F, F] matrix with 1/H where row h*F + j meets column j:
  // right-multiplying each student's block averages its heads.
  Tensor head_mean(DType dtype, int64_t students) const {
    const int64_t cols = students * out_;
    std::vector<double> m(o_.heads * out_ * cols, 0.0);
    for (int64_t hd = 0; hd < o_.heads; ++hd) {
      for (int64_t j = 0; j < out_; ++j) {
        for (int64_t s = 0; s < students; ++s)
          m[(hd * out_ + j) * cols + s * out_ + j] = 1.0 / o_.heads;
      }
    }
    return Tensor::from_vector<double>(o_.heads * out_, cols, m).to_dtype(dtype);
  }

  GatOptions o_;
  int64_t out_;
  Parameter *w_ = nullptr, *a_src_ = nullptr, *a_dst_ = nullptr, *w_res_ = nullptr;
  Parameter* b_ = nullptr;
  bool identity_residual_ = false;
};

class Sage : public Layer {
 public:
  Sage(int64_t in, int64_t out, SageAggregator agg, bool bias, InitStream& init) : agg_(agg) {
    w_self_ = &own(glorot_uniform("self_weight", in, out, init.seed, init.take()));
    if (agg == SageAggregator::kPool) {
      w_pool_ = &own(glorot_uniform("pool_weight", in, in, init.seed, init.take()));
      b_pool_ = &own(zeros("pool_bias", 1, in));
    }
    w_neigh_ = &own(glorot_uniform("neigh_weight", in, out, init.seed, init.take()));
    if (bias) b_ = &own(zeros("bias", 1, out));
  }

  Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) override {
    const int64_t k = step.students();
    Var self = in.project(stacked(tape, step, *w_self_), k);
    Var neigh;
    if (agg_ == SageAggregator::kMean) {
      neigh = ag::spmm(g, in.project(stacked(tape, step, *w_neigh_), k), {}, true);
    } else {
      // max over in-edges of relu(x_u W_pool + b): canonical edges are grouped by destination,
      // so the in-CSR row pointer delimits each node's segment of gathered source rows.
      Var pooled = ag::bias_act(in.project(stacked(tape, step, *w_pool_), k),
                                stacked(tape, step, *b_pool_), Activation::kRelu);  // [N, K*in]
      const auto& indptr = g.host_in_indptr();
      const Tensor offsets =
          Tensor::from_vector<int64_t>(static_cast<int64_t>(indptr.size()), 1, indptr)
              .to(g.device());
      Var m = ag::segment_max(offsets, ag::gather_rows(pooled, g.edge_src()));  // [N, K*in]
      neigh = ag::block_matmul(m, stacked(tape, step, *w_neigh_), k);
    }
    return add_bias(ag::add(self, neigh), b_ ? stacked(tape, step, *b_) : Var());
  }
  int64_t out_cols() const override { return w_self_->value.cols(); }

 private:
  SageAggregator agg_;
  Parameter *w_self_ = nullptr, *w_pool_ = nullptr, *b_pool_ = nullptr, *w_neigh_ = nullptr;
  Parameter* b_ = nullptr;
};

// BatchNorm1d over `f` columns: affine parameters and running statistics, registered on the
// owning layer in this order (the order parameters() lists them). Normalisation is per column, so
// K students' blocks side by side normalise as K batch norms: their γ, β and running statistics
// are stacked for the call and the updated statistics copied back to each student.
class BatchNormState {
 public:
  BatchNormState(Parameter& gamma, Parameter& beta, Buffer& mean, Buffer& var)
      : gamma_(gamma), beta_(beta), mean_(mean), var_(var) {}
  Var apply(Tape& tape, const Layer& owner, const LayerStep& step, Var x) const {
    if (step.peers.empty()) {
      return ag::batch_norm(x, tape.param(gamma_), tape.param(beta_), mean_.value, var_.value,
                            {.training = step.training});
    }
    const std::vector<Buffer*> means = owner.cohort_buffers(step, mean_);
    const std::vector<Buffer*> vars = owner.cohort_buffers(step, var_);
    Tensor mean = side_by_side(means), var = side_by_side(vars);
    Var y = ag::batch_norm(x, owner.stacked(tape, step, gamma_), owner.stacked(tape, step, beta_),
                           mean, var, {.training = step.training});
    if (step.training) {  // the running statistics were updated in the stacked copies
      const int64_t f = mean_.value.cols();
      for (size_t k = 0; k < means.size(); ++k) {
        const auto at = static_cast<int64_t>(k) * f;
        means[k]->value.copy_from(mean.slice_cols(at, at + f));
        vars[k]->value.copy_from(var.slice_cols(at, at + f));
      }
    }
    return y;
  }

 private:
  static Tensor side_by_side(const std::vector<Buffer*>& buffers) {
    const Tensor& first = buffers.front()->value;
    const auto k = static_cast<int64_t>(buffers.size());
    Tensor out = Tensor::empty(1, k * first.cols(), first.dtype(), first.device());
    for (int64_t i = 0; i < k; ++i) {
      out.slice_cols(i * first.cols(), (i + 1) * first.cols()).copy_from(buffers[i]->value);
    }
    return out;
  }

  Parameter &gamma_, &beta_;
  Buffer &mean_, &var_;
};

class BatchNorm : public Layer {
 public:
  explicit BatchNorm(int64_t f) : f_(f) { bn_.emplace(make_state(*this, "", f)); }
  Var forward(Tape& tape, const Graph&, const LayerInput& in, const LayerStep& step) override {
    GKD_CHECK(in.dense.defined(), "[batch_norm] needs a dense input");
    return bn_->apply(tape, *this, step, in.dense);
  }
  int64_t out_cols() const override { return f_; }

  // Registers γ = 1, β = 0, running mean 0 and running variance 1 (PyTorch's initial state) on
  // `owner`, names prefixed by `prefix`.
  static BatchNormState make_state(Layer& owner, const std::string& prefix, int64_t f);

 private:
  int64_t f_;
  std::optional<BatchNormState> bn_;
};

BatchNormState BatchNorm::make_state(Layer& owner, const std::string& prefix, int64_t f) {
  Parameter& gamma = owner.own(ones(prefix + "weight", 1, f));
  Parameter& beta = owner.own(zeros(prefix + "bias", 1, f));
  Buffer& mean = owner.own(Buffer{prefix + "running_mean", Tensor::zeros(1, f, DType::kF32)});
  Buffer& var = owner.own(Buffer{prefix + "running_var", Tensor::full(1, f, 1.0, DType::kF32)});
  return {gamma, beta, mean, var};
}

class Gin : public Layer {
 public:
  Gin(int64_t in, int64_t out, const GinOptions& o, InitStream& init)
      : w1_(own(glorot_uniform("mlp_weight1", in, out, init.seed, init.take()))),
        b1_(own(zeros("mlp_bias1", 1, out))),
        w2_(own(glorot_uniform("mlp_weight2", out, out, init.seed, init.take()))),
        b2_(own(zeros("mlp_bias2", 1, out))),
        eps_(o.learn_eps ? &own(zeros("eps", 1, 1)) : nullptr),
        edge_vocab_(o.edge_vocab),
        edge_table_(o.edge_vocab.empty()
                        ? nullptr
                        : &own(glorot_uniform(
                              "edge_embedding",
                              std::accumulate(o.edge_vocab.begin(), o.edge_vocab.end(), int64_t{0}),
                              in, init.seed, init.take()))) {
    if (o.batch_norm) bn_.emplace(BatchNorm::make_state(*this, "mlp_bn_", out));
  }

  Var forward(Tape& tape, const Graph& g, const LayerInput& in, const LayerStep& step) override {
    const int64_t k = step.students();
    Var h;  // [N, K*out]: the MLP's first linear applied to (1 + ε) x_v + Σ_u m_u, before its bias
    if (edge_table_) {
      GKD_CHECK(in.dense.defined() && in.edge_attr.defined() && (k == 1 || in.per_student),
                "[gin] edge features need a dense node input of every student and "
                "LayerInput::edge_attr");
      // Messages ReLU(x_u + e_uv) per canonical edge; canonical edges are grouped by destination,
      // so the in-CSR row pointer delimits each node's segment. The students' tables side by
      // side embed every student's bonds in one pass.
      Var e = embedding_sum(stacked(tape, step, *edge_table_), edge_vocab_, in.edge_attr);
      Var m =
          ag::bias_act(ag::add(ag::gather_rows(in.dense, g.edge_src()), e), {}, Activation::kRelu);
      const auto& indptr = g.host_in_indptr();
      const Tensor offsets =
          Tensor::from_vector<int64_t>(static_cast<int64_t>(indptr.size()), 1, indptr)
              .to(g.device());
      Var self = eps_ ? ag::add(in.dense, ag::mul(in.dense, eps_per_block(tape, step, in.dense)))
                      : in.dense;
      h = ag::block_matmul(ag::add(ag::segment_sum(offsets, m), self), stacked(tape, step, w1_), k);
    } else {
      Var p = in.project(stacked(tape, step, w1_), k);  // hoisted: aggregation is linear
      Var self = eps_ ? ag::add(p, ag::mul(p, eps_per_block(tape, step, p))) : p;
      h = ag::add(ag::spmm(g, p), self);
    }
    if (bn_) {
      h = ag::bias_act(bn_->apply(tape, *this, step,
                                  ag::bias_act(h, stacked(tape, step, b1_), Activation::kNone)),
                       {}, Activation::kRelu);
    } else {
      h = ag::bias_act(h, stacked(tape, step, b1_), Activation::kRelu);
    }
    return ag::bias_act(ag::block_matmul(h, stacked(tape, step, w2_), k), stacked(tape, step, b2_),
                        Activation::kNone);
  }
  int64_t out_cols() const override { return w2_.value.cols(); }

 private:
  // Student k's ε over its column block of x ([N, K*F]): [1, 1] for one student, else [1, K*F]
  // (the stacked ε times a constant block-of-ones matrix, so each ε gets its gradient).
  Var eps_per_block(Tape& tape, const LayerStep& step, Var x) const {
    const int64_t k = step.students();
    Var eps = stacked(tape, step, *eps_);  // [1, K]
    if (k == 1) return eps;
    const int64_t f = x.cols() / k;
    std::vector<double> blocks(static_cast<size_t>(k * k * f), 0.0);
    for (int64_t s = 0; s < k; ++s) {
      for (int64_t j = 0; j < f; ++j) blocks[s * k * f + s * f + j] = 1.0;
    }
    const Tensor spread = Tensor::from_vector<double>(k, k * f, blocks)
                              .to_dtype(x.value().dtype())
                              .to(x.value().device());
    return ag::matmul(eps, tape.constant(spread));
  }

  Parameter &w1_, &b1_, &w2_, &b2_;
  Parameter* eps_;
  std::vector<int64_t> edge_vocab_;
  Parameter* edge_table_;
  std::optional<BatchNormState> bn_;
};

}  // namespace

std::unique_ptr<Layer> make_linear(int64_t in, int64_t out, bool bias, InitStream& init) {
  return std::make_unique<Linear>(in, out, bias, init);
}
std::unique_ptr<Layer> make_gcn(int64_t in, int64_t out, bool bias, InitStream& init) {
  return std::make_unique<Gcn>(in, out, bias, init);
}
std::unique_ptr<Layer> make_gat(int64_t in, int64_t out, const GatOptions& options,
                                InitStream& init) {
  return std::make_unique<Gat>(in, out, options, init);
}
std::unique_ptr<Layer> make_sage(int64_t in, int64_t out, SageAggregator aggregator, bool bias,
                                 InitStream& init) {
  return std::make_unique<Sage>(in, out, aggregator, bias, init);
}
std::unique_ptr<Layer> make_batch_norm(int64_t features) {
  return std::make_unique<BatchNorm>(features);
}
std::unique_ptr<Layer> make_gin(int64_t in, int64_t out, const GinOptions& options,
                                InitStream& init) {
  return std::make_unique<Gin>(in, out, options, init);
}

}  // namespace gkd::models
