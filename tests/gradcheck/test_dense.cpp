// Gradient checks (double, CPU) of the differentiable dense functions, with inputs kept away from
// the kinks of relu / leaky ReLU / ELU.
#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "autograd/functions_dense.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::autograd;

namespace {

const DType f64 = DType::kF64;

constexpr Activation kActivations[] = {Activation::kNone,    Activation::kRelu,
                                       Activation::kElu,     Activation::kLeakyRelu,
                                       Activation::kSigmoid, Activation::kTanh};

}  // namespace

TEST_CASE("gradcheck: matmul, and a value used twice accumulates") {
  const Tensor a = test::random_tensor(5, 4, f64, 1);
  const Tensor b = test::random_tensor(4, 3, f64, 2);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return matmul(in[0], in[1]); }, {a, b}));
  const Tensor s = test::random_tensor(4, 4, f64, 3);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return matmul(in[0], in[0]); }, {s}));
}

TEST_CASE("gradcheck: bias_act for every activation, with and without bias") {
  // |x| >= 0.3 and |b| <= 0.1: x + b stays >= 0.2 away from every kink (eps is 1e-6).
  const Tensor x = test::random_away_from_zero(6, 5, f64, 4, 0.3, 1.5);
  const Tensor bias = test::random_tensor(1, 5, f64, 5, -0.1, 0.1);
  for (Activation act : kActivations) {
    CAPTURE(static_cast<int>(act));
    test::require_gradcheck(gradcheck(
        [act](Tape&, const std::vector<Var>& in) { return bias_act(in[0], in[1], act, 0.2f); },
        {x, bias}));
    test::require_gradcheck(gradcheck(
        [act](Tape&, const std::vector<Var>& in) { return bias_act(in[0], Var(), act, 0.2f); },
        {x}));
  }
  // Only the bias needs a gradient (x is a constant): the fused kernel skips dx.
  test::require_gradcheck(gradcheck(
      [&](Tape& tape, const std::vector<Var>& in) {
        return bias_act(tape.constant(x), in[0], Activation::kTanh);
      },
      {bias}));
}

TEST_CASE("gradcheck: the convenience activations and linear") {
  const Tensor x = test::random_away_from_zero(4, 6, f64, 6, 0.1, 2.0);
  using Fn = Var (*)(Var);
  for (Fn fn : {Fn(relu), Fn(elu), Fn(sigmoid), Fn(autograd::tanh)}) {
    test::require_gradcheck(
        gradcheck([fn](Tape&, const std::vector<Var>& in) { return fn(in[0]); }, {x}));
  }
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return leaky_relu(in[0], 0.3f); }, {x}));
  const Tensor w = test::random_tensor(6, 3, f64, 7);
  const Tensor bias = test::random_tensor(1, 3, f64, 8);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) {
        return linear(in[0], in[1], in[2], Activation::kSigmoid);
      },
      {x, w, bias}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return linear(in[0], in[1]); }, {x, w}));
}

TEST_CASE("gradcheck: dropout reuses the forward mask; eval mode and p = 0 are the identity") {
  const Tensor x = test::random_tensor(7, 9, f64, 9);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) { return dropout(in[0], 0.4f, 11, 3, true); }, {x}));
  Tape tape(Context::cpu());
  Var v = tape.leaf(x);
  CHECK(dropout(v, 0.4f, 11, 3, false).id() == v.id());
  CHECK(dropout(v, 0.0f, 11, 3, true).id() == v.id());
  // The gradient is exactly the mask scaled by 1 / (1 - p): zero where the output was dropped.
  Var y = dropout(v, 0.5f, 11, 3, true);
  tape.backward(sum(y));
  const auto out = y.value().to_vector<double>(), in = x.to_vector<double>();
  const auto grad = v.grad().to_vector<double>();
  for (size_t i = 0; i < out.size(); ++i) {
    CHECK(grad[i] == (out[i] == 0.0 ? 0.0 : 2.0));
    if (out[i] != 0.0) CHECK(out[i] == 2.0 * in[i]);
  }
  CHECK_THROWS_WITH_AS(dropout(v, 1.0f, 0, 0, true), "[dropout] p is 1 (expected 0 <= p < 1)",
                       Error);
  CHECK_THROWS_WITH_AS(dropout(v, -0.5f, 0, 0, false), doctest::Contains("expected 0 <= p < 1"),
                       Error);
}

TEST_CASE("gradcheck: softmax_rows and log_softmax_rows") {
  const Tensor x = test::random_tensor(6, 7, f64, 10, -3.0, 3.0);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return softmax_rows(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return log_softmax_rows(in[0]); }, {x}));
}

