// A Wengert tape. Every differentiable function computes its value through engine ops and records
// one node with a backward closure. Recording order is a topological order, so backward() walks the
// nodes in reverse with no graph search. Backward closures *accumulate* into their inputs'
// gradients (kernels called with accumulate = true), so a value used twice needs no temporary.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"

namespace gkd::autograd {

class Tape;

// A handle to a value recorded on a tape; cheap to copy, valid until the tape is reset.
class Var {
 public:
  Var() = default;
  bool defined() const { return tape_ != nullptr; }
  Tape& tape() const;
  int id() const { return id_; }
  const Tensor& value() const;
  bool requires_grad() const;
  // The accumulated gradient after backward(); undefined if no gradient reached this value.
  const Tensor& grad() const;
  int64_t rows() const { return value().rows(); }
  int64_t cols() const { return value().cols(); }

 private:
  friend class Tape;
  Var(Tape* tape, int id) : tape_(tape), id_(id) {}
  Tape* tape_ = nullptr;
  int id_ = -1;
};

// A trainable tensor that outlives tapes: tape.param() binds it for one step and backward()
// accumulates into `grad` (same shape; optimizers zero it).
struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;
};

class Tape {
 public:
  // Receives the gradient of the node's output and accumulates into its inputs via grad_of().
  using BackwardFn = std::function<void(Tape& tape, const Tensor& grad_out)>;

  explicit Tape(Context ctx);
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  const Context& context() const { return ctx_; }

  Var constant(Tensor value);  // never receives a gradient (features, graph weights, teachers)
  Var leaf(Tensor value);      // receives a gradient, kept on the tape (tests, gradcheck)
  Var param(Parameter& p);     // receives a gradient, accumulated into p.grad

  // Records an op. The node requires a gradient when gradients are enabled and any input does;
  // otherwise `backward` is dropped.
  Var record(const char* op, Tensor value, std::initializer_list<Var> inputs, BackwardFn backward);
  Var record(const char* op, Tensor value, const std::vector<Var>& inputs, BackwardFn backward);

  bool needs_grad(Var v) const;
  // The gradient accumulator of v, allocated with zeros on first use. Call only if needs_grad(v).
  // For ops that write part of it (a block of columns, scattered rows).
  Tensor& grad_of(Var v);
  // For ops that write every element of v's gradient: on first use the gradient is allocated
  // without a zero fill and the op overwrites it (accumulate false); afterwards the op adds to
  // it. Saves a fill and a read of every gradient. Call only if needs_grad(v).
  struct GradSlot {
    Tensor& grad;
    bool accumulate;
  };
  GradSlot grad_slot(Var v);
  // Tests set this: fresh slots are then filled with NaN, so an op that leaves an element of a
  // slot unwritten shows up as a NaN gradient.
  static inline bool poison_fresh_slots = false;

  // Seeds d(loss)/d(loss) = 1 for a [1, 1] loss and runs the recorded backward closures.
  // Gradients of intermediate values are consumed; leaves and parameters keep accumulating.
  void backward(Var loss);
  // Seeds an arbitrary output gradient (same shape as out), e.g. a random projection.
  void backward(Var out, const Tensor& seed);

  bool grad_enabled() const { return grad_enabled_; }
  size_t size() const { return nodes_.size(); }
  void reset();  // drops every node; Vars of this tape become invalid

 private:
  friend class Var;
  friend class NoGrad;
  struct Node {
    const char* op;
    Tensor value;
    Tensor grad;
    bool requires_grad;
    Parameter* param;  // when set, the gradient lives in param->grad
    BackwardFn backward;
  };
  Node& node(Var v);
  const Node& node(Var v) const;
  Var push(Node node);

  Context ctx_;
  std::vector<Node> nodes_;
  bool grad_enabled_ = true;
};

// Disables recording of backward closures on a tape within a scope (teachers, evaluation).
class NoGrad {
 public:
  explicit NoGrad(Tape& tape) : tape_(tape), previous_(tape.grad_enabled_) {
    tape.grad_enabled_ = false;
  }
  ~NoGrad() { tape_.grad_enabled_ = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  Tape& tape_;
  bool previous_;
};

}  // namespace gkd::autograd
