// Fused loss CPU twins against independent dense formulations in double (Eigen): explicit
// softmax matrices, Jacobian-vector products for the entropy and teacher gradients, the naive
// BCE formula, and d/dT derived from raw logits (not from the kernel's tempered form). Plus values
// from PyTorch 1.13 for the semantics (KL direction, T², reduction), extremes, poisoned outputs,
// determinism and bad input.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_loss.h"
#include "kernels/philox.h"
#include "kernels/registry.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using test::to_eigen;

namespace {

// A random [rows, cols] tensor seen through a strided view (ld = cols + 3).
Tensor strided_random(int64_t rows, int64_t cols, DType dtype, uint64_t seed, double lo = -4,
                      double hi = 4) {
  return test::random_tensor(rows, cols + 3, dtype, seed, lo, hi).slice_cols(2, 2 + cols);
}

enum class MaskKind { kNone, kRandom, kEmpty, kSingle };
struct Mask {
  Tensor tensor;  // u8 [N, 1] or undefined
  VectorXd w;     // [N] 1 = selected
  double count() const { return w.sum(); }
};
Mask make_mask(int64_t n, MaskKind kind, uint64_t seed) {
  Mask m{Tensor(), VectorXd::Ones(n)};
  if (kind == MaskKind::kNone) return m;
  std::vector<uint8_t> v(n);
  for (int64_t i = 0; i < n; ++i) {
    const bool on = kind == MaskKind::kRandom   ? kernels::philox_bits(seed, 7, i) % 3 != 0
                    : kind == MaskKind::kSingle ? i == n / 2
                                                : false;
    v[i] = on ? (i % 2 ? 1 : 255) : 0;  // any nonzero byte selects
    m.w(i) = on;
  }
  m.tensor = Tensor::from_vector<uint8_t>(n, 1, v);
  return m;
}

MatrixXd log_softmax(const MatrixXd& z, const VectorXd& temp) {  // [N, C], rows of z/T_i
  MatrixXd a = temp.cwiseInverse().asDiagonal() * z;
  const VectorXd mx = a.rowwise().maxCoeff();
  a.colwise() -= mx;
  const VectorXd lse = a.array().exp().rowwise().sum().log().matrix();
  a.colwise() -= lse;
  return a;
}

// Jacobian of softmax at p, applied to v: (diag(p) - p pᵀ) v.
VectorXd softmax_jvp(const VectorXd& p, const VectorXd& v) {
  return p.cwiseProduct(v) - p * p.dot(v);
}

MatrixXd scalar(double v) {
  return MatrixXd::Constant(1, 1, v);
}

void check_close(const Tensor& got, const MatrixXd& want, DType dtype) {
  REQUIRE(got.defined());
  const double tol = dtype == DType::kF64 ? 1e-10 : 2e-5;
  CHECK(test::close_ratio(to_eigen(got), want, tol, tol) <= 1.0);
}

struct Ref {
  MatrixXd loss, rows, g, g_teacher, g_temp;
};

Ref cross_entropy_ref(const MatrixXd& z, const std::vector<int64_t>& y, const Mask& m) {
  const double inv = m.count() > 0 ? 1.0 / m.count() : 0.0;
  const MatrixXd lp = log_softmax(z, VectorXd::Ones(z.rows()));
  const MatrixXd p = lp.array().exp();
  Ref r{scalar(0), MatrixXd::Zero(z.rows(), 1), MatrixXd::Zero(z.rows(), z.cols())};
  for (int64_t i = 0; i < z.rows(); ++i) {
    if (!m.w(i)) continue;
    r.rows(i) = -lp(i, y[i]);
    r.g.row(i) = p.row(i) * inv;
    r.g(i, y[i]) -= inv;
  }
  r.loss(0) = r.rows.sum() * inv;
  return r;
}

Ref kl_ref(const MatrixXd& s, const MatrixXd& t, const VectorXd& temp, const Mask& m) {
  const double inv = m.count() > 0 ? 1.0 / m.count() : 0.0;
  const MatrixXd lp = log_softmax(t, temp), lq = log_softmax(s, temp);
  const int64_t n = s.rows(), c = s.cols();
  Ref r{scalar(0), MatrixXd::Zero(n, 1), MatrixXd::Zero(n, c), MatrixXd::Zero(n, c),
        MatrixXd::Zero(n, 1)};
  for (int64_t i = 0; i < n; ++i) {
    if (!m.w(i)) continue;
    const double tt = temp(i);
    const VectorXd p = lp.row(i).array().exp(), q = lq.row(i).array().exp();
    const VectorXd d = (lp.row(i) - lq.row(i)).transpose();
    const double kl = p.dot(d);
    r.rows(i) = tt * tt * kl;
    r.g.row(i) = tt * (q - p).transpose() * inv;
    // d KL/d(t/T) = J_p (d + 1); the chain rule through t/T gives T² · J_p (d + 1) / T.
    r.g_teacher.row(i) = tt * softmax_jvp(p, d.array() + 1.0).transpose() * inv;
    // d/dT (T² KL) = 2T KL - Σ p (t - t̄) d + Σ (p - q) s, with t̄ = Σ p t (raw logits).
    const VectorXd ti = t.row(i).transpose(), si = s.row(i).transpose();
    const double tbar = p.dot(ti);
    r.g_temp(i) =
        (2 * tt * kl - p.cwiseProduct((ti.array() - tbar).matrix()).dot(d) + (p - q).dot(si)) * inv;
  }
  r.loss(0) = r.rows.sum() * inv;
  return r;
}

Ref entropy_ref(const MatrixXd& x, double temp, const Mask& m) {
  const double inv = m.count() > 0 ? 1.0 / m.count() : 0.0;
  const MatrixXd lp = log_softmax(x, VectorXd::Constant(x.rows(), temp));
  Ref r{scalar(0), MatrixXd::Zero(x.rows(), 1), MatrixXd::Zero(x.rows(), x.cols())};
  for (int64_t i = 0; i < x.rows(); ++i) {
    if (!m.w(i)) continue;
    const VectorXd p = lp.row(i).array().exp(), l = lp.row(i).transpose();
    r.rows(i) = -p.dot(l);
    // dH/dp = -(log p + 1), pulled back through the softmax Jacobian and x/T.
    r.g.row(i) = softmax_jvp(p, -(l.array() + 1.0).matrix()).transpose() * (inv / temp);
  }
  r.loss(0) = r.rows.sum() * inv;
  return r;
}

std::vector<int64_t> random_labels(int64_t n, int64_t c, uint64_t seed) {
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = kernels::philox_bits(seed, 3, i) % c;
  return y;
}

// Labels as i32 or i64; rows outside the mask hold -1, which the op must never read.
Tensor labels_tensor(std::vector<int64_t> y, const Mask& m, DType dtype) {
  for (size_t i = 0; i < y.size(); ++i) y[i] = m.w(i) ? y[i] : -1;
  if (dtype == DType::kI64) return Tensor::from_vector<int64_t>(y.size(), 1, y);
  return Tensor::from_vector<int32_t>(y.size(), 1, std::vector<int32_t>(y.begin(), y.end()));
}

struct Shape {
  int64_t n, c;
};
constexpr Shape kShapes[] = {{1, 1}, {7, 5}, {50, 40}, {130, 121}};
constexpr MaskKind kMasks[] = {MaskKind::kNone, MaskKind::kRandom, MaskKind::kEmpty,
                               MaskKind::kSingle};

}  // namespace

