#include "distill/mskd.h"

#include <algorithm>
#include <cmath>

#include "autograd/functions_dense.h"
#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::distill {

namespace ag = autograd;

namespace {

// α̃ = mean over the C×C matrix z_sᵀ z_t = (1/C²) Σ_v (Σ_c z_s[v, c]) (Σ_c z_t[v, c]).
double logit_correlation(const Tensor& zs, const Tensor& zt) {
  const std::vector<double> s = zs.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
  const std::vector<double> t = zt.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
  const int64_t n = zs.rows(), c = zs.cols();
  double sum = 0;
  for (int64_t v = 0; v < n; ++v) {
    double rs = 0, rt = 0;
    for (int64_t j = 0; j < c; ++j) {
      rs += s[v * c + j];
      rt += t[v * c + j];
    }
    sum += rs * rt;
  }
  return sum / double(c * c);
}

}  // namespace

MskdDistiller::MskdDistiller(const MskdOptions& o, std::vector<TeacherOutputs> teachers,
                             const Tensor& student_logits, int64_t student_hidden_layers,
                             int64_t epochs)
    : o_(o), teachers_(std::move(teachers)) {
  const auto k_count = static_cast<int64_t>(teachers_.size());
  GKD_CHECK(k_count >= 1, "[mskd] no teachers");
  GKD_CHECK(o.lambda >= 0 && o.warmup >= 0 && o.stage_epochs >= 0 && o.attention_temperature > 0,
            "[mskd] lambda ", o.lambda, ", warmup ", o.warmup, ", stage_epochs ", o.stage_epochs,
            ", attention_temperature ", o.attention_temperature, " out of range");
  const int64_t hidden = student_hidden_layers;
  student_layer_ = o.student_layer < 0 ? hidden + o.student_layer : o.student_layer;
  GKD_CHECK(student_layer_ >= 0 && student_layer_ < hidden, "[mskd] student_layer is ",
            o.student_layer, " but the student has ", hidden, " hidden layers");
  for (int64_t k = 0; k < k_count; ++k) {
    GKD_CHECK(!teachers_[k].hidden.empty(), "[mskd] teacher ", k,
              " has no hidden layer (its last hidden layer is distilled)");
    GKD_CHECK(teachers_[k].logits.cols() == student_logits.cols(), "[mskd] teacher ", k,
              " predicts ", teachers_[k].logits.cols(), " classes, the student ",
              student_logits.cols());
  }
  stage_epochs_ = o.stage_epochs > 0 ? o.stage_epochs : std::max<int64_t>(1, epochs / k_count);
  if (o.weighting != MskdWeighting::kCode) return;
  std::vector<double> alpha(k_count);
  double total = 0;
  for (int64_t k = 0; k < k_count; ++k) {
    alpha[k] = logit_correlation(student_logits, teachers_[k].logits);
    total += alpha[k];
  }
  double norm = 0;
  for (double& a : alpha) {
    a = total != 0 ? a / total : 1.0 / double(k_count);
    norm += std::exp(a);
  }
  for (double a : alpha) weights_.push_back(std::round(o.lambda * std::exp(a) / norm * 100) / 100);
}

Tensor node_attention(const std::vector<TeacherOutputs>& teachers, double temperature,
                      bool multi_label) {
  const auto k_count = static_cast<int64_t>(teachers.size());
  const int64_t n = teachers.front().logits.rows();
  std::vector<double> score(static_cast<size_t>(k_count * n));
  const Context cpu = Context::cpu();
  for (int64_t k = 0; k < k_count; ++k) {
    const Tensor z = teachers[k].logits.to(Device::kCPU).to_dtype(DType::kF64);
    const Tensor p = multi_label ? ops::bias_act(cpu, z, {}, kernels::Activation::kSigmoid)
                                 : ops::softmax_rows(cpu, z);
    const std::vector<double> pv = p.to_vector<double>();
    const int64_t c = p.cols();
    const auto plogp = [](double q) { return q > 0 ? q * std::log(q) : 0.0; };
    for (int64_t v = 0; v < n; ++v) {
      double h = 0;
      for (int64_t j = 0; j < c; ++j) {
        const double q = pv[v * c + j];
        h -= multi_label ? plogp(q) + plogp(1 - q) : plogp(q);
      }
      score[k * n + v] = -h / temperature;
    }
  }
  std::vector<double> a(score.size());
  for (int64_t v = 0; v < n; ++v) {
    double m = score[v], sum = 0;
    for (int64_t k = 1; k < k_count; ++k) m = std::max(m, score[k * n + v]);
    for (int64_t k = 0; k < k_count; ++k) sum += std::exp(score[k * n + v] - m);
    for (int64_t k = 0; k < k_count; ++k) a[k * n + v] = std::exp(score[k * n + v] - m) / sum;
  }
  return Tensor::from_vector<double>(k_count, n, a)
      .to_dtype(teachers.front().logits.dtype())
      .to(teachers.front().logits.device());
}

Tensor graph_node_attention(const std::vector<TeacherOutputs>& teachers, const Graph& batch,
                            double temperature) {
  const Tensor per_graph = node_attention(teachers, temperature, false);  // [K, B]
  const std::vector<int64_t>& offsets = batch.node_offsets();
  GKD_CHECK(per_graph.cols() + 1 == static_cast<int64_t>(offsets.size()), "[mskd] the teachers ",
            "predict ", per_graph.cols(), " graphs, the batch holds ", offsets.size() - 1);
  const auto k_count = per_graph.rows();
  const int64_t b_count = per_graph.cols(), n = offsets.back();
  const std::vector<double> a =
      per_graph.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
  std::vector<double> nodes(static_cast<size_t>(k_count * n));
  for (int64_t k = 0; k < k_count; ++k) {
    for (int64_t b = 0; b < b_count; ++b) {
      std::fill(nodes.begin() + k * n + offsets[b], nodes.begin() + k * n + offsets[b + 1],
                a[k * b_count + b]);
    }
  }
  return Tensor::from_vector<double>(k_count, n, nodes)
      .to_dtype(per_graph.dtype())
      .to(per_graph.device());
}

