// Multi-tensor optimizer twins against PyTorch's published update equations (the algorithm boxes of
// torch.optim.Adam, AdamW and SGD), written out here in double with Eigen, step by step.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "autograd/optim.h"
#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_optim.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using Eigen::MatrixXd;
using gkd::test::to_eigen;

namespace {

// PyTorch Adam / AdamW (docs' algorithm box, amsgrad = maximize = False) for one tensor.
struct RefAdam {
  MatrixXd p, m, v;  // [rows, cols] like the parameter
  int t = 0;
  void step(MatrixXd g, double lr, double b1, double b2, double eps, double wd, bool decoupled) {
    ++t;
    if (decoupled) {
      p = p - lr * wd * p;  // θ_t ← θ_{t-1} - γλθ_{t-1}
    } else if (wd != 0.0) {
      g = g + wd * p;  // g_t ← g_t + λθ_{t-1}
    }
    m = b1 * m + (1.0 - b1) * g;
    v = b2 * v + (1.0 - b2) * g.cwiseProduct(g);
    const MatrixXd m_hat = m / (1.0 - std::pow(b1, t));
    const MatrixXd v_hat = v / (1.0 - std::pow(b2, t));
    p = p - lr * (m_hat.array() / (v_hat.array().sqrt() + eps)).matrix();
  }
};

// PyTorch SGD (docs' algorithm box, maximize = False) for one tensor.
struct RefSgd {
  MatrixXd p, b;  // [rows, cols]
  int t = 0;
  void step(MatrixXd g, double lr, double mu, double tau, double wd, bool nesterov) {
    ++t;
    if (wd != 0.0) g = g + wd * p;
    if (mu != 0.0) {
      b = t > 1 ? MatrixXd(mu * b + (1.0 - tau) * g) : g;
      g = nesterov ? MatrixXd(g + mu * b) : b;
    }
    p = p - lr * g;
  }
};

struct Shape {
  int64_t rows, cols;
};
// Different shapes in one call, including an empty tensor and one large enough for OpenMP.
const std::vector<Shape> kShapes = {{5, 3}, {1, 7}, {40, 1}, {0, 4}, {300, 120}};

double tolerance(DType dtype) {
  return dtype == DType::kF64 ? 1e-12 : 2e-5;
}

bool close(const Tensor& got, const MatrixXd& want, DType dtype) {
  return test::close_ratio(to_eigen(got), want, tolerance(dtype), tolerance(dtype)) <= 1.0;
}

}  // namespace

TEST_CASE("reference: adam and adamw follow PyTorch's equations over several steps and tensors") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (bool decoupled : {false, true}) {
      for (double wd : {0.0, 0.1}) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(dtype_name(dtype));
        CAPTURE(decoupled);
        CAPTURE(wd);
        CAPTURE(seed);
        const ops::AdamOptions o{.lr = 0.05,
                                 .beta1 = 0.8,
                                 .beta2 = 0.95,
                                 .eps = 1e-6,
                                 .weight_decay = wd,
                                 .decoupled_weight_decay = decoupled};
        std::vector<Tensor> params, exp_avg, exp_avg_sq;
        std::vector<RefAdam> ref;
        for (size_t i = 0; i < kShapes.size(); ++i) {
          const auto [r, c] = kShapes[i];
          params.push_back(test::random_tensor(r, c, dtype, seed + i));
          exp_avg.push_back(Tensor::zeros(r, c, dtype));
          exp_avg_sq.push_back(Tensor::zeros(r, c, dtype));
          ref.push_back({to_eigen(params[i]), MatrixXd::Zero(r, c), MatrixXd::Zero(r, c)});
        }
        for (int step = 1; step <= 5; ++step) {
          std::vector<Tensor> grads;
          for (size_t i = 0; i < kShapes.size(); ++i) {
            grads.push_back(test::random_away_from_zero(kShapes[i].rows, kShapes[i].cols, dtype,
                                                        seed + 100 * step + i, 0.01, 2.0));
            ref[i].step(to_eigen(grads[i]), o.lr, o.beta1, o.beta2, o.eps, wd, decoupled);
          }
          const std::vector<int64_t> steps(kShapes.size(), step);
          ops::adam_step(ctx, params, grads, exp_avg, exp_avg_sq, steps, o);
        }
        for (size_t i = 0; i < kShapes.size(); ++i) {
          CAPTURE(i);
          CHECK(close(params[i], ref[i].p, dtype));
          CHECK(close(exp_avg[i], ref[i].m, dtype));
          CHECK(close(exp_avg_sq[i], ref[i].v, dtype));
        }
        // The reference moved away from the start, so a no-op kernel cannot pass the checks above.
        CHECK((ref[0].p - to_eigen(test::random_tensor(5, 3, dtype, seed))).norm() > 1e-3);
      }
    }
  }
}