TEST_CASE("reference: cross_entropy matches softmax minus one-hot (masks, i32/i64, strides)") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      for (MaskKind mk : kMasks) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(seed);
        CAPTURE(sh.n);
        CAPTURE(sh.c);
        CAPTURE(static_cast<int>(mk));
        const Tensor z = strided_random(sh.n, sh.c, dtype, seed);  // [N, C]
        const Mask m = make_mask(sh.n, mk, seed);
        const auto y = random_labels(sh.n, sh.c, seed);
        const Ref want = cross_entropy_ref(to_eigen(z), y, m);
        for (DType ldt : {DType::kI32, DType::kI64}) {
          const auto out = ops::cross_entropy(ctx, z, labels_tensor(y, m, ldt), m.tensor);
          check_close(out.loss, want.loss, dtype);
          check_close(out.rows, want.rows, dtype);
          check_close(out.grad, want.g, dtype);
        }
      }
    }
  }
}

TEST_CASE("reference: bce_with_logits matches the naive sigmoid formula (soft targets, masks)") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      for (MaskKind mk : kMasks) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(seed);
        const Tensor x = strided_random(sh.n, sh.c, dtype, seed);                 // [N, L]
        const Tensor t = test::random_tensor(sh.n, sh.c, dtype, seed + 1, 0, 1);  // [N, L]
        const Mask m = make_mask(sh.n, mk, seed);
        const MatrixXd xd = to_eigen(x), td = to_eigen(t);
        const MatrixXd sig = (1.0 + (-xd).array().exp()).inverse().matrix();
        const MatrixXd elem =
            -(td.array() * sig.array().log() + (1.0 - td.array()) * (1.0 - sig.array()).log());
        const double d = m.count() * sh.c, inv = d > 0 ? 1.0 / d : 0.0;
        const MatrixXd rows = m.w.asDiagonal() * elem.rowwise().sum();
        const auto out = ops::bce_with_logits(ctx, x, t, m.tensor);
        check_close(out.rows, rows, dtype);
        check_close(out.loss, scalar(rows.sum() * inv), dtype);
        check_close(out.grad, m.w.asDiagonal() * (sig - td) * inv, dtype);
      }
    }
  }
}