models::ExtraLoss MskdDistiller::extra_loss(const Graph& g) {
  models::ExtraLoss e;
  if (o_.weighting == MskdWeighting::kCode) {
    e.term = [this, g](ag::Tape& tape, const models::ModelOutput& out, int64_t epoch) -> ag::Var {
      const int64_t stage = stage_of(epoch);
      if (stage < 0) return {};
      return code_term(tape, g, out, teachers_[stage].hidden.back(), stage);
    };
    return e;
  }
  // The teachers' predictions are fixed: the attention is computed once.
  e.term = [this, g, attention = node_attention(teachers_, o_.attention_temperature, false)](
               ag::Tape& tape, const models::ModelOutput& out, int64_t epoch) -> ag::Var {
    if (!attention_active(epoch)) return {};
    return attention_term(tape, g, out, teachers_, attention);
  };
  return e;
}

models::InductiveExtraLoss MskdDistiller::inductive_extra_loss(
    std::vector<const models::Model*> teachers) {
  GKD_CHECK(teachers.size() == teachers_.size(), "[mskd] ", teachers.size(), " teacher models for ",
            teachers_.size(), " teachers");
  models::InductiveExtraLoss e;
  e.term = [this, teachers](ag::Tape& tape, const Graph& batch, const io::FeatureMatrix& x,
                            const models::ModelOutput& out, int64_t epoch) -> ag::Var {
    const Context& ctx = tape.context();
    if (o_.weighting == MskdWeighting::kCode) {
      const int64_t stage = stage_of(epoch);
      if (stage < 0) return {};  // no teacher pass outside the window
      const TeacherOutputs t = run_teacher(ctx, *teachers[stage], batch, x);
      return code_term(tape, batch, out, t.hidden.back(), stage);
    }
    if (!attention_active(epoch)) return {};
    std::vector<TeacherOutputs> outputs;
    for (const models::Model* t : teachers) outputs.push_back(run_teacher(ctx, *t, batch, x));
    const Tensor attention = node_attention(outputs, o_.attention_temperature, true);
    return attention_term(tape, batch, out, outputs, attention);
  };
  return e;
}

models::GraphExtraLoss MskdDistiller::graph_extra_loss(
    std::vector<const models::GraphModel*> teachers) {
  GKD_CHECK(teachers.size() == teachers_.size(), "[mskd] ", teachers.size(), " teacher models for ",
            teachers_.size(), " teachers");
  models::GraphExtraLoss e;
  e.term = [this, teachers](ag::Tape& tape, const io::GraphBatch& batch,
                            const models::GraphModelOutput& out, int64_t epoch) -> ag::Var {
    const Context& ctx = tape.context();
    if (o_.weighting == MskdWeighting::kCode) {
      const int64_t stage = stage_of(epoch);
      if (stage < 0) return {};  // no teacher pass outside the window
      const TeacherOutputs t = run_teacher(ctx, *teachers[stage], batch);
      return code_term(tape, batch.graph, out, t.hidden.back(), stage);
    }
    if (!attention_active(epoch)) return {};
    std::vector<TeacherOutputs> outputs;
    for (const models::GraphModel* t : teachers) outputs.push_back(run_teacher(ctx, *t, batch));
    const Tensor attention = graph_node_attention(outputs, batch.graph, o_.attention_temperature);
    return attention_term(tape, batch.graph, out, outputs, attention);
  };
  return e;
}

int64_t MskdDistiller::stage_of(int64_t epoch) const {
  // Stage k = teacher k; past the last stage the deepest teacher stays.
  const auto k_count = static_cast<int64_t>(teachers_.size());
  const int64_t stage = std::min((epoch - 1) / stage_epochs_, k_count - 1);
  const int64_t local = epoch - stage * stage_epochs_;
  return (o_.warmup > 0 && local > o_.warmup) || weights_[stage] == 0 ? -1 : stage;
}

bool MskdDistiller::attention_active(int64_t epoch) const {
  return (o_.warmup == 0 || epoch <= o_.warmup) && o_.lambda != 0;
}

ag::Var MskdDistiller::code_term(ag::Tape& tape, const Graph& g, const models::ModelOutput& out,
                                 const Tensor& teacher_hidden, int64_t stage) const {
  const ag::Var kl = ag::structure_kl(g.to(tape.context().device()), out.hidden[student_layer_],
                                      tape.constant(teacher_hidden), o_.kernel);
  return ag::scale(kl, weights_[stage]);
}

ag::Var MskdDistiller::attention_term(ag::Tape& tape, const Graph& g,
                                      const models::ModelOutput& out,
                                      const std::vector<TeacherOutputs>& teachers,
                                      const Tensor& attention) const {
  const ag::Var hs = out.hidden[student_layer_];
  std::vector<std::pair<ag::Var, ag::Var>> pairs;
  for (const TeacherOutputs& t : teachers) pairs.emplace_back(hs, tape.constant(t.hidden.back()));
  return ag::scale(
      ag::sum(ag::structure_kl(g.to(tape.context().device()), pairs, o_.kernel, attention)),
      o_.lambda);
}

}  // namespace gkd::distill
