#include "distill/cohort_step.h"

#include <cmath>
#include <span>

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "distill/cohort_state.h"
#include "engine/error.h"

namespace gkd::distill {

namespace ag = autograd;
using autograd::Tape;
using autograd::Var;
using Verdict = models::StepGuard::Verdict;

namespace {

// A peer's outputs as references: constants on the target's tape (no gradient into the peer).
// `logits` are the ones its KL term compares (GML: after ALW).
struct Reference {
  Var logits;
  std::vector<Var> hidden;
};

Reference as_reference(Tape& tape, Var kd_logits, const models::ModelOutput& out) {
  Reference r{.logits = tape.constant(kd_logits.value()), .hidden = {}};
  for (const Var& h : out.hidden) r.hidden.push_back(tape.constant(h.value()));
  return r;
}

// Rows scaled to unit L2 norm (ε keeps a zero row finite).
Var row_normalized(Tape& tape, Var a) {
  const Tensor eps = Tensor::full(1, 1, 1e-12, a.value().dtype(), tape.context().device());
  Var norm = ag::exp(ag::scale(ag::log(ag::add(ag::row_sums(ag::mul(a, a)), tape.constant(eps))),
                               0.5));  // [N, 1]
  return ag::div(a, norm);
}

Var feature_distance(Tape& tape, Var a, Var b, FeatureDistance d) {
  switch (d) {
    case FeatureDistance::kNormalizedMse:
      return ag::mse(row_normalized(tape, a), row_normalized(tape, b));
    case FeatureDistance::kCosine: {  // mean over nodes of 1 − cos(a_i, b_i)
      Var cos = ag::row_sums(ag::mul(row_normalized(tape, a), row_normalized(tape, b)));
      const Tensor one = Tensor::full(1, 1, 1.0, a.value().dtype(), tape.context().device());
      return ag::add(tape.constant(one), ag::scale(ag::mean(cos), -1.0));
    }
    case FeatureDistance::kMse:
      break;
  }
  return ag::mse(a, b);
}

// Row k of a [K, 1] Var as a [1, 1] Var (its gradient flows back to that row only).
Var row(Tape& tape, Var column, int64_t k) {
  const Tensor index = Tensor::from_vector<int64_t>(1, 1, {k}).to(tape.context().device());
  return ag::gather_rows(column, index);
}

// What differs between node and graph students: how they run, how many hidden layers they
// pair, the graph the structure terms run over and the rows of χ a step's logits use.
std::vector<models::ModelOutput> run(Tape& tape, const NodeStepInput& in,
                                     std::span<const models::Model* const> students,
                                     std::span<const models::ForwardOptions> options) {
  return models::Model::forward_cohort(tape, in.graph, in.x, students, options);
}

std::vector<models::ModelOutput> run(Tape& tape, const GraphStepInput& in,
                                     std::span<const models::GraphModel* const> students,
                                     std::span<const models::ForwardOptions> options) {
  return models::GraphModel::forward_cohort(tape, in.batch, students, options);
}

int64_t hidden_layers(const models::ModelConfig& c) {
  return c.layers - 1;
}
int64_t hidden_layers(const models::GraphModelConfig& c) {
  return c.layers;
}

Var chi_rows(Var chi, const NodeStepInput&) {
  return chi;
}
Var chi_rows(Var chi, const GraphStepInput& in) {
  return ag::gather_rows(chi, in.rows);
}

Var accumulate(Var total, Var term) {
  return total.defined() ? ag::add(total, term) : term;
}

// The peer layer that target layer t aligns to: t + shift mod L (oc: the same layer).
int64_t aligned_layer(int64_t t, int64_t layers, const OnlineOptions& o) {
  const int64_t shift = o.method == OnlineMethod::kOc ? 0 : o.shift;
  return ((t + shift) % layers + layers) % layers;
}

// [T, 1]: row i = Σ_{p ∈ peers[i]} Σ_t KL(P(h_p^(aligned t)) ‖ P(h_target_i^(t))), every target's
// every layer pair with every peer in one fused structure-KL call (one launch per step).
Var structure_terms(const Graph& g, const std::vector<const models::ModelOutput*>& targets,
                    const std::vector<std::vector<Reference>>& peers, const OnlineOptions& o) {
  std::vector<std::pair<Var, Var>> pairs;
  std::vector<int64_t> offsets{0};
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto layers = static_cast<int64_t>(targets[i]->hidden.size());
    for (const Reference& p : peers[i]) {
      for (int64_t t = 0; t < layers; ++t) {
        pairs.emplace_back(targets[i]->hidden[t], p.hidden[aligned_layer(t, layers, o)]);
      }
    }
    offsets.push_back(static_cast<int64_t>(pairs.size()));
  }
  const Tensor segments =
      Tensor::from_vector<int64_t>(static_cast<int64_t>(offsets.size()), 1, offsets).to(g.device());
  return ag::segment_sum(segments, ag::structure_kl(g, pairs, o.kernel));
}

// Student `target`'s loss against the references of its peers. `cohort_term` is its row of a
// term computed for the whole cohort at once: dml, gml: T²/(K−1) Σ_p KL(q_p ‖ q_target) (the
// fused cohort KL); structure methods: Σ_p Σ_t of the aligned structure KLs (structure_terms).
Var student_loss(Tape& tape, const SupervisedLoss& supervised, const models::ModelOutput& target,
                 Var cohort_term, const std::vector<Reference>& peers, const OnlineOptions& o) {
  Var loss = supervised(target.logits);
  if (o.method == OnlineMethod::kGml && o.entropy_weight > 0) {
    loss = ag::add(loss, ag::scale(ag::entropy(target.logits, o.temperature), -o.entropy_weight));
  }
  const bool plus = o.method == OnlineMethod::kAlignaheadPlus;
  if (plus && o.aux_weight > 0) {
    for (const Var& aux : target.aux_logits) {
      loss = ag::add(loss, ag::scale(supervised(aux), o.aux_weight));
    }
  }
  if (peers.empty() || o.weight == 0) return loss;
  if (o.method == OnlineMethod::kDml || o.method == OnlineMethod::kGml) {
    return ag::add(loss, ag::scale(cohort_term, o.weight));
  }
  Var distill = cohort_term;
  if (plus && o.feature_weight > 0) {
    const auto layers = static_cast<int64_t>(target.hidden.size());
    for (const Reference& p : peers) {
      for (int64_t t = 0; t < layers; ++t) {
        distill = ag::add(distill, ag::scale(feature_distance(tape, target.hidden[t],
                                                              p.hidden[aligned_layer(t, layers, o)],
                                                              o.feature_distance),
                                             o.feature_weight));
      }
    }
  }
  return ag::add(loss, ag::scale(distill, o.weight / static_cast<double>(peers.size())));
}

}  // namespace