TEST_CASE("reference: kl_div with scalar and per-row temperatures, all three gradients") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      for (MaskKind mk : kMasks) {
        for (double temp : {1.0, 0.5, 4.0, -1.0}) {  // -1: per-row T_i in [0.3, 5)
          const uint64_t seed = test::fresh_seed();
          CAPTURE(seed);
          CAPTURE(temp);
          const Tensor s = strided_random(sh.n, sh.c, dtype, seed);      // [N, C]
          const Tensor t = strided_random(sh.n, sh.c, dtype, seed + 1);  // [N, C]
          const Mask m = make_mask(sh.n, mk, seed);
          ops::KlDivOptions o{.temperature = temp, .mask = m.tensor, .grad_teacher = true};
          VectorXd tv = VectorXd::Constant(sh.n, temp);
          if (temp < 0) {
            o.row_temperature = test::random_tensor(sh.n, 1, dtype, seed + 2, 0.3, 5.0);
            o.grad_temperature = true;
            tv = to_eigen(o.row_temperature).col(0);
          }
          const Ref want = kl_ref(to_eigen(s), to_eigen(t), tv, m);
          const auto out = ops::kl_div(ctx, s, t, o);
          check_close(out.loss, want.loss, dtype);
          check_close(out.rows, want.rows, dtype);
          check_close(out.grad, want.g, dtype);
          check_close(out.grad_teacher, want.g_teacher, dtype);
          if (temp < 0) check_close(out.grad_temperature, want.g_temp, dtype);
          if (temp > 0) CHECK_FALSE(out.grad_temperature.defined());
        }
      }
    }
  }
}

TEST_CASE("reference: softmax_entropy against the softmax Jacobian, T != 1, masks") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      for (MaskKind mk : kMasks) {
        for (double temp : {1.0, 0.3, 2.5}) {
          const uint64_t seed = test::fresh_seed();
          CAPTURE(seed);
          CAPTURE(temp);
          const Tensor x = strided_random(sh.n, sh.c, dtype, seed);  // [N, C]
          const Mask m = make_mask(sh.n, mk, seed);
          const Ref want = entropy_ref(to_eigen(x), temp, m);
          const auto out = ops::softmax_entropy(ctx, x, temp, m.tensor);
          check_close(out.loss, want.loss, dtype);
          check_close(out.rows, want.rows, dtype);
          check_close(out.grad, want.g, dtype);
        }
      }
    }
  }
  // Equal logits: H = log C exactly and no gradient.
  const auto flat = ops::softmax_entropy(ctx, Tensor::full(3, 8, 1.5, DType::kF64), 0.7);
  CHECK(flat.loss.item<double>() == doctest::Approx(std::log(8.0)).epsilon(1e-14));
  CHECK(to_eigen(flat.grad).cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("reference: mse equals the mean squared difference, d/da = 2(a - b)/(N F)") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(seed);
      const Tensor a = strided_random(sh.n, sh.c, dtype, seed);      // [N, F]
      const Tensor b = strided_random(sh.n, sh.c, dtype, seed + 1);  // [N, F]
      const MatrixXd diff = to_eigen(a) - to_eigen(b);
      const double nf = static_cast<double>(sh.n * sh.c);
      const auto out = ops::mse(ctx, a, b);
      check_close(out.loss, scalar(diff.squaredNorm() / nf), dtype);
      check_close(out.rows, diff.rowwise().squaredNorm(), dtype);
      check_close(out.grad, 2.0 * diff / nf, dtype);
    }
  }
}