TEST_CASE("reference: sgd follows PyTorch's equations with momentum, dampening and nesterov") {
  const Context ctx = Context::cpu();
  struct Case {
    double momentum, dampening, wd;
    bool nesterov;
  };
  const std::vector<Case> cases = {{0.0, 0.0, 0.0, false}, {0.0, 0.0, 0.05, false},
                                   {0.9, 0.0, 0.0, false}, {0.9, 0.3, 0.05, false},
                                   {0.9, 0.0, 0.0, true},  {0.7, 0.0, 0.05, true}};
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Case& k : cases) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(dtype_name(dtype));
      CAPTURE(k.momentum);
      CAPTURE(k.dampening);
      CAPTURE(k.wd);
      CAPTURE(k.nesterov);
      CAPTURE(seed);
      const ops::SgdOptions o{.lr = 0.1,
                              .momentum = k.momentum,
                              .dampening = k.dampening,
                              .weight_decay = k.wd,
                              .nesterov = k.nesterov};
      std::vector<Tensor> params, bufs;
      std::vector<RefSgd> ref;
      for (size_t i = 0; i < kShapes.size(); ++i) {
        const auto [r, c] = kShapes[i];
        params.push_back(test::random_tensor(r, c, dtype, seed + i));
        // Poisoned: the first step must overwrite the buffer without reading it.
        if (k.momentum != 0.0) bufs.push_back(Tensor::full(r, c, NAN, dtype));
        ref.push_back({to_eigen(params[i]), MatrixXd::Zero(r, c)});
      }
      for (int step = 1; step <= 4; ++step) {
        std::vector<Tensor> grads;
        for (size_t i = 0; i < kShapes.size(); ++i) {
          grads.push_back(
              test::random_tensor(kShapes[i].rows, kShapes[i].cols, dtype, seed + 100 * step + i));
          ref[i].step(to_eigen(grads[i]), o.lr, k.momentum, k.dampening, k.wd, k.nesterov);
        }
        const std::vector<int64_t> steps(kShapes.size(), step);
        ops::sgd_step(ctx, params, grads, bufs, steps, o);
      }
      for (size_t i = 0; i < kShapes.size(); ++i) {
        CAPTURE(i);
        CHECK(close(params[i], ref[i].p, dtype));
        if (k.momentum != 0.0) CHECK(close(bufs[i], ref[i].b, dtype));
      }
    }
  }
}