template <class Student>
CohortStepper<Student>::CohortStepper(const Context& ctx, const std::vector<Student*>& students,
                                      const OnlineOptions& online, const CohortTraining& training,
                                      int64_t alw_rows)
    : ctx_(ctx),
      students_(students),
      cohort_(students.begin(), students.end()),
      online_(online),
      training_(training),
      structural_(online.method != OnlineMethod::kDml && online.method != OnlineMethod::kGml) {
  const auto k_count = static_cast<int64_t>(students.size());
  GKD_CHECK(k_count >= 1, "[cohort] no students");
  const auto& config = students.front()->config();
  GKD_CHECK(!structural_ || hidden_layers(config) >= 1, "[cohort] ",
            online_method_name(online.method), " aligns hidden layers, but the students have ",
            config.layers, " layer(s) and so none (expected layers >= 2)");
  GKD_CHECK(
      online.method != OnlineMethod::kAlignaheadPlus || online.aux_weight == 0 || config.aux_heads,
      "[cohort] alignahead++ deep supervision needs students with auxiliary heads "
      "(aux_heads), or aux_weight 0");
  GKD_CHECK(online.alw_rank >= 0, "[cohort] alw_rank is ", online.alw_rank, " (expected >= 0)");
  alw_.resize(students.size());
  for (int64_t k = 0; k < k_count; ++k) {
    Student* s = students[k];
    GKD_CHECK(
        !structural_ || (s->config().layers == config.layers && s->config().arch == config.arch),
        "[cohort] ", online_method_name(online.method),
        " pairs hidden layers: the students must share one architecture");
    GKD_CHECK(s->config().out_dim == config.out_dim, "[cohort] the students predict ",
              s->config().out_dim, " and ", config.out_dim, " classes");
    for (ag::Parameter* p : s->parameters()) p->value = p->value.to(ctx.device());
    if constexpr (requires { s->named_buffers(); }) {  // batch norm's running statistics
      for (auto& [name, b] : s->named_buffers()) b->value = b->value.to(ctx.device());
    }
    std::vector<ag::Parameter*> params = s->parameters();
    if (online.method == OnlineMethod::kGml && online.alw_rank > 0) {
      alw_[k] = make_alw(alw_rows, online.alw_rank, config.out_dim,
                         training.seed * 1000 + static_cast<uint64_t>(k), ctx.device());
      params.push_back(alw_[k].chi.get());
      params.push_back(alw_[k].phi.get());
    }
    optimizers_.push_back(std::make_unique<ag::Adam>(
        ctx, params, ag::AdamOptions{.lr = training.lr, .weight_decay = training.weight_decay}));
  }
  batched_ = batch_cohort(online, ctx, k_count, Student::can_batch(cohort_));
  guards_ = student_guards(students, training.on_non_finite);
  divergence_.assign(students.size(), models::DivergenceMonitor(training.divergence_jump));
}