TEST_CASE("reference: scaled_add accumulates factor * scale[0] * x into a strided y") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const Shape& sh : kShapes) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(seed);
      const Tensor x = strided_random(sh.n, sh.c, dtype, seed);  // [R, K]
      Tensor y = strided_random(sh.n, sh.c, dtype, seed + 1);    // [R, K], holds values
      const MatrixXd y0 = to_eigen(y);
      const Tensor scale = test::random_tensor(1, 1, dtype, seed + 2);  // [1, 1]
      ops::scaled_add(ctx, -2.0, scale, x, y);
      check_close(y, y0 - 2.0 * to_eigen(scale)(0) * to_eigen(x), dtype);
    }
  }
}

TEST_CASE("reference: loss values and gradients equal PyTorch's on fixed inputs") {
  const Context ctx = Context::cpu();
  const Tensor z = Tensor::from_vector<double>(3, 3, {1, 2, 3, 0, -1, 0.5, 2, 2, 2});
  const auto ce = ops::cross_entropy(ctx, z, Tensor::from_vector<int64_t>(3, 1, {2, 0, 1}),
                                     Tensor::from_vector<uint8_t>(3, 1, {1, 0, 1}));
  CHECK(ce.loss.item<double>() == doctest::Approx(0.7531091265562451).epsilon(1e-13));
  CHECK(ce.grad.to_vector<double>()[5] == doctest::Approx(0.0));
  CHECK(ce.grad.to_vector<double>()[7] == doctest::Approx(-0.33333333333333337).epsilon(1e-13));
  const Tensor x = Tensor::from_vector<double>(2, 2, {0.5, -1, 3, -2});
  const auto bce = ops::bce_with_logits(ctx, x, Tensor::from_vector<double>(2, 2, {1, 0, 0.3, 1}));
  CHECK(bce.loss.item<double>() == doctest::Approx(1.265713508578761).epsilon(1e-13));
  CHECK(bce.grad.to_vector<double>()[2] == doctest::Approx(0.16314353170560836).epsilon(1e-13));
  // F.kl_div(log_softmax(s/T), softmax(t/T), 'batchmean') * T², T = 2.
  const Tensor s = Tensor::from_vector<double>(2, 3, {0.2, -0.4, 1.0, 1.5, 0., -1.});
  const Tensor t = Tensor::from_vector<double>(2, 3, {1.0, 0.3, -0.5, 0., 0.5, 2.});
  const auto kl = ops::kl_div(ctx, s, t, {.temperature = 2.0, .grad_teacher = true});
  CHECK(kl.loss.item<double>() == doctest::Approx(1.1274874833973547).epsilon(1e-13));
  CHECK(kl.grad.to_vector<double>()[0] == doctest::Approx(-0.14999179198609983).epsilon(1e-13));
  CHECK(kl.grad_teacher.to_vector<double>()[5] ==
        doctest::Approx(0.4187759357641127).epsilon(1e-13));
  // Per-row T = [0.5, 3]: mean_i T_i² KL_i, with autograd's d/dT_i.
  const auto klr = ops::kl_div(
      ctx, s, t,
      {.row_temperature = Tensor::from_vector<double>(2, 1, {0.5, 3.0}), .grad_temperature = true});
  CHECK(klr.loss.item<double>() == doctest::Approx(1.041733712568664).epsilon(1e-13));
  const auto dtemp = klr.grad_temperature.to_vector<double>();
  CHECK(dtemp[0] == doctest::Approx(0.21011818152613324).epsilon(1e-12));
  CHECK(dtemp[1] == doctest::Approx(-0.0012177228388896566).epsilon(1e-10));
  const auto h = ops::softmax_entropy(ctx, s, 0.5);
  CHECK(h.loss.item<double>() == doctest::Approx(0.4260855488729785).epsilon(1e-13));
  CHECK(h.grad.to_vector<double>()[3] == doctest::Approx(-0.16398812301290228).epsilon(1e-13));
}

