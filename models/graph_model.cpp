#include "models/graph_model.h"

#include <numeric>

#include "autograd/functions_cohort.h"
#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "engine/error.h"
#include "models/init.h"

namespace gkd::models {

namespace ag = autograd;

namespace {

constexpr struct {
  Readout readout;
  const char* name;
} kReadoutNames[] = {{Readout::kSum, "sum"}, {Readout::kMean, "mean"}, {Readout::kMax, "max"}};

// Dropout streams of one forward: site k of step s is stream s * kSites + k (as models::Model).
constexpr uint64_t kSites = 1024;

void check_config(const GraphModelConfig& c) {
  GKD_CHECK(c.in_dim >= 1, "[GraphModel] in_dim is ", c.in_dim, " (expected >= 1)");
  GKD_CHECK(c.out_dim >= 1, "[GraphModel] out_dim is ", c.out_dim, " (expected >= 1)");
  GKD_CHECK(c.hidden >= 1, "[GraphModel] hidden is ", c.hidden, " (expected >= 1)");
  GKD_CHECK(c.layers >= 1 && c.layers < static_cast<int64_t>(kSites) - 1, "[GraphModel] layers is ",
            c.layers, " (expected 1 <= layers < 1023)");
  GKD_CHECK(c.heads >= 1, "[GraphModel] heads is ", c.heads, " (expected >= 1)");
  GKD_CHECK(c.dropout >= 0 && c.dropout < 1, "[GraphModel] dropout is ", c.dropout,
            " (expected a probability in [0, 1))");
  GKD_CHECK(c.node_vocab.empty() || static_cast<int64_t>(c.node_vocab.size()) == c.in_dim,
            "[GraphModel] node_vocab has ", c.node_vocab.size(),
            " tables (expected in_dim = ", c.in_dim, ")");
  for (int64_t v : c.node_vocab) {
    GKD_CHECK(v >= 1, "[GraphModel] node_vocab size ", v, " (expected >= 1)");
  }
  for (int64_t v : c.edge_vocab) {
    GKD_CHECK(v >= 1, "[GraphModel] edge_vocab size ", v, " (expected >= 1)");
  }
  GKD_CHECK(c.edge_vocab.empty() || c.arch == Arch::kGin,
            "[GraphModel] edge features are supported by gin only (got ", arch_name(c.arch), ")");
}

}  // namespace

const char* readout_name(Readout readout) {
  for (const auto& r : kReadoutNames) {
    if (r.readout == readout) return r.name;
  }
  return "?";
}

Readout readout_from_string(const std::string& name) {
  for (const auto& r : kReadoutNames) {
    if (name == r.name) return r.readout;
  }
  GKD_FAIL("readout '", name, "' is unknown (expected sum, mean or max)");
}

int64_t hidden_width(const GraphModelConfig& c) {
  return c.arch == Arch::kGat ? c.heads * c.hidden : c.hidden;
}

GraphModel::GraphModel(const GraphModelConfig& config, uint64_t seed) : config_(config) {
  check_config(config);
  const GraphModelConfig& c = config_;
  InitStream init{.seed = seed};
  int64_t in = c.in_dim;
  if (!c.node_vocab.empty()) {
    const int64_t rows = std::accumulate(c.node_vocab.begin(), c.node_vocab.end(), int64_t{0});
    node_table_ = std::make_unique<Parameter>(
        glorot_uniform("node_embedding", rows, c.hidden, init.seed, init.take()));
    in = c.hidden;
  }
  if (c.jumping) heads_.push_back({"head0", make_linear(in, c.out_dim, true, init)});
  for (int64_t l = 1; l <= c.layers; ++l) {
    std::unique_ptr<Layer> layer;
    switch (c.arch) {
      case Arch::kMlp:
        layer = make_linear(in, c.hidden, true, init);
        break;
      case Arch::kGcn:
        layer = make_gcn(in, c.hidden, true, init);
        break;
      case Arch::kGat:
        layer = make_gat(in, c.hidden, {.heads = c.heads}, init);
        break;
      case Arch::kSage:
        layer = make_sage(in, c.hidden, SageAggregator::kMean, true, init);
        break;
      case Arch::kGin:
        layer = make_gin(
            in, c.hidden,
            {.learn_eps = c.learn_eps, .batch_norm = c.batch_norm, .edge_vocab = c.edge_vocab},
            init);
        break;
    }
    in = layer->out_cols();
    const std::string at = std::to_string(l);
    layers_.push_back({"layer" + at, std::move(layer)});
    if (c.batch_norm) norms_.push_back({"norm" + at, make_batch_norm(in)});
    if (c.jumping || l == c.layers) {
      heads_.push_back({"head" + at, make_linear(in, c.out_dim, true, init)});
    }
  }
  // Drawn after every other weight, so that aux_heads leaves the model's own weights unchanged.
  for (int64_t l = 1; c.aux_heads && l < c.layers; ++l) {
    aux_.push_back({"aux" + std::to_string(l), make_linear(in, c.out_dim, true, init)});
  }
}

GraphModelOutput GraphModel::forward(Tape& tape, const io::GraphBatch& batch,
                                     const ForwardOptions& o) const {
  const GraphModel* self = this;
  return forward_cohort(tape, batch, {&self, 1}, {&o, 1}).front();
}

bool GraphModel::can_batch(std::span<const GraphModel* const> students) {
  if (students.empty()) return false;
  for (const GraphModel* m : students) {
    if (!(m->config_ == students.front()->config_)) return false;
  }
  return true;
}

std::vector<GraphModelOutput> GraphModel::forward_cohort(
    Tape& tape, const io::GraphBatch& batch, std::span<const GraphModel* const> students,
    std::span<const ForwardOptions> options) {
  const auto k = static_cast<int64_t>(students.size());
  GKD_CHECK(k >= 1 && options.size() == students.size(), "[GraphModel] ", k, " students and ",
            options.size(), " forward options (expected one each)");
  GKD_CHECK(k == 1 || can_batch(students),
            "[GraphModel] the students cannot run as one batch (expected one config)");
  const GraphModel& lead = *students.front();
  const GraphModelConfig& c = lead.config_;
  const ForwardOptions& o = options.front();
  const std::vector<uint64_t> seeds = cohort_seeds(options);
  const std::span<const uint64_t> peer_seeds(seeds.data() + 1, seeds.size() - 1);
  const Graph& g = batch.graph;
  GKD_CHECK(batch.x.rows() == g.num_nodes() && batch.x.cols() == c.in_dim, "[GraphModel] x is [",
            batch.x.rows(), ", ", batch.x.cols(), "] (expected [", g.num_nodes(), ", ", c.in_dim,
            "])");
  const Device dev = tape.context().device();
  // The cohort's node states side by side ([N, K*width], student s in block s); the dataset's
  // dense features are one input shared by every student until the first layer.
  Var h;
  bool per_student = false;
  if (lead.node_table_) {
    std::vector<Var> tables;  // the students' embedding tables side by side: one lookup for all
    for (const GraphModel* s : students) tables.push_back(tape.param(*s->node_table_));
    h = embedding_sum(autograd::concat_cols(tables), c.node_vocab, batch.x);
    per_student = k > 1;
  } else {
    GKD_CHECK(is_floating(batch.x.dtype()), "[GraphModel] x is ", dtype_name(batch.x.dtype()),
              " (expected floating features, or node_vocab for integer ids)");
    h = tape.constant(batch.x.to(dev));
  }
  const Tensor edge_attr =
      batch.edge_attr.defined() && !c.edge_vocab.empty() ? batch.edge_attr.to(dev) : Tensor();
  const Tensor& offsets = g.node_offsets_tensor();
  const auto readout = [&](Var x) {
    switch (c.readout) {
      case Readout::kMean:
        return ag::segment_mean(offsets, x);
      case Readout::kMax:
        return ag::segment_max(offsets, x);
      case Readout::kSum:
        break;
    }
    return ag::segment_sum(offsets, x);
  };
  // Student 1..K-1's part of the same role as student 0's `part`.
  const auto peers_of = [&](const std::vector<Part> GraphModel::*parts, size_t index) {
    std::vector<Layer*> peers;
    for (int64_t s = 1; s < k; ++s) peers.push_back((students[s]->*parts)[index].layer.get());
    return peers;
  };
  const auto drop = static_cast<float>(c.dropout);
  uint64_t site = o.step * kSites;
  size_t head = 0;
  Var logits;
  std::vector<Var> hidden, aux;
  const auto predict = [&](Var x, bool x_per_student) {
    // Xu et al. drop out after the linear head; the single-head form drops its input instead.
    const std::vector<Layer*> peers = peers_of(&GraphModel::heads_, head);
    const LayerStep step{.peers = peers};
    Var z;
    if (c.jumping) {
      z = lead.heads_[head++].layer->forward(
          tape, g, {.dense = readout(x), .per_student = x_per_student}, step);
      z = autograd::dropout_blocks(z, drop, seeds, site++, o.training);
    } else {
      Var r = autograd::dropout_blocks(readout(x), drop, seeds, site++, o.training, !x_per_student);
      const bool blocks = x_per_student || (k > 1 && o.training && drop > 0);
      z = lead.heads_[head++].layer->forward(tape, g, {.dense = r, .per_student = blocks}, step);
    }
    logits = logits.defined() ? ag::add(logits, z) : z;
  };
  if (c.jumping) predict(h, per_student);
  for (size_t l = 0; l < lead.layers_.size(); ++l) {
    const std::vector<Layer*> peers = peers_of(&GraphModel::layers_, l);
    const LayerStep step{o.training, o.seed, site++, peers, peer_seeds};
    Var z = lead.layers_[l].layer->forward(
        tape, g, {.dense = h, .edge_attr = edge_attr, .per_student = per_student}, step);
    per_student = k > 1;
    hidden.push_back(z);
    if (c.batch_norm) {
      const std::vector<Layer*> norm_peers = peers_of(&GraphModel::norms_, l);
      z = lead.norms_[l].layer->forward(tape, g, {.dense = z, .per_student = per_student},
                                        {o.training, o.seed, step.stream, norm_peers, peer_seeds});
    }
    h = ag::relu(z);
    if (c.jumping || l + 1 == lead.layers_.size()) predict(h, per_student);
    if (l < lead.aux_.size()) {
      const std::vector<Layer*> aux_peers = peers_of(&GraphModel::aux_, l);
      aux.push_back(lead.aux_[l].layer->forward(
          tape, g, {.dense = readout(h), .per_student = per_student}, {.peers = aux_peers}));
    }
  }
  if (k == 1) return {{.logits = logits, .hidden = hidden, .aux_logits = aux}};
  std::vector<GraphModelOutput> out(static_cast<size_t>(k));
  const std::vector<Var> student_logits = autograd::split_cols(logits, k);
  for (int64_t s = 0; s < k; ++s) out[s].logits = student_logits[s];
  for (const auto& [all, field] :
       {std::pair{&hidden, &GraphModelOutput::hidden}, {&aux, &GraphModelOutput::aux_logits}}) {
    for (const Var& z : *all) {
      const std::vector<Var> blocks = autograd::split_cols(z, k);
      for (int64_t s = 0; s < k; ++s) (out[s].*field).push_back(blocks[s]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Parameter*>> GraphModel::named_parameters() const {
  std::vector<std::pair<std::string, Parameter*>> out;
  if (node_table_) out.emplace_back(node_table_->name, node_table_.get());
  for (const auto* parts : {&layers_, &norms_, &heads_, &aux_}) {
    for (const Part& p : *parts) {
      for (Parameter* q : p.layer->parameters()) out.emplace_back(p.name + "." + q->name, q);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Buffer*>> GraphModel::named_buffers() const {
  std::vector<std::pair<std::string, Buffer*>> out;
  for (const auto* parts : {&layers_, &norms_}) {
    for (const Part& p : *parts) {
      for (Buffer* b : p.layer->buffers()) out.emplace_back(p.name + "." + b->name, b);
    }
  }
  return out;
}

std::vector<Parameter*> GraphModel::parameters() const {
  std::vector<Parameter*> out;
  for (const auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

int64_t GraphModel::num_parameters() const {
  int64_t n = 0;
  for (const Parameter* p : parameters()) n += p->value.numel();
  return n;
}

std::string GraphModel::describe() const {
  const GraphModelConfig& c = config_;
  return std::string(arch_name(c.arch)) + " " + std::to_string(c.layers) + " layers, hidden " +
         std::to_string(c.hidden) + ", " + readout_name(c.readout) + " readout" +
         (c.jumping ? " of every layer" : "") + (c.batch_norm ? ", batch norm" : "") +
         (c.aux_heads ? ", auxiliary heads" : "") + " (" + std::to_string(num_parameters()) +
         " parameters)";
}

}  // namespace gkd::models
