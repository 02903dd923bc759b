#include "autograd/tape.h"

#include <limits>

#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::autograd {

Tape& Var::tape() const {
  GKD_CHECK(tape_ != nullptr, "[Var] undefined variable");
  return *tape_;
}
const Tensor& Var::value() const {
  return tape().node(*this).value;
}
bool Var::requires_grad() const {
  return tape().node(*this).requires_grad;
}
const Tensor& Var::grad() const {
  const auto& n = tape().node(*this);
  return n.param ? n.param->grad : n.grad;
}

Tape::Tape(Context ctx) : ctx_(std::move(ctx)) {}

Tape::Node& Tape::node(Var v) {
  GKD_CHECK(v.tape_ == this && v.id_ >= 0 && v.id_ < static_cast<int>(nodes_.size()),
            "[Tape] variable ", v.id_, " does not belong to this tape (or the tape was reset)");
  return nodes_[v.id_];
}
const Tape::Node& Tape::node(Var v) const {
  return const_cast<Tape*>(this)->node(v);
}

Var Tape::push(Node n) {
  GKD_CHECK(n.value.defined(), "[Tape] op ", n.op, " produced an undefined tensor");
  GKD_CHECK(n.value.device() == ctx_.device(), "[Tape] op ", n.op, " produced a tensor on ",
            device_name(n.value.device()), " but the tape runs on ", device_name(ctx_.device()));
  nodes_.push_back(std::move(n));
  return Var(this, static_cast<int>(nodes_.size()) - 1);
}

Var Tape::constant(Tensor value) {
  return push({"constant", std::move(value), {}, false, nullptr, {}});
}
Var Tape::leaf(Tensor value) {
  return push({"leaf", std::move(value), {}, true, nullptr, {}});
}
Var Tape::param(Parameter& p) {
  return push({"param", p.value, {}, true, &p, {}});
}

Var Tape::record(const char* op, Tensor value, std::initializer_list<Var> inputs,
                 BackwardFn backward) {
  return record(op, std::move(value), std::vector<Var>(inputs), std::move(backward));
}

Var Tape::record(const char* op, Tensor value, const std::vector<Var>& inputs,
                 BackwardFn backward) {
  bool requires_grad = false;
  for (Var v : inputs) requires_grad = requires_grad || node(v).requires_grad;
  requires_grad = requires_grad && grad_enabled_;
  return push({op,
               std::move(value),
               {},
               requires_grad,
               nullptr,
               requires_grad ? std::move(backward) : BackwardFn{}});
}

bool Tape::needs_grad(Var v) const {
  return node(v).requires_grad;
}

Tensor& Tape::grad_of(Var v) {
  Node& n = node(v);
  GKD_CHECK(n.requires_grad, "[Tape] op ", n.op, " does not require a gradient");
  Tensor& g = n.param ? n.param->grad : n.grad;
  if (!g.defined()) {
    g = Tensor::zeros(n.value.rows(), n.value.cols(), n.value.dtype(), n.value.device());
  }
  GKD_CHECK(g.same_shape(n.value), "[Tape] gradient of ", n.op, " is ", g.describe(),
            " (expected the value's shape ", n.value.describe(), ")");
  return g;
}

Tape::GradSlot Tape::grad_slot(Var v) {
  Node& n = node(v);
  GKD_CHECK(n.requires_grad, "[Tape] op ", n.op, " does not require a gradient");
  Tensor& g = n.param ? n.param->grad : n.grad;
  if (g.defined()) return {grad_of(v), true};
  g = Tensor::empty(n.value.rows(), n.value.cols(), n.value.dtype(), n.value.device());
  if (poison_fresh_slots) g.fill(std::numeric_limits<double>::quiet_NaN());
  return {g, false};
}

void Tape::backward(Var loss) {
  const Tensor& value = node(loss).value;
  GKD_CHECK(value.rows() == 1 && value.cols() == 1, "[Tape::backward] loss is ", value.describe(),
            " (expected a [1, 1] scalar; pass a seed for other shapes)");
  backward(loss, Tensor::full(1, 1, 1.0, value.dtype(), value.device()));
}

void Tape::backward(Var out, const Tensor& seed) {
  Node& root = node(out);
  GKD_CHECK(root.requires_grad, "[Tape::backward] output of ", root.op,
            " does not depend on any variable that requires a gradient");
  GKD_CHECK(seed.same_shape(root.value) && seed.dtype() == root.value.dtype() &&
                seed.device() == root.value.device(),
            "[Tape::backward] seed is ", seed.describe(), " (expected ", root.value.describe(),
            ")");
  ops::axpy(ctx_, 1.0, seed, grad_of(out));
  for (int i = out.id_; i >= 0; --i) {
    Node& n = nodes_[i];
    if (!n.backward || !n.grad.defined()) continue;
    n.backward(*this, n.grad);
    n.grad = Tensor();  // consumed: a later backward() from another output must not replay it
  }
}

void Tape::reset() {
  nodes_.clear();
}

}  // namespace gkd::autograd