TEST_CASE("reference: loss kernels stay finite and accurate at extreme logits (+-80)") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const uint64_t seed = test::fresh_seed();
    CAPTURE(seed);
    const Tensor s = test::random_away_from_zero(20, 9, dtype, seed, 60, 80);      // [N, C]
    const Tensor t = test::random_away_from_zero(20, 9, dtype, seed + 1, 60, 80);  // [N, C]
    const Mask m = make_mask(20, MaskKind::kRandom, seed);
    auto finite = [](const Tensor& v) { return to_eigen(v).allFinite(); };
    const auto ce = ops::cross_entropy(
        ctx, s, labels_tensor(random_labels(20, 9, seed), m, DType::kI64), m.tensor);
    check_close(ce.grad, cross_entropy_ref(to_eigen(s), random_labels(20, 9, seed), m).g, dtype);
    const auto bce = ops::bce_with_logits(ctx, s, test::random_tensor(20, 9, dtype, seed, 0, 1));
    CHECK((finite(bce.loss) && finite(bce.grad)));
    for (double temp : {1.0, 0.25, -1.0}) {
      ops::KlDivOptions o{.temperature = temp, .mask = m.tensor, .grad_teacher = true};
      VectorXd tv = VectorXd::Constant(20, temp);
      if (temp < 0) {
        o.row_temperature = test::random_tensor(20, 1, dtype, seed + 2, 0.2, 3.0);
        o.grad_temperature = true;
        tv = to_eigen(o.row_temperature).col(0);
      }
      const auto kl = ops::kl_div(ctx, s, t, o);
      const Ref want = kl_ref(to_eigen(s), to_eigen(t), tv, m);
      check_close(kl.loss, want.loss, dtype);
      check_close(kl.grad, want.g, dtype);
      check_close(kl.grad_teacher, want.g_teacher, dtype);
      if (temp < 0) check_close(kl.grad_temperature, want.g_temp, dtype);
      const auto h = ops::softmax_entropy(ctx, s, std::abs(temp), m.tensor);
      const Ref hw = entropy_ref(to_eigen(s), std::abs(temp), m);
      check_close(h.loss, hw.loss, dtype);
      check_close(h.grad, hw.g, dtype);
    }
  }
}