TEST_CASE("reference: optimizers skip parameters without a gradient, keeping per-parameter state") {
  const Context ctx = Context::cpu();
  const uint64_t seed = test::fresh_seed();
  CAPTURE(seed);
  // Which parameters receive a gradient at each of 5 steps: b misses steps 1-2 (its bias
  // correction starts late), c misses step 3, a gets all of them.
  const bool has_grad[5][3] = {{1, 0, 1}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1}, {1, 1, 1}};
  const std::vector<Shape> shapes = {{4, 3}, {3, 1}, {2, 6}};
  enum Kind { kAdam, kAdamW, kSgd };
  for (Kind kind : {kAdam, kAdamW, kSgd}) {
    CAPTURE(kind);
    std::vector<autograd::Parameter> storage(3);
    std::vector<RefAdam> ref_adam(3);
    std::vector<RefSgd> ref_sgd(3);
    for (size_t i = 0; i < 3; ++i) {
      storage[i] = {std::string(1, static_cast<char>('a' + i)),
                    test::random_tensor(shapes[i].rows, shapes[i].cols, DType::kF64, seed + i),
                    {}};
      const MatrixXd p = to_eigen(storage[i].value);
      ref_adam[i] = {p, MatrixXd::Zero(p.rows(), p.cols()), MatrixXd::Zero(p.rows(), p.cols())};
      ref_sgd[i] = {p, MatrixXd::Zero(p.rows(), p.cols())};
    }
    std::vector<autograd::Parameter*> params = {&storage[0], &storage[1], &storage[2]};
    const auto make = [&]() -> std::unique_ptr<autograd::Optimizer> {
      if (kind == kAdam) {
        return std::make_unique<autograd::Adam>(ctx, params,
                                                autograd::AdamOptions{.weight_decay = 0.1});
      }
      if (kind == kAdamW) {
        return std::make_unique<autograd::AdamW>(ctx, params, autograd::AdamWOptions{.lr = 0.01});
      }
      return std::make_unique<autograd::SGD>(
          ctx, params, autograd::SgdOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
    };
    std::unique_ptr<autograd::Optimizer> opt = make();
    for (int step = 0; step < 5; ++step) {
      if (step == 2) {
        // A resumed run: a fresh optimizer takes over the state (b has none yet).
        const autograd::Optimizer::NamedTensors state = opt->state();
        opt = make();
        opt->load_state(state);
      }
      opt->zero_grad();
      for (size_t i = 0; i < 3; ++i) {
        CHECK_FALSE(storage[i].grad.defined());
        if (!has_grad[step][i]) continue;
        storage[i].grad = test::random_tensor(shapes[i].rows, shapes[i].cols, DType::kF64,
                                              seed + 10 * step + i + 50);
        const MatrixXd g = to_eigen(storage[i].grad);
        if (kind == kAdam) ref_adam[i].step(g, 1e-3, 0.9, 0.999, 1e-8, 0.1, false);
        if (kind == kAdamW) ref_adam[i].step(g, 0.01, 0.9, 0.999, 1e-8, 1e-2, true);
        if (kind == kSgd) ref_sgd[i].step(g, 0.1, 0.9, 0.1, 0.0, false);
      }
      const MatrixXd c_before = to_eigen(storage[2].value);
      opt->step();
      if (!has_grad[step][2]) CHECK(to_eigen(storage[2].value) == c_before);  // untouched
    }
    for (size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      const MatrixXd& want = kind == kSgd ? ref_sgd[i].p : ref_adam[i].p;
      CHECK(test::close_ratio(to_eigen(storage[i].value), want, 1e-12, 1e-12) <= 1.0);
    }
  }
}

TEST_CASE("reference: optimizer state is refused when it does not fit the parameters") {
  const Context ctx = Context::cpu();
  autograd::Parameter w{"w", Tensor::zeros(3, 2, DType::kF32), {}};
  autograd::Adam adam(ctx, {&w});
  w.grad = Tensor::full(3, 2, 0.5, DType::kF32);
  adam.step();
  const autograd::Optimizer::NamedTensors good = adam.state();
  REQUIRE(good.size() == 4);  // lr, steps, exp_avg.0, exp_avg_sq.0
  const auto without = [&](const std::string& name) {
    autograd::Optimizer::NamedTensors s;
    for (const auto& [n, t] : good) {
      if (n != name) s.emplace_back(n, t);
    }
    return s;
  };
  CHECK_THROWS_WITH_AS(adam.load_state(without("lr")), doctest::Contains("'lr' is missing"), Error);
  CHECK_THROWS_WITH_AS(adam.load_state(without("exp_avg.0")),
                       doctest::Contains("'exp_avg.0' is missing with 1 steps"), Error);
  autograd::Optimizer::NamedTensors bad = good;
  bad[2].second = Tensor::zeros(2, 3, DType::kF32);
  CHECK_THROWS_WITH_AS(adam.load_state(bad), doctest::Contains("'exp_avg.0' is [2, 3] f32"), Error);
  bad = good;
  bad.emplace_back("exp_avg.1", Tensor::zeros(3, 2, DType::kF32));
  CHECK_THROWS_WITH_AS(adam.load_state(bad), doctest::Contains("unexpected entry 'exp_avg.1'"),
                       Error);
  adam.load_state(good);
  CHECK(adam.lr() == 1e-3);
}