TEST_CASE("gradcheck: exp, log, scale") {
  const Tensor x = test::random_tensor(5, 4, f64, 11, 0.5, 2.0);  // log needs x > 0
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return exp(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return log(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return scale(in[0], -2.5); }, {x}));
  // x used twice: exp(x) * x.
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return mul(exp(in[0]), in[0]); }, {x}));
}

TEST_CASE("gradcheck: add, mul, div with every broadcast pairing") {
  using Shape = std::pair<int64_t, int64_t>;
  for (const auto& sa_sb : {std::pair<Shape, Shape>{{5, 4}, {5, 4}},
                            {{5, 4}, {1, 4}},
                            {{5, 1}, {5, 4}},
                            {{1, 4}, {5, 1}},
                            {{5, 4}, {1, 1}},
                            {{1, 1}, {1, 1}}}) {
    const auto sa = sa_sb.first;
    const auto sb = sa_sb.second;
    CAPTURE(sa.first);
    CAPTURE(sa.second);
    CAPTURE(sb.first);
    CAPTURE(sb.second);
    const Tensor a = test::random_tensor(sa.first, sa.second, f64, 12);
    const Tensor b = test::random_away_from_zero(sb.first, sb.second, f64, 13, 0.5, 1.5);
    test::require_gradcheck(
        gradcheck([](Tape&, const std::vector<Var>& in) { return add(in[0], in[1]); }, {a, b}));
    test::require_gradcheck(
        gradcheck([](Tape&, const std::vector<Var>& in) { return mul(in[0], in[1]); }, {a, b}));
    test::require_gradcheck(
        gradcheck([](Tape&, const std::vector<Var>& in) { return div(in[0], in[1]); }, {a, b}));
  }
}

TEST_CASE("gradcheck: sum, mean, row_sums, col_sums") {
  const Tensor x = test::random_tensor(6, 5, f64, 14);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return sum(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return mean(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return row_sums(in[0]); }, {x}));
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return col_sums(in[0]); }, {x}));
  Tape tape(Context::cpu());
  Var v = tape.leaf(x);
  CHECK(mean(v).value().item<double>() ==
        doctest::Approx(sum(v).value().item<double>() / 30.0).epsilon(1e-14));
  CHECK_THROWS_WITH_AS(mean(tape.leaf(Tensor::zeros(0, 3, f64))),
                       doctest::Contains("[mean] x is [0, 3]"), Error);
}

TEST_CASE("gradcheck: head_dot, and it keeps the bits of the ops it fuses") {
  for (const auto& shape : std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {3, 2}, {8, 8}}) {
    // Named copies: doctest's CAPTURE (and the lambda below) cannot capture structured bindings
    // (clang 14).
    const int64_t heads = shape.first, f = shape.second;
    CAPTURE(heads);
    CAPTURE(f);
    const Tensor z = test::random_tensor(5, heads * f, f64, 20 + heads);
    const Tensor a = test::random_tensor(1, heads * f, f64, 21 + heads);
    test::require_gradcheck(gradcheck(
        [heads](Tape&, const std::vector<Var>& in) { return head_dot(in[0], in[1], heads); },
        {z, a}));
  }
  // GAT's scores were reshape(row_sums(reshape(mul(z, a)))): the fused op must give the same bits,
  // forward and backward, in f32 and f64, with z used again (its gradient accumulates) and 300 rows
  // (more than one block of the column sums). Heads of 8 take the AVX-512 path where it exists.
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF32, DType::kF64}) {
    for (const auto& shape : std::vector<std::pair<int64_t, int64_t>>{{3, 5}, {8, 8}, {16, 8}}) {
      const int64_t heads = shape.first, f = shape.second;  // named copies, as above
      CAPTURE(heads);
      CAPTURE(f);
      const uint64_t seed = test::fresh_seed();
      CAPTURE(seed);
      const int64_t n = 300;
      const Tensor z = test::random_tensor(n, heads * f, dtype, seed);
      const Tensor a = test::random_tensor(1, heads * f, dtype, seed + 1);
      const Tensor gs = test::random_tensor(n, heads, dtype, seed + 2);
      const Tensor gz = test::random_tensor(n, heads * f, dtype, seed + 3);
      const auto run = [&](bool fused) {
        Tape tape(ctx);
        Var vz = tape.leaf(z), va = tape.leaf(a);
        Var s = fused ? head_dot(vz, va, heads)
                      : reshape(row_sums(reshape(mul(vz, va), n * heads, f)), n, heads);
        Var out = add(mul(s, tape.constant(gs)), sum(mul(vz, tape.constant(gz))));
        tape.backward(out, Tensor::full(n, heads, 1.0, dtype));
        return std::vector<Tensor>{s.value(), vz.grad(), va.grad()};
      };
      const std::vector<Tensor> unfused = run(false), fused = run(true);
      for (size_t k = 0; k < fused.size(); ++k) {
        CAPTURE(k);
        CHECK(fused[k].to_dtype(f64).to_vector<double>() ==
              unfused[k].to_dtype(f64).to_vector<double>());
      }
    }
  }
}