TEST_CASE("reference: loss kernels write every output (NaN-poisoned) and are thread-invariant") {
  const Context ctx = Context::cpu();
  const int64_t n = 37, c = 6;
  const uint64_t seed = test::fresh_seed();
  CAPTURE(seed);
  const Tensor s = test::random_tensor(n, c, DType::kF64, seed, -3, 3);      // [N, C]
  const Tensor t = test::random_tensor(n, c, DType::kF64, seed + 1, -3, 3);  // [N, C]
  const Tensor temp = test::random_tensor(n, 1, DType::kF64, seed + 2, 0.5, 2);
  const Mask m = make_mask(n, MaskKind::kRandom, seed);
  const ops::LossOutput want = ops::kl_div(
      ctx, s, t,
      {.row_temperature = temp, .mask = m.tensor, .grad_teacher = true, .grad_temperature = true});
  auto poisoned = [](int64_t r, int64_t k) { return Tensor::full(r, k, NAN, DType::kF64); };
  Tensor rows = poisoned(n, 1), loss = poisoned(1, 1), ds = poisoned(n, c), dt = poisoned(n, c),
         dtemp = poisoned(n, 1);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  kernels::cpu::kl_div<double>({s.cview<double>(), t.cview<double>(), 1.0, temp.data<double>(),
                                m.tensor.data<uint8_t>(), rows.data<double>(), loss.data<double>(),
                                ds.view<double>(), dt.view<double>(), dtemp.data<double>()});
  omp_set_num_threads(threads);
  // Bitwise equal to the multi-threaded op (NaN != NaN, so an unwritten element fails too).
  CHECK(rows.to_vector<double>() == want.rows.to_vector<double>());
  CHECK(loss.to_vector<double>() == want.loss.to_vector<double>());
  CHECK(ds.to_vector<double>() == want.grad.to_vector<double>());
  CHECK(dt.to_vector<double>() == want.grad_teacher.to_vector<double>());
  CHECK(dtemp.to_vector<double>() == want.grad_temperature.to_vector<double>());
  // The other kernels, on fresh poisoned outputs, against their ops without the gradient.
  const Tensor target = test::random_tensor(n, c, DType::kF64, seed + 3, 0, 1);  // [N, C]
  const auto y = random_labels(n, c, seed);
  const Tensor labels = labels_tensor(y, m, DType::kI64);
  Tensor g;
  auto poison_all = [&] {
    rows = poisoned(n, 1);
    loss = poisoned(1, 1);
    g = poisoned(n, c);
  };
  auto same_values = [&](const ops::LossOutput& op) {
    CHECK_FALSE(op.grad.defined());
    CHECK(rows.to_vector<double>() == op.rows.to_vector<double>());
    CHECK(loss.to_vector<double>() == op.loss.to_vector<double>());
  };
  poison_all();
  kernels::cpu::cross_entropy<double>({s.cview<double>(), nullptr, labels.data<int64_t>(),
                                       m.tensor.data<uint8_t>(), rows.data<double>(),
                                       loss.data<double>(), g.view<double>()});
  same_values(ops::cross_entropy(ctx, s, labels, m.tensor, false));
  check_close(g, cross_entropy_ref(to_eigen(s), y, m).g, DType::kF64);
  poison_all();
  kernels::cpu::bce_with_logits<double>({s.cview<double>(), target.cview<double>(),
                                         m.tensor.data<uint8_t>(), rows.data<double>(),
                                         loss.data<double>(), g.view<double>()});
  same_values(ops::bce_with_logits(ctx, s, target, m.tensor, false));
  check_close(g, to_eigen(ops::bce_with_logits(ctx, s, target, m.tensor).grad), DType::kF64);
  poison_all();
  kernels::cpu::softmax_entropy<double>({s.cview<double>(), 0.8, m.tensor.data<uint8_t>(),
                                         rows.data<double>(), loss.data<double>(),
                                         g.view<double>()});
  same_values(ops::softmax_entropy(ctx, s, 0.8, m.tensor, false));
  check_close(g, entropy_ref(to_eigen(s), 0.8, m).g, DType::kF64);
  poison_all();
  kernels::cpu::mse<double>({s.cview<double>(), t.cview<double>(), rows.data<double>(),
                             loss.data<double>(), g.view<double>()});
  same_values(ops::mse(ctx, s, t, false));
  check_close(g, 2.0 * (to_eigen(s) - to_eigen(t)) / (n * c), DType::kF64);
}