template <class Student>
std::vector<models::ModelOutput> CohortStepper<Student>::forward(Tape& tape, const Input& in,
                                                                 uint64_t step,
                                                                 bool training) const {
  std::vector<models::ForwardOptions> options;
  for (size_t k = 0; k < students_.size(); ++k) {
    options.push_back({.training = training,
                       .seed = training_.seed * 1000 + static_cast<uint64_t>(k),
                       .step = step});
  }
  if (batched_) return run(tape, in, cohort_, options);
  std::vector<models::ModelOutput> outs;
  for (size_t k = 0; k < students_.size(); ++k) {
    outs.push_back(run(tape, in, {&cohort_[k], 1}, {&options[k], 1}).front());
  }
  return outs;
}

template <class Student>
std::vector<models::ModelOutput> CohortStepper<Student>::evaluate(Tape& tape,
                                                                  const Input& in) const {
  return forward(tape, in, 0, false);
}

template <class Student>
Verdict CohortStepper<Student>::check_loss(int64_t m, const std::string& where, uint64_t step,
                                           double loss) {
  const Verdict v = guards_[m].check_loss(where, loss);
  const bool jumped = divergence_[m].observe(static_cast<int64_t>(step), loss);
  return jumped && std::isfinite(loss) && training_.stop_on_divergence ? Verdict::kStop : v;
}

template <class Student>
Verdict CohortStepper<Student>::apply(int64_t m, const std::string& where) {
  const Verdict v = guards_[m].check_gradients(ctx_, where, optimizers_[m]->parameters());
  if (v != Verdict::kStep) return v;
  if (training_.clip_grad_norm > 0) {
    ag::clip_grad_norm(ctx_, students_[m]->parameters(), training_.clip_grad_norm);
  }
  optimizers_[m]->step();
  guards_[m].stepped();
  return v;
}

template <class Student>
std::vector<double> CohortStepper<Student>::step(const Input& in, const SupervisedLoss& supervised,
                                                 uint64_t step, const std::string& where,
                                                 bool* stop) {
  *stop = false;
  return online_.schedule == Schedule::kSimultaneous
             ? simultaneous(in, supervised, step, where, stop)
             : alternating(in, supervised, step, where, stop);
}

template <class Student>
Var CohortStepper<Student>::kd_logits(Tape& tape, const Input& in, int64_t k, Var z) const {
  if (!alw_[k].chi) return z;
  const Var chi = chi_rows(tape.param(*alw_[k].chi), in);
  GKD_CHECK(chi.rows() == z.rows(), "[cohort] GML's ALW has ", chi.rows(),
            " rows for the step but its logits have ", z.rows());
  return alw_logits(tape, z, chi, tape.param(*alw_[k].phi));
}

