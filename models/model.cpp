#include "models/model.h"

#include <string>

#include "autograd/functions_cohort.h"
#include "autograd/functions_dense.h"
#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::models {

namespace {

constexpr struct {
  Arch arch;
  const char* name;
} kArchNames[] = {{Arch::kMlp, "mlp"},
                  {Arch::kGcn, "gcn"},
                  {Arch::kGat, "gat"},
                  {Arch::kSage, "sage"},
                  {Arch::kGin, "gin"}};

// Dropout masks of one forward pass: site k of step s draws Philox stream s * kSites + k, so no
// two sites or steps share a mask.
constexpr uint64_t kSites = 1024;

void check_config(const ModelConfig& c) {
  GKD_CHECK(c.in_dim >= 1, "[Model] in_dim is ", c.in_dim, " (expected >= 1)");
  GKD_CHECK(c.out_dim >= 1, "[Model] out_dim is ", c.out_dim, " (expected >= 1)");
  GKD_CHECK(c.hidden >= 1, "[Model] hidden is ", c.hidden, " (expected >= 1)");
  GKD_CHECK(c.layers >= 1 && c.layers < static_cast<int64_t>(kSites) / 2, "[Model] layers is ",
            c.layers, " (expected 1 <= layers < 512)");
  GKD_CHECK(c.heads >= 1 && c.out_heads >= 1, "[Model] heads ", c.heads, ", out_heads ",
            c.out_heads, " (expected >= 1)");
  GKD_CHECK(c.dropout >= 0 && c.dropout < 1, "[Model] dropout is ", c.dropout,
            " (expected a probability in [0, 1))");
  GKD_CHECK(c.attn_dropout >= 0 && c.attn_dropout < 1, "[Model] attn_dropout is ", c.attn_dropout,
            " (expected a probability in [0, 1))");
  GKD_CHECK(c.feat_dropout >= 0 && c.feat_dropout < 1, "[Model] feat_dropout is ", c.feat_dropout,
            " (expected a probability in [0, 1))");
  GKD_CHECK(c.negative_slope >= 0, "[Model] negative_slope is ", c.negative_slope,
            " (expected >= 0)");
}

}  // namespace

int64_t hidden_width(const ModelConfig& c) {
  return c.arch == Arch::kGat ? c.heads * c.hidden : c.hidden;
}

const char* arch_name(Arch arch) {
  for (const auto& a : kArchNames) {
    if (a.arch == arch) return a.name;
  }
  return "?";
}

Arch arch_from_string(const std::string& name) {
  for (const auto& a : kArchNames) {
    if (name == a.name) return a.arch;
  }
  GKD_FAIL("model '", name, "' is unknown (expected mlp, gcn, gat, sage or gin)");
}

Model::Model(const ModelConfig& config, uint64_t seed) : config_(config) {
  check_config(config);
  const ModelConfig& c = config_;
  InitStream init{.seed = seed};
  int64_t in = c.in_dim;
  for (int64_t l = 0; l < c.layers; ++l) {
    const bool last = l + 1 == c.layers;
    const int64_t out = last ? c.out_dim : c.hidden;
    switch (c.arch) {
      case Arch::kMlp:
        layers_.push_back(make_linear(in, out, c.bias, init));
        break;
      case Arch::kGcn:
        layers_.push_back(make_gcn(in, out, c.bias, init));
        break;
      case Arch::kGat:
        layers_.push_back(make_gat(in, out,
                                   {.heads = last ? c.out_heads : c.heads,
                                    .mean_heads = last,
                                    .negative_slope = c.negative_slope,
                                    .attn_dropout = c.attn_dropout,
                                    .feat_dropout = c.feat_dropout,
                                    .residual = l == 0 ? Residual::kNone : c.residual,
                                    .bias = c.bias},
                                   init));
        break;
      case Arch::kSage:
        layers_.push_back(make_sage(in, out, c.aggregator, c.bias, init));
        break;
      case Arch::kGin:
        layers_.push_back(make_gin(
            in, out, {.learn_eps = c.learn_eps, .batch_norm = false, .edge_vocab = {}}, init));
        break;
    }
    in = layers_.back()->out_cols();
    if (!last && c.aux_heads) aux_.push_back(make_linear(in, c.out_dim, true, init));
  }
}

ModelOutput Model::forward(Tape& tape, const Graph& g, const io::FeatureMatrix& x,
                           const ForwardOptions& o) const {
  const Model* self = this;
  return forward_cohort(tape, g, x, {&self, 1}, {&o, 1}).front();
}

std::vector<uint64_t> cohort_seeds(std::span<const ForwardOptions> options) {
  std::vector<uint64_t> seeds;
  for (const ForwardOptions& s : options) {
    GKD_CHECK(s.training == options.front().training && s.step == options.front().step,
              "[forward_cohort] the students of one batch must share training mode and step");
    seeds.push_back(s.seed);
  }
  return seeds;
}

bool Model::can_batch(std::span<const Model* const> students) {
  if (students.empty()) return false;
  for (const Model* m : students) {
    if (!(m->config_ == students.front()->config_)) return false;
  }
  return true;
}

