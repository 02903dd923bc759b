// Gradient checks (double, CPU) of the fused losses: the forward kernel's saved gradients, scaled
// by the upstream value on the backward pass (gradcheck projects the [1, 1] loss with a random
// R != 1, so a dropped upstream factor fails), w.r.t. every differentiable input: logits, both KL
// sides, per-row temperatures, both MSE operands.
#include <doctest/doctest.h>

#include <vector>

#include "autograd/functions_loss.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::autograd;

namespace {

Tensor random_mask(int64_t n, uint64_t seed) {  // u8 [N, 1], about two rows in three selected
  std::vector<uint8_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (i * 7 + seed) % 3 != 0;
  return Tensor::from_vector<uint8_t>(n, 1, v);
}

const Tensor kNoMask;

}  // namespace

TEST_CASE("gradcheck: cross_entropy and bce_with_logits, with and without a mask") {
  const Tensor z = test::random_tensor(9, 5, DType::kF64, 1, -3, 3);  // [N, C]
  const Tensor y = Tensor::from_vector<int64_t>(9, 1, {0, 4, 2, 2, 1, 3, 0, 4, 1});
  const Tensor t = test::random_tensor(9, 5, DType::kF64, 2, 0, 1);  // soft targets [N, L]
  for (const Tensor& mask : {kNoMask, random_mask(9, 1)}) {
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return cross_entropy(in[0], y, mask); }, {z}));
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return bce_with_logits(in[0], t, mask); }, {z}));
  }
}

TEST_CASE("gradcheck: kl_div w.r.t. student, teacher and scalar temperatures != 1") {
  const Tensor s = test::random_tensor(8, 6, DType::kF64, 3, -2, 2);  // [N, C]
  const Tensor t = test::random_tensor(8, 6, DType::kF64, 4, -2, 2);  // [N, C]
  for (double temp : {1.0, 0.6, 3.0}) {
    for (const Tensor& mask : {kNoMask, random_mask(8, 2)}) {
      CAPTURE(temp);
      // Offline KD: the teacher is a detached target.
      test::require_gradcheck(gradcheck(
          [&](Tape& tape, const std::vector<Var>& in) {
            return kl_div(in[0], tape.constant(t), temp, {.mask = mask});
          },
          {s}));
      // Mutual learning: both sides learn.
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) {
            return kl_div(in[0], in[1], temp, {.mask = mask, .teacher_grad = true});
          },
          {s, t}));
    }
  }
}

TEST_CASE("gradcheck: kl_div w.r.t. a learnable per-row temperature") {
  const Tensor s = test::random_tensor(8, 6, DType::kF64, 5, -2, 2);      // [N, C]
  const Tensor t = test::random_tensor(8, 6, DType::kF64, 6, -2, 2);      // [N, C]
  const Tensor temp = test::random_tensor(8, 1, DType::kF64, 7, 0.4, 3);  // [N, 1]
  for (const Tensor& mask : {kNoMask, random_mask(8, 3)}) {
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) {
          return kl_div(in[0], in[1], in[2], {.mask = mask, .teacher_grad = true});
        },
        {s, t, temp}));
    // A fixed (constant) temperature tensor and a detached teacher.
    test::require_gradcheck(gradcheck(
        [&](Tape& tape, const std::vector<Var>& in) {
          return kl_div(in[0], tape.constant(t), tape.constant(temp), {.mask = mask});
        },
        {s}));
  }
}

TEST_CASE("gradcheck: entropy with T != 1 and a mask; mse w.r.t. both operands") {
  const Tensor x = test::random_tensor(7, 5, DType::kF64, 8, -2, 2);  // [N, C]
  for (double temp : {1.0, 0.5, 2.0}) {
    for (const Tensor& mask : {kNoMask, random_mask(7, 4)}) {
      CAPTURE(temp);
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return entropy(in[0], temp, mask); }, {x}));
    }
  }
  const Tensor b = test::random_tensor(7, 5, DType::kF64, 9);  // [N, F]
  test::require_gradcheck(
      gradcheck([&](Tape&, const std::vector<Var>& in) { return mse(in[0], in[1]); }, {x, b}));
}

TEST_CASE("gradcheck: a detached teacher gets no gradient; a learning one does") {
  const Tensor s = test::random_tensor(4, 3, DType::kF64, 10);  // [N, C]
  const Tensor t = test::random_tensor(4, 3, DType::kF64, 11);  // [N, C]
  for (bool teacher_grad : {false, true}) {
    Tape tape(Context::cpu());
    Var vs = tape.leaf(s), vt = tape.leaf(t);
    tape.backward(kl_div(vs, vt, 2.0, {.teacher_grad = teacher_grad}));
    CHECK(vs.grad().defined());
    CHECK(vt.grad().defined() == teacher_grad);
  }
  // Only the teacher learns: the loss still requires a gradient.
  Tape tape(Context::cpu());
  Var vt = tape.leaf(t);
  tape.backward(kl_div(tape.constant(s), vt, 2.0, {.teacher_grad = true}));
  CHECK(test::to_eigen(vt.grad()).norm() > 0);
  // Without teacher_grad nothing learns, and backward says so.
  CHECK_THROWS_WITH_AS(tape.backward(kl_div(tape.constant(s), vt, 2.0)),
                       doctest::Contains("does not depend on any variable"), Error);
}

TEST_CASE("gradcheck: loss functions record values under NoGrad and reject bad labels") {
  Tape tape(Context::cpu());
  const Tensor z = test::random_tensor(5, 3, DType::kF64, 12);  // [N, C]
  Var vz = tape.leaf(z);
  const Tensor y = Tensor::from_vector<int32_t>(5, 1, {0, 1, 2, 1, 0});
  const double with_grad = cross_entropy(vz, y).value().item<double>();
  {
    NoGrad no_grad(tape);
    CHECK(cross_entropy(vz, y).value().item<double>() == with_grad);
    CHECK_FALSE(cross_entropy(vz, y).requires_grad());
  }
  const Tensor bad = Tensor::from_vector<int32_t>(5, 1, {0, 1, 3, 1, 0});
  CHECK_THROWS_WITH_AS(cross_entropy(vz, bad),
                       "[cross_entropy] labels[2] is 3 (expected a class in [0, 3))", Error);
}