TEST_CASE("reference: loss ops reject bad input with clear messages") {
  const Context ctx = Context::cpu();
  const Tensor z = Tensor::zeros(7, 5, DType::kF32);
  const Tensor y = Tensor::zeros(7, 1, DType::kI64);
  CHECK_THROWS_WITH_AS(ops::cross_entropy(ctx, z, Tensor::zeros(5, 1, DType::kI64)),
                       "[cross_entropy] labels has 5 rows (expected 7)", Error);
  CHECK_THROWS_WITH_AS(ops::cross_entropy(ctx, z, Tensor::zeros(7, 1, DType::kF32)),
                       "[cross_entropy] labels is f32 (expected i32 or i64)", Error);
  CHECK_THROWS_WITH_AS(
      ops::cross_entropy(ctx, z, Tensor::from_vector<int32_t>(7, 1, {0, 1, 2, 5, 4, 3, 2})),
      "[cross_entropy] labels[3] is 5 (expected a class in [0, 5))", Error);
  CHECK_THROWS_WITH_AS(
      ops::cross_entropy(ctx, z, Tensor::from_vector<int64_t>(7, 1, {0, 1, 2, 3, 4, -1, 2})),
      "[cross_entropy] labels[5] is -1 (expected a class in [0, 5))", Error);
  CHECK_THROWS_WITH_AS(
      ops::cross_entropy(ctx, z, Tensor::zeros(7, 2, DType::kI64).slice_cols(0, 1)),
      "[cross_entropy] labels must be contiguous (got a strided view)", Error);
  CHECK_THROWS_WITH_AS(ops::cross_entropy(ctx, z, y, Tensor::zeros(7, 1, DType::kF32)),
                       "[cross_entropy] mask is f32 (expected u8)", Error);
  CHECK_THROWS_WITH_AS(ops::cross_entropy(ctx, z, y, Tensor::zeros(7, 2, DType::kU8)),
                       "[cross_entropy] mask is [7, 2] (expected [7, 1])", Error);
  CHECK_THROWS_WITH_AS(ops::cross_entropy(ctx, Tensor::zeros(7, 5, DType::kI32), y),
                       "[cross_entropy] dtype i32 (expected f32 or f64)", Error);
  CHECK_THROWS_WITH_AS(
      ops::cross_entropy(ctx, Tensor::zeros(0, 5, DType::kF32), y),
      "[cross_entropy] logits is [0, 5] (expected at least one row and one column)", Error);
  CHECK_THROWS_WITH_AS(ops::bce_with_logits(ctx, z, Tensor::zeros(7, 4, DType::kF32)),
                       "[bce_with_logits] targets is [7, 4] (expected [7, 5])", Error);
  CHECK_THROWS_WITH_AS(ops::bce_with_logits(ctx, z, Tensor::zeros(7, 5, DType::kF64)),
                       "[bce_with_logits] targets is f64 (expected f32)", Error);
  CHECK_THROWS_WITH_AS(ops::bce_with_logits(ctx, z, z, Tensor::zeros(6, 1, DType::kU8)),
                       "[bce_with_logits] mask has 6 rows (expected 7)", Error);
  CHECK_THROWS_WITH_AS(ops::kl_div(ctx, z, Tensor::zeros(7, 4, DType::kF32)),
                       "[kl_div] teacher is [7, 4] (expected [7, 5])", Error);
  CHECK_THROWS_WITH_AS(ops::kl_div(ctx, z, z, {.temperature = 0}),
                       "[kl_div] temperature is 0 (expected a finite value > 0)", Error);
  CHECK_THROWS_WITH_AS(ops::kl_div(ctx, z, z, {.grad_temperature = true}),
                       doctest::Contains("[kl_div] grad_temperature needs a per-row temperature"),
                       Error);
  CHECK_THROWS_WITH_AS(
      ops::kl_div(ctx, z, z, {.row_temperature = Tensor::full(5, 1, 1.0, DType::kF32)}),
      "[kl_div] row_temperature has 5 rows (expected 7)", Error);
  CHECK_THROWS_WITH_AS(
      ops::kl_div(ctx, z, z,
                  {.row_temperature = Tensor::from_vector<float>(7, 1, {1, 1, -1, 1, 1, 1, 1})}),
      "[kl_div] row_temperature[2] is -1 (expected a finite value > 0)", Error);
  CHECK_THROWS_WITH_AS(ops::softmax_entropy(ctx, z, -0.5),
                       "[softmax_entropy] temperature is -0.5 (expected a finite value > 0)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::mse(ctx, z, Tensor::zeros(5, 5, DType::kF32)),
                       "[mse] b is [5, 5] (expected [7, 5])", Error);
  Tensor out = Tensor::zeros(7, 5, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::scaled_add(ctx, 1.0, Tensor::zeros(2, 1, DType::kF32), z, out),
                       "[scaled_add] scale is [2, 1] (expected [1, 1])", Error);
}