std::vector<ModelOutput> Model::forward_cohort(Tape& tape, const Graph& g,
                                               const io::FeatureMatrix& x,
                                               std::span<const Model* const> students,
                                               std::span<const ForwardOptions> options) {
  const auto k = static_cast<int64_t>(students.size());
  GKD_CHECK(k >= 1 && options.size() == students.size(), "[Model] ", k, " students and ",
            options.size(), " forward options (expected one each)");
  GKD_CHECK(k == 1 || can_batch(students),
            "[Model] the students cannot run as one batch (expected one config)");
  const Model& lead = *students.front();
  const ModelConfig& c = lead.config_;
  const ForwardOptions& o = options.front();
  const std::vector<uint64_t> seeds = cohort_seeds(options);
  GKD_CHECK(x.rows() == g.num_nodes(), "[Model] features have ", x.rows(),
            " rows but the graph has ", g.num_nodes(), " nodes");
  GKD_CHECK(x.cols() == c.in_dim, "[Model] features have ", x.cols(),
            " columns (expected in_dim = ", c.in_dim, ")");
  const float p = static_cast<float>(c.dropout);
  const bool drop = o.training && p > 0;
  uint64_t site = o.step * kSites;

  LayerInput in;
  if (x.is_sparse()) {
    if (drop) {  // each student's kept entries
      for (int64_t s = 0; s < k; ++s) {
        in.sparse.push_back(x.sparse.dropout(tape.context(), p, seeds[s], site));
      }
    } else {
      in.sparse = {x.sparse};
    }
  } else {
    in.dense = autograd::dropout_blocks(tape.constant(x.dense), p, seeds, site, o.training, true);
    in.per_student = drop;
  }
  ++site;

  const std::span<const uint64_t> peer_seeds(seeds.data() + 1, seeds.size() - 1);
  ModelOutput batched;
  for (size_t l = 0; l < lead.layers_.size(); ++l) {
    std::vector<Layer*> peers;
    for (int64_t s = 1; s < k; ++s) peers.push_back(students[s]->layers_[l].get());
    Var h = lead.layers_[l]->forward(tape, g, in,
                                     {o.training, o.seed, site++, peers, peer_seeds});  // [N, K*F]
    if (l + 1 == lead.layers_.size()) {
      batched.logits = h;
      break;
    }
    batched.hidden.push_back(h);
    Var a = autograd::bias_act(h, {}, c.activation);
    if (!lead.aux_.empty()) {
      std::vector<Layer*> aux_peers;
      for (int64_t s = 1; s < k; ++s) aux_peers.push_back(students[s]->aux_[l].get());
      batched.aux_logits.push_back(
          lead.aux_[l]->forward(tape, g, {.dense = a, .per_student = true}, {.peers = aux_peers}));
    }
    in = LayerInput{.dense = autograd::dropout_blocks(a, p, seeds, site++, o.training),
                    .per_student = true};
  }
  if (k == 1) return {batched};

  // Student s's columns of each batched tensor.
  std::vector<ModelOutput> out(static_cast<size_t>(k));
  const std::vector<Var> logits = autograd::split_cols(batched.logits, k);
  for (int64_t s = 0; s < k; ++s) out[s].logits = logits[s];
  for (const Var& h : batched.hidden) {
    const std::vector<Var> blocks = autograd::split_cols(h, k);
    for (int64_t s = 0; s < k; ++s) out[s].hidden.push_back(blocks[s]);
  }
  for (const Var& a : batched.aux_logits) {
    const std::vector<Var> blocks = autograd::split_cols(a, k);
    for (int64_t s = 0; s < k; ++s) out[s].aux_logits.push_back(blocks[s]);
  }
  return out;
}

std::vector<std::pair<std::string, Parameter*>> Model::named_parameters() const {
  std::vector<std::pair<std::string, Parameter*>> out;
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (Parameter* p : layers_[l]->parameters())
      out.emplace_back("layer" + std::to_string(l) + "." + p->name, p);
  }
  for (size_t l = 0; l < aux_.size(); ++l) {
    for (Parameter* p : aux_[l]->parameters())
      out.emplace_back("aux" + std::to_string(l) + "." + p->name, p);
  }
  return out;
}

std::vector<std::pair<std::string, Buffer*>> Model::named_buffers() const {
  std::vector<std::pair<std::string, Buffer*>> out;
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (Buffer* b : layers_[l]->buffers())
      out.emplace_back("layer" + std::to_string(l) + "." + b->name, b);
  }
  return out;
}

std::vector<Parameter*> Model::parameters() const {
  std::vector<Parameter*> out;
  for (const auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const Parameter* p : parameters()) n += p->value.numel();
  return n;
}

std::string Model::describe() const {
  const ModelConfig& c = config_;
  std::string s = std::string(arch_name(c.arch)) + " " + std::to_string(c.layers) +
                  " layers, hidden " + std::to_string(c.hidden);
  if (c.arch == Arch::kGat) {
    s += " x " + std::to_string(c.heads) + " heads, " + std::to_string(c.out_heads) +
         " output heads";
  }
  return s + " (" + std::to_string(num_parameters()) + " parameters)";
}

}  // namespace gkd::models