template <class Student>
std::vector<double> CohortStepper<Student>::simultaneous(const Input& in,
                                                         const SupervisedLoss& supervised,
                                                         uint64_t step, const std::string& where,
                                                         bool* stop) {
  // One forward of every student; each loss treats the others' outputs as constants, so one
  // backward of the sum gives every student exactly its own gradient.
  const auto k_count = static_cast<int64_t>(students_.size());
  Tape tape(ctx_);
  const std::vector<models::ModelOutput> outs = forward(tape, in, step, true);
  std::vector<Var> kd;
  std::vector<Reference> refs;
  for (int64_t k = 0; k < k_count; ++k) {
    kd.push_back(kd_logits(tape, in, k, outs[k].logits));
    refs.push_back(as_reference(tape, kd.back(), outs[k]));
  }
  std::vector<std::vector<Reference>> peers(students_.size());
  std::vector<const models::ModelOutput*> targets;
  for (int64_t m = 0; m < k_count; ++m) {
    targets.push_back(&outs[m]);
    for (int64_t p = 0; p < k_count; ++p) {
      if (p != m) peers[m].push_back(refs[p]);
    }
  }
  // [K, 1]: each student's mutual or structure term, one fused launch for the cohort.
  Var cohort_terms;
  if (k_count > 1 && online_.weight != 0) {
    cohort_terms = structural_ ? structure_terms(in.graph, targets, peers, online_)
                               : ag::cohort_kl(kd, online_.temperature);
  }
  std::vector<double> values(students_.size());
  std::vector<Verdict> verdicts(students_.size(), Verdict::kStep);
  Var total;
  for (int64_t m = 0; m < k_count; ++m) {
    Var loss = student_loss(tape, supervised, outs[m],
                            cohort_terms.defined() ? row(tape, cohort_terms, m) : Var(), peers[m],
                            online_);
    values[m] = loss.value().to(Device::kCPU).to_dtype(DType::kF64).item<double>();
    verdicts[m] = check_loss(m, where, step, values[m]);
    *stop = verdicts[m] == Verdict::kStop || *stop;
    // A skipped student's loss stays out of the backward: it would only bring NaN.
    if (verdicts[m] == Verdict::kStep) total = accumulate(total, loss);
  }
  if (*stop) return values;
  for (auto& opt : optimizers_) opt->zero_grad();
  if (total.defined()) tape.backward(total);
  for (int64_t m = 0; m < k_count; ++m) {
    if (verdicts[m] == Verdict::kStep) *stop = apply(m, where) == Verdict::kStop || *stop;
  }
  return values;
}

template <class Student>
std::vector<double> CohortStepper<Student>::alternating(const Input& in,
                                                        const SupervisedLoss& supervised,
                                                        uint64_t step, const std::string& where,
                                                        bool* stop) {
  std::vector<double> values(students_.size());
  for (size_t m = 0; m < students_.size() && !*stop; ++m) {
    values[m] = step_one(static_cast<int64_t>(m), in, supervised, step, where, stop);
  }
  return values;
}

template <class Student>
double CohortStepper<Student>::step_one(int64_t m, const Input& in,
                                        const SupervisedLoss& supervised, uint64_t step,
                                        const std::string& where, bool* stop) {
  // The official Alignahead alternation: student m steps against the others' current parameters
  // (their outputs in eval mode, as fixed references).
  const auto k_count = static_cast<int64_t>(students_.size());
  Tape tape(ctx_);
  std::vector<Reference> peers;
  {
    ag::NoGrad no_grad(tape);
    for (int64_t p = 0; p < k_count; ++p) {
      if (p == m) continue;
      const models::ForwardOptions eval{.training = false};
      const models::ModelOutput out = run(tape, in, {&cohort_[p], 1}, {&eval, 1}).front();
      peers.push_back(as_reference(tape, kd_logits(tape, in, p, out.logits), out));
    }
  }
  const models::ForwardOptions train{
      .training = true, .seed = training_.seed * 1000 + static_cast<uint64_t>(m), .step = step};
  const models::ModelOutput out = run(tape, in, {&cohort_[m], 1}, {&train, 1}).front();
  Var term;
  if (k_count > 1 && online_.weight != 0 && !structural_) {
    // m's logits with gradient, the peers' as constants: row 0 is m's term
    std::vector<Var> cohort{kd_logits(tape, in, m, out.logits)};
    for (const Reference& p : peers) cohort.push_back(p.logits);
    term = row(tape, ag::cohort_kl(cohort, online_.temperature), 0);
  } else if (k_count > 1 && online_.weight != 0) {
    term = structure_terms(in.graph, {&out}, {peers}, online_);  // [1, 1]
  }
  Var loss = student_loss(tape, supervised, out, term, peers, online_);
  const double value = loss.value().to(Device::kCPU).to_dtype(DType::kF64).item<double>();
  const Verdict v = check_loss(m, where, step, value);
  if (v == Verdict::kStop) *stop = true;
  if (v != Verdict::kStep) return value;
  optimizers_[m]->zero_grad();
  tape.backward(loss);
  if (apply(m, where) == Verdict::kStop) *stop = true;
  return value;
}

template class CohortStepper<models::Model>;
template class CohortStepper<models::GraphModel>;

}  // namespace gkd::distill