TEST_CASE("gradcheck: reshape, contiguous and strided, composed with broadcasting") {
  const Tensor x = test::random_tensor(6, 4, f64, 19);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return reshape(in[0], 3, 8); }, {x}));
  // Per-head scores: row sums over [N*H, F] slices of z * a (the GAT attention pattern).
  const Tensor z = test::random_tensor(5, 6, f64, 20), a = test::random_tensor(2, 3, f64, 21);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) {
        Var weighted = mul(in[0], reshape(in[1], 1, 6));           // [5, 6]
        return reshape(row_sums(reshape(weighted, 10, 3)), 5, 2);  // [5, 2]
      },
      {z, a}));
  Tape tape(Context::cpu());
  Var wide = tape.leaf(test::random_tensor(4, 6, f64, 22));
  Var copy = scale(wide, 1.0);
  Var cols = tape.constant(wide.value().slice_cols(1, 4));  // a [4, 3] strided view
  CHECK(reshape(cols, 2, 6).value().to_vector<double>() == cols.value().to_vector<double>());
  CHECK(reshape(copy, 3, 8).value().to_vector<double>() == wide.value().to_vector<double>());
  CHECK_THROWS_WITH_AS(reshape(wide, 5, 5),
                       "[reshape] x is [4, 6] (24 elements), which cannot be viewed as [5, 5]",
                       Error);
}

TEST_CASE("gradcheck: a small MLP with dropout and a log-softmax loss end to end") {
  const Tensor x = test::random_tensor(8, 5, f64, 15);
  const Tensor w1 = test::random_tensor(5, 6, f64, 16);
  const Tensor b1 = test::random_tensor(1, 6, f64, 17, -0.1, 0.1);
  const Tensor w2 = test::random_tensor(6, 3, f64, 18);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) {
        Var h = linear(in[0], in[1], in[2], Activation::kTanh);
        h = dropout(h, 0.25f, 5, 1, true);
        return mean(log_softmax_rows(matmul(h, in[3])));
      },
      {x, w1, b1, w2}));
}

TEST_CASE("gradcheck: batch_norm in training and eval mode, with and without gamma and beta") {
  const Tensor x = test::random_tensor(7, 4, f64, 21, -2.0, 3.0);
  const Tensor gamma = test::random_tensor(1, 4, f64, 22, 0.5, 2.0);
  const Tensor beta = test::random_tensor(1, 4, f64, 23);
  for (bool training : {true, false}) {
    CAPTURE(training);
    // Fresh running statistics per evaluation: the training update must not leak between the
    // finite-difference probes.
    const auto bn = [training](const std::vector<Var>& in, Var g, Var b) {
      Tensor rm = test::random_tensor(1, 4, f64, 24), rv = test::random_tensor(1, 4, f64, 25, 1, 2);
      return batch_norm(in[0], g, b, rm, rv, {.training = training});
    };
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return bn(in, in[1], in[2]); }, {x, gamma, beta}));
    // A nonlinear consumer, so the mean-subtraction terms of the training backward are exercised.
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return tanh(bn(in, Var(), Var())); }, {x}));
  }
}

TEST_CASE("gradcheck: dense functions reject mismatched inputs") {
  Tape tape(Context::cpu());
  Var a = tape.leaf(test::random_tensor(3, 4, f64, 1));
  Var b = tape.leaf(test::random_tensor(3, 4, f64, 2));
  CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("inner dimensions differ"), Error);
  CHECK_THROWS_WITH_AS(bias_act(a, b, Activation::kRelu),
                       "[bias_act] bias is [3, 4] (expected [1, 4])", Error);
  Var c = tape.leaf(test::random_tensor(2, 4, DType::kF32, 3));
  CHECK_THROWS_WITH_AS(add(a, c), doctest::Contains("shapes do not broadcast"), Error);
  Var d = tape.leaf(test::random_tensor(3, 4, DType::kF32, 3));
  CHECK_THROWS_WITH_AS(mul(a, d), "[binary] b is f32 (expected f64)", Error);
}
