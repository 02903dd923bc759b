#include "distill/online.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "distill/alw.h"
#include "distill/cohort_state.h"
#include "engine/error.h"
#include "engine/ops_dense.h"
#include "models/checkpoint.h"
#include "models/init.h"
#include "models/metrics.h"
#include "models/selection.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::distill {

namespace ag = autograd;
using autograd::Tape;
using autograd::Var;

namespace {

constexpr struct {
  OnlineMethod method;
  const char* name;
} kOnlineNames[] = {{OnlineMethod::kDml, "dml"},
                    {OnlineMethod::kOc, "oc"},
                    {OnlineMethod::kAlignahead, "alignahead"},
                    {OnlineMethod::kAlignaheadPlus, "alignahead++"},
                    {OnlineMethod::kGml, "gml"}};

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
Var student_loss(Tape& tape, const Tensor& y, const Tensor& train_mask,
                 const models::ModelOutput& target, Var cohort_term,
                 const std::vector<Reference>& peers, const OnlineOptions& o) {
  Var loss = ag::cross_entropy(target.logits, y, train_mask);
  if (o.method == OnlineMethod::kGml && o.entropy_weight > 0) {
    loss = ag::add(loss, ag::scale(ag::entropy(target.logits, o.temperature), -o.entropy_weight));
  }
  const bool plus = o.method == OnlineMethod::kAlignaheadPlus;
  if (plus && o.aux_weight > 0) {
    for (const Var& aux : target.aux_logits) {
      loss = ag::add(loss, ag::scale(ag::cross_entropy(aux, y, train_mask), o.aux_weight));
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

const char* online_method_name(OnlineMethod method) {
  for (const auto& m : kOnlineNames) {
    if (m.method == method) return m.name;
  }
  return "?";
}

OnlineMethod online_method_from_string(const std::string& name) {
  for (const auto& m : kOnlineNames) {
    if (name == m.name) return m.method;
  }
  GKD_FAIL("online method '", name, "' is unknown (expected dml, oc, alignahead or alignahead++)");
}

CohortResult train_cohort(
    const Context& ctx, const std::vector<models::Model*>& students, const io::NodeDataset& data,
    const models::NodeTrainOptions& o, const OnlineOptions& online,
    const std::function<void(int64_t, const models::EpochMetrics&)>& on_epoch) {
  const auto k_count = static_cast<int64_t>(students.size());
  GKD_CHECK(k_count >= 1, "[cohort] no students");
  GKD_CHECK(o.epochs >= 1, "[cohort] epochs is ", o.epochs, " (expected >= 1)");
  const models::ModelConfig& config = students.front()->config();
  const int64_t hidden_layers = config.layers - 1;
  const bool structural =
      online.method != OnlineMethod::kDml && online.method != OnlineMethod::kGml;
  GKD_CHECK(!structural || hidden_layers >= 1, "[cohort] ", online_method_name(online.method),
            " aligns hidden layers, but the students have ", config.layers,
            " layer(s) and so none (expected layers >= 2)");
  GKD_CHECK(
      online.method != OnlineMethod::kAlignaheadPlus || online.aux_weight == 0 || config.aux_heads,
      "[cohort] alignahead++ deep supervision needs students with auxiliary heads "
      "(aux_heads), or aux_weight 0");
  const Graph g = data.graph.to(ctx.device());
  const io::FeatureMatrix x = data.x.to(ctx.device());
  const Tensor y = data.y.to(ctx.device());
  const Tensor train_mask = data.train_mask.to(ctx.device());
  const Tensor val_mask = data.val_mask.to(ctx.device());

  std::vector<std::unique_ptr<ag::Adam>> optimizers;
  std::vector<models::ModelState> states;
  std::vector<std::vector<Tensor>> best_states(students.size());
  std::vector<models::EpochSelector> selectors(students.size(),
                                               models::EpochSelector(o.paper_eval_every));
  GKD_CHECK(online.alw_rank >= 0, "[cohort] alw_rank is ", online.alw_rank, " (expected >= 0)");
  std::vector<Alw> alw(students.size());
  for (size_t k = 0; k < students.size(); ++k) {
    models::Model* s = students[k];
    GKD_CHECK(
        !structural || (s->config().layers == config.layers && s->config().arch == config.arch),
        "[cohort] ", online_method_name(online.method),
        " pairs hidden layers: the students must share one architecture");
    GKD_CHECK(s->config().out_dim == config.out_dim, "[cohort] the students predict ",
              s->config().out_dim, " and ", config.out_dim, " classes");
    for (ag::Parameter* p : s->parameters()) p->value = p->value.to(ctx.device());
    std::vector<ag::Parameter*> params = s->parameters();
    if (online.method == OnlineMethod::kGml && online.alw_rank > 0) {
      alw[k] =
          make_alw(g.num_nodes(), online.alw_rank, config.out_dim, o.seed * 1000 + k, ctx.device());
      params.push_back(alw[k].chi.get());
      params.push_back(alw[k].phi.get());
    }
    optimizers.push_back(std::make_unique<ag::Adam>(
        ctx, params, ag::AdamOptions{.lr = o.lr, .weight_decay = o.weight_decay}));
    states.push_back(models::model_state(*s));
  }
  const bool mutual_kl =
      k_count > 1 && (online.method == OnlineMethod::kDml || online.method == OnlineMethod::kGml);
  const bool structure = k_count > 1 && structural && online.weight != 0;
  // The logits a student's KL terms compare: after ALW for GML, the raw ones otherwise.
  const auto kd_logits = [&](Tape& tape, int64_t k, Var z) {
    return alw[k].chi ? alw_logits(tape, z, tape.param(*alw[k].chi), tape.param(*alw[k].phi)) : z;
  };
  const auto forward_options = [&](int64_t k, int64_t epoch, bool training) {
    return models::ForwardOptions{.training = training,
                                  .seed = o.seed * 1000 + static_cast<uint64_t>(k),
                                  .step = static_cast<uint64_t>(epoch)};
  };
  // Every student's forward: one batched forward when they share a config (students as a batch
  // dimension), else one each.
  const std::vector<const models::Model*> cohort(students.begin(), students.end());
  const bool batched = online.batch_students && k_count > 1 && models::Model::can_batch(cohort);
  const auto forward_all = [&](Tape& tape, int64_t epoch, bool training) {
    std::vector<models::ForwardOptions> options;
    for (int64_t k = 0; k < k_count; ++k) options.push_back(forward_options(k, epoch, training));
    if (batched) return models::Model::forward_cohort(tape, g, x, cohort, options);
    std::vector<models::ModelOutput> outs;
    for (int64_t k = 0; k < k_count; ++k)
      outs.push_back(students[k]->forward(tape, g, x, options[k]));
    return outs;
  };

  CohortResult result{.batched = batched};
  result.students.resize(students.size());
  std::vector<models::DivergenceMonitor> divergence(students.size(),
                                                    models::DivergenceMonitor(o.divergence_jump));
  std::vector<models::StepGuard> guards = student_guards(students, o.on_non_finite);
  using Verdict = models::StepGuard::Verdict;
  // Records student m's loss: kStop when the cohort must stop before stepping (a non-finite loss
  // under the stop policy, or a detected jump with stop_on_divergence), kSkip when m skips this
  // step.
  const auto check_loss = [&](int64_t m, int64_t epoch, double loss) {
    const Verdict v = guards[m].check_loss("epoch " + std::to_string(epoch), loss);
    const bool jumped = divergence[m].observe(epoch, loss);
    return jumped && std::isfinite(loss) && o.stop_on_divergence ? Verdict::kStop : v;
  };
  // After backward: steps student m unless its gradients are not finite.
  const auto step = [&](int64_t m, int64_t epoch) {
    const Verdict v = guards[m].check_gradients(ctx, "epoch " + std::to_string(epoch),
                                                optimizers[m]->parameters());
    if (v != Verdict::kStep) return v;
    if (o.clip_grad_norm > 0) ag::clip_grad_norm(ctx, students[m]->parameters(), o.clip_grad_norm);
    optimizers[m]->step();
    guards[m].stepped();
    return v;
  };
  std::vector<double> epoch_ms;
  bool stopped = false;

  // Crash safety (models/train_state.h): every student's state, ALW factors and optimizer, the
  // best snapshots, and one block of history columns per student.
  CohortState cohort_state(states, best_states, alw, optimizers);
  std::vector<const std::vector<models::EpochMetrics>*> histories;
  for (const models::NodeTrainResult& r : result.students) histories.push_back(&r.history);
  models::TrainState resumed;
  stopped =
      cohort_state.resume(o.state, models::kEpochFields, &resumed,
                          [&](int64_t k, const models::EpochMetrics& m) {
                            guards[k].check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
                            divergence[k].observe(m.epoch, m.train_loss);
                            selectors[k].observe({.epoch = m.epoch,
                                                  .train_loss = m.train_loss,
                                                  .val = m.val_acc,
                                                  .val_loss = m.val_loss,
                                                  .test = m.test_acc});
                            result.students[k].history.push_back(m);
                            if (on_epoch) on_epoch(k, m);
                            if (k == 0) epoch_ms.push_back(m.step_ms);
                          }) &&
      resumed.finished;
  for (models::NodeTrainResult& s : result.students) s.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    cohort_state.save(o.state, models::kEpochFields, histories, {.finished = done});
  };
  for (int64_t epoch = resumed.epoch + 1; epoch <= o.epochs && !stopped; ++epoch) {
    std::vector<double> train_loss(students.size());
    std::vector<Verdict> verdicts(students.size(), Verdict::kStep);
    const auto t0 = std::chrono::steady_clock::now();
    if (online.schedule == Schedule::kSimultaneous) {
      // One forward of every student; each loss treats the others' outputs as constants, so one
      // backward of the sum gives every student exactly its own gradient.
      Tape tape(ctx);
      const std::vector<models::ModelOutput> outs = forward_all(tape, epoch, true);
      std::vector<Var> kd;
      std::vector<Reference> refs;
      for (int64_t k = 0; k < k_count; ++k) {
        kd.push_back(kd_logits(tape, k, outs[k].logits));
        refs.push_back(as_reference(tape, kd.back(), outs[k]));
      }
      std::vector<std::vector<Reference>> peers(students.size());
      std::vector<const models::ModelOutput*> targets;
      for (int64_t m = 0; m < k_count; ++m) {
        targets.push_back(&outs[m]);
        for (int64_t p = 0; p < k_count; ++p) {
          if (p != m) peers[m].push_back(refs[p]);
        }
      }
      // [K, 1]: each student's mutual or structure term, one fused launch for the cohort.
      const Var cohort_terms = mutual_kl   ? ag::cohort_kl(kd, online.temperature)
                               : structure ? structure_terms(g, targets, peers, online)
                                           : Var();
      Var total;
      for (int64_t m = 0; m < k_count; ++m) {
        Var loss = student_loss(tape, y, train_mask, outs[m],
                                cohort_terms.defined() ? row(tape, cohort_terms, m) : Var(),
                                peers[m], online);
        train_loss[m] = loss.value().to(Device::kCPU).item<float>();
        verdicts[m] = check_loss(m, epoch, train_loss[m]);
        stopped = verdicts[m] == Verdict::kStop || stopped;
        // A skipped student's loss stays out of the backward: it would only bring NaN.
        if (verdicts[m] == Verdict::kStep) total = accumulate(total, loss);
      }
      if (stopped) break;
      for (auto& opt : optimizers) opt->zero_grad();
      if (total.defined()) tape.backward(total);
      for (int64_t m = 0; m < k_count; ++m) {
        if (verdicts[m] == Verdict::kStep) stopped = step(m, epoch) == Verdict::kStop || stopped;
      }
      if (stopped) break;
    } else {
      // The official Alignahead alternation: each student in turn steps against the others'
      // current parameters (their outputs in eval mode, as fixed references).
      for (int64_t m = 0; m < k_count; ++m) {
        Tape tape(ctx);
        std::vector<Reference> peers;
        {
          ag::NoGrad no_grad(tape);
          for (int64_t p = 0; p < k_count; ++p) {
            if (p == m) continue;
            const models::ModelOutput out =
                students[p]->forward(tape, g, x, forward_options(p, epoch, false));
            peers.push_back(as_reference(tape, kd_logits(tape, p, out.logits), out));
          }
        }
        const models::ModelOutput out =
            students[m]->forward(tape, g, x, forward_options(m, epoch, true));
        Var term;
        if (mutual_kl) {  // m's logits with gradient, the peers' as constants: row 0 is m's term
          std::vector<Var> cohort{kd_logits(tape, m, out.logits)};
          for (const Reference& p : peers) cohort.push_back(p.logits);
          term = row(tape, ag::cohort_kl(cohort, online.temperature), 0);
        } else if (structure) {
          term = structure_terms(g, {&out}, {peers}, online);  // [1, 1]
        }
        Var loss = student_loss(tape, y, train_mask, out, term, peers, online);
        train_loss[m] = loss.value().to(Device::kCPU).item<float>();
        const Verdict v = check_loss(m, epoch, train_loss[m]);
        if (v == Verdict::kSkip) continue;
        if (v == Verdict::kStop) {
          stopped = true;
          break;
        }
        optimizers[m]->zero_grad();
        tape.backward(loss);
        if (step(m, epoch) == Verdict::kStop) {
          stopped = true;
          break;
        }
      }
      if (stopped) break;
    }
    ctx.synchronize();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    epoch_ms.push_back(ms);
    Tape eval_tape(ctx);
    ag::NoGrad no_grad(eval_tape);
    const std::vector<models::ModelOutput> evaluated = forward_all(eval_tape, epoch, false);
    for (int64_t k = 0; k < k_count; ++k) {
      const Var z = evaluated[k].logits;
      models::EpochMetrics m{.epoch = epoch, .train_loss = train_loss[k], .step_ms = ms};
      m.val_loss = ag::cross_entropy(z, y, val_mask).value().to(Device::kCPU).item<float>();
      const Tensor logits = z.value().to(Device::kCPU);
      m.train_acc = models::accuracy(logits, data.y, data.train_mask);
      m.val_acc = models::accuracy(logits, data.y, data.val_mask);
      m.test_acc = models::accuracy(logits, data.y, data.test_mask);
      if (selectors[k].observe({.epoch = epoch,
                                .train_loss = m.train_loss,
                                .val = m.val_acc,
                                .val_loss = m.val_loss,
                                .test = m.test_acc}) &&
          o.restore_best) {
        best_states[k] = models::snapshot(states[k]);
      }
      result.students[k].history.push_back(m);
      if (on_epoch) on_epoch(k, m);
    }
    if (o.state.every > 0 && epoch % o.state.every == 0 && epoch < o.epochs) save_state(false);
  }

  GKD_CHECK(!epoch_ms.empty(), "[cohort] ", joined_reports(guards),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  result.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  Tensor mean_probs;  // [N, C]: the ensemble of the (restored) students
  for (int64_t k = 0; k < k_count; ++k) {
    if (o.restore_best) models::restore(states[k], best_states[k]);
  }
  Tape tape(ctx);
  ag::NoGrad no_grad(tape);
  const std::vector<models::ModelOutput> final_outs = forward_all(tape, o.epochs, false);
  for (int64_t k = 0; k < k_count; ++k) {
    models::NodeTrainResult& r = result.students[k];
    r.best_epoch = selectors[k].best_epoch();
    r.best_val_acc = selectors[k].best_val();
    r.test_acc = selectors[k].test_at_best();
    r.paper_test_acc = selectors[k].paper_test();
    r.last_test_acc = r.history.back().test_acc;
    r.epochs_run = static_cast<int64_t>(r.history.size());
    r.diverged_epoch = divergence[k].epoch();
    r.non_finite = guards[k].report();
    r.skipped_steps = guards[k].skipped_steps();
    r.median_step_ms = result.median_epoch_ms;
    const Tensor p =
        ag::softmax_rows(final_outs[k].logits).value().to(Device::kCPU).to_dtype(DType::kF64);
    mean_probs = mean_probs.defined() ? ops::add(Context::cpu(), mean_probs, p) : p;
  }
  result.ensemble_val_acc = models::accuracy(mean_probs, data.y, data.val_mask);
  result.ensemble_test_acc = models::accuracy(mean_probs, data.y, data.test_mask);
  return result;
}

}  // namespace gkd::distill