TEST_CASE("reference: adam and sgd reject bad hyper-parameters and mismatched tensors") {
  const Context ctx = Context::cpu();
  autograd::Parameter w{"w", Tensor::zeros(3, 2, DType::kF32), {}};
  std::vector<autograd::Parameter*> ps = {&w};
  using autograd::Adam, autograd::AdamW, autograd::SGD;
  CHECK_THROWS_WITH_AS(Adam(ctx, ps, {.lr = 0.0}), "[Adam] lr must be > 0 (got 0)", Error);
  CHECK_THROWS_WITH_AS(Adam(ctx, ps, {.lr = NAN}), "[Adam] lr must be > 0 (got nan)", Error);
  CHECK_THROWS_WITH_AS(Adam(ctx, ps, {.beta1 = 1.0}), "[Adam] beta1 must be in [0, 1) (got 1)",
                       Error);
  CHECK_THROWS_WITH_AS(Adam(ctx, ps, {.beta2 = -0.1}), "[Adam] beta2 must be in [0, 1) (got -0.1)",
                       Error);
  CHECK_THROWS_WITH_AS(Adam(ctx, ps, {.eps = 0.0}), "[Adam] eps must be > 0 (got 0)", Error);
  CHECK_THROWS_WITH_AS(AdamW(ctx, ps, {.weight_decay = -1.0}),
                       "[AdamW] weight_decay must be >= 0 (got -1)", Error);
  CHECK_THROWS_WITH_AS(SGD(ctx, ps, {.momentum = -0.5}), "[SGD] momentum must be >= 0 (got -0.5)",
                       Error);
  CHECK_THROWS_WITH_AS(SGD(ctx, ps, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                       "[SGD] nesterov momentum requires momentum > 0 and dampening = 0 (got "
                       "momentum 0.9, dampening 0.1)",
                       Error);
  CHECK_THROWS_WITH_AS(SGD(ctx, {&w, &w}), "[SGD] parameter 1 ('w') appears more than once", Error);
  CHECK_THROWS_WITH_AS(SGD(ctx, {&w, nullptr}), "[SGD] parameter 1 is null", Error);
  Adam adam(ctx, ps);
  CHECK_THROWS_WITH_AS(adam.set_lr(-1.0), "[Adam] lr must be > 0 (got -1)", Error);
  w.grad = Tensor::zeros(2, 3, DType::kF32);
  CHECK_THROWS_WITH_AS(
      adam.step(), "[Adam] parameter 'w': grad is [2, 3] f32 cpu (expected [3, 2] f32 cpu)", Error);

  // The tensor-level ops name the list entry.
  std::vector<Tensor> p = {Tensor::zeros(3, 2, DType::kF32), Tensor::zeros(1, 4, DType::kF32)};
  std::vector<Tensor> g = {Tensor::zeros(3, 2, DType::kF32), Tensor::zeros(4, 1, DType::kF32)};
  std::vector<Tensor> m = {Tensor::zeros(3, 2, DType::kF32), Tensor::zeros(1, 4, DType::kF32)};
  std::vector<Tensor> v = m;
  std::vector<int64_t> steps = {1, 1};
  CHECK_THROWS_WITH_AS(ops::adam_step(ctx, p, g, m, v, steps, {}),
                       "[adam] grads[1] is [4, 1] (expected [1, 4])", Error);
  g[1] = Tensor::zeros(1, 4, DType::kF64);
  CHECK_THROWS_WITH_AS(ops::adam_step(ctx, p, g, m, v, steps, {}),
                       "[adam] grads[1] is f64 (expected f32)", Error);
  g[1] = Tensor::zeros(1, 4, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::adam_step(ctx, p, g, m, std::span<Tensor>(v).first(1), steps, {}),
                       "[adam] exp_avg_sq has 1 entries (expected 2, one per parameter)", Error);
  steps[0] = 0;
  CHECK_THROWS_WITH_AS(ops::adam_step(ctx, p, g, m, v, steps, {}),
                       "[adam] steps[0] is 0 (expected >= 1)", Error);
  steps[0] = 1;
  Tensor wide = Tensor::zeros(3, 4, DType::kF32);
  m[0] = wide.slice_cols(0, 2);  // [3, 2] with ld 4
  CHECK_THROWS_WITH_AS(ops::adam_step(ctx, p, g, m, v, steps, {}),
                       "[adam] exp_avg[0] must be contiguous (got a strided view)", Error);
  std::vector<Tensor> pi = {Tensor::zeros(2, 2, DType::kI32)};
  std::vector<Tensor> gi = pi;
  CHECK_THROWS_WITH_AS(ops::sgd_step(ctx, pi, gi, {}, std::vector<int64_t>{1}, {}),
                       "[sgd] dtype i32 (expected f32 or f64)", Error);
  CHECK_THROWS_WITH_AS(ops::sgd_step(ctx, p, g, m, steps, {}),
                       "[sgd] momentum_bufs has 2 entries but momentum is 0 (expected none)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::sgd_step(ctx, p, g, {}, steps, {.momentum = 0.9}),
                       "[sgd] momentum_bufs has 0 entries (expected 2, one per parameter)", Error);
}
