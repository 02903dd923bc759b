#include "autograd/functions_loss.h"

#include <memory>

#include "engine/error.h"
#include "engine/ops_dense.h"
#include "engine/ops_loss.h"
#include "engine/ops_structure.h"

namespace gkd::autograd {

namespace {

// Whether the forward pass should also produce the gradient w.r.t. v.
bool wants(const Tape& tape, Var v) {
  return v.defined() && tape.grad_enabled() && tape.needs_grad(v);
}

// grad(v) += upstream[0, 0] · saved, for a saved gradient that the forward computed.
void add_saved(Tape& tape, Var v, const Tensor& upstream, const Tensor& saved) {
  if (saved.defined()) ops::scaled_add(tape.context(), 1.0, upstream, saved, tape.grad_of(v));
}

// Records a one-input loss whose forward saved d loss/d x.
Var record_unary(const char* op, Var x, ops::LossOutput out) {
  Tensor saved = std::move(out.grad);  // [N, C] or undefined
  return x.tape().record(op, std::move(out.loss), {x},
                         [x, saved](Tape& t, const Tensor& g) { add_saved(t, x, g, saved); });
}

Var kl_div_impl(Var student, Var teacher, double temperature, Var row_temperature,
                const KlDivFnOptions& options) {
  Tape& tape = student.tape();
  const bool teacher_in = options.teacher_grad;
  const bool temp_in = row_temperature.defined();
  ops::KlDivOptions o{.temperature = temperature,
                      .row_temperature = temp_in ? row_temperature.value() : Tensor(),
                      .mask = options.mask,
                      .grad_student = wants(tape, student),
                      .grad_teacher = teacher_in && wants(tape, teacher),
                      .grad_temperature = temp_in && wants(tape, row_temperature)};
  ops::LossOutput out = ops::kl_div(tape.context(), student.value(), teacher.value(), o);
  auto backward = [student, teacher, row_temperature, gs = out.grad, gt = out.grad_teacher,
                   gtemp = out.grad_temperature](Tape& t, const Tensor& g) {
    add_saved(t, student, g, gs);
    add_saved(t, teacher, g, gt);
    add_saved(t, row_temperature, g, gtemp);
  };
  // A detached teacher is not an input of the node, so it cannot make the loss require a grad.
  Tensor loss = std::move(out.loss);  // [1, 1]
  if (teacher_in && temp_in) {
    return tape.record("kl_div", std::move(loss), {student, teacher, row_temperature}, backward);
  }
  if (teacher_in) return tape.record("kl_div", std::move(loss), {student, teacher}, backward);
  if (temp_in) return tape.record("kl_div", std::move(loss), {student, row_temperature}, backward);
  return tape.record("kl_div", std::move(loss), {student}, backward);
}

}  // namespace

Var cross_entropy(Var logits, const Tensor& labels, const Tensor& mask) {
  Tape& tape = logits.tape();
  return record_unary(
      "cross_entropy", logits,
      ops::cross_entropy(tape.context(), logits.value(), labels, mask, wants(tape, logits)));
}

Var bce_with_logits(Var logits, const Tensor& targets, const Tensor& mask) {
  Tape& tape = logits.tape();
  return record_unary(
      "bce_with_logits", logits,
      ops::bce_with_logits(tape.context(), logits.value(), targets, mask, wants(tape, logits)));
}

Var kl_div(Var student, Var teacher, double temperature, const KlDivFnOptions& options) {
  return kl_div_impl(student, teacher, temperature, Var(), options);
}

Var kl_div(Var student, Var teacher, Var row_temperature, const KlDivFnOptions& options) {
  return kl_div_impl(student, teacher, 1.0, row_temperature, options);
}

Var entropy(Var x, double temperature, const Tensor& mask) {
  Tape& tape = x.tape();
  return record_unary(
      "entropy", x,
      ops::softmax_entropy(tape.context(), x.value(), temperature, mask, wants(tape, x)));
}

Var mse(Var a, Var b) {
  Tape& tape = a.tape();
  const bool grad = wants(tape, a) || wants(tape, b);
  ops::LossOutput out = ops::mse(tape.context(), a.value(), b.value(), grad);
  Tensor da = std::move(out.grad);  // [N, F] or undefined; d/db = -da
  return tape.record("mse", std::move(out.loss), {a, b}, [a, b, da](Tape& t, const Tensor& g) {
    if (t.needs_grad(a)) ops::scaled_add(t.context(), 1.0, g, da, t.grad_of(a));
    if (t.needs_grad(b)) ops::scaled_add(t.context(), -1.0, g, da, t.grad_of(b));
  });
}

Var cohort_kl(const std::vector<Var>& logits, double temperature) {
  GKD_CHECK(!logits.empty(), "[cohort_kl] no students");
  Tape& tape = logits.front().tape();
  const Context& ctx = tape.context();
  std::vector<Tensor> values;
  for (const Var& z : logits) values.push_back(z.value());
  auto fwd = std::make_shared<ops::CohortKlOutput>(ops::cohort_kl(ctx, values, temperature));
  const auto n = static_cast<double>(fwd->kl.cols());
  Tensor loss = ops::row_sums(ctx, fwd->kl);  // [K, 1]
  ops::unary(ctx, ops::UnaryOp::kScale, loss, loss, n > 0 ? 1.0 / n : 0.0);
  return tape.record("cohort_kl", std::move(loss), logits,
                     [logits, fwd, temperature, n](Tape& t, const Tensor& grad) {
                       const Context& c = t.context();
                       Tensor dkl = Tensor::zeros(fwd->kl.rows(), fwd->kl.cols(), grad.dtype(),
                                                  c.device());  // grad[m] / N on every row
                       ops::binary(c, ops::BinaryOp::kAdd, dkl, grad, dkl, 1.0 / n);
                       std::vector<Tensor*> d;
                       for (const Var& z : logits)
                         d.push_back(t.needs_grad(z) ? &t.grad_of(z) : nullptr);
                       ops::cohort_kl_backward(c, *fwd, temperature, dkl, d);
                     });
}

}  // namespace gkd::autograd
