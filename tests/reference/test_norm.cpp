// Batch normalisation CPU twin against the textbook formulation in double (Eigen column means and
// variances; the backward as the explicit Jacobian-vector product of the training-mode map).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_norm.h"
#include "tests/support/checks.h"

using namespace gkd;
using gkd::test::to_eigen;

namespace {

// y = (x - mean) / sqrt(var + eps) * gamma + beta, column statistics given.
Eigen::MatrixXd normalise(const Eigen::MatrixXd& x, const Eigen::RowVectorXd& mean,
                          const Eigen::RowVectorXd& var, const Eigen::RowVectorXd& gamma,
                          const Eigen::RowVectorXd& beta, double eps) {
  Eigen::MatrixXd y(x.rows(), x.cols());
  for (int64_t j = 0; j < x.cols(); ++j)
    for (int64_t i = 0; i < x.rows(); ++i)
      y(i, j) = (x(i, j) - mean(j)) / std::sqrt(var(j) + eps) * gamma(j) + beta(j);
  return y;
}

void require_close(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want, double tol) {
  CHECK(test::close_ratio(got, want, tol, tol) <= 1.0);
}

void require_error(const std::function<void()>& fn, const std::string& message) {
  const std::string got = test::error_of(fn);
  INFO(got);
  CHECK(got.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("reference: batch_norm training and eval forward, running statistics") {
  const Context ctx = Context::cpu();
  const double eps = 1e-5, m = 0.1;
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const auto& n_f : {std::pair{2, 1}, std::pair{7, 5}, std::pair{33, 40}}) {
      const auto n = n_f.first;
      const auto f = n_f.second;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(n);
      CAPTURE(f);
      CAPTURE(seed);
      const Tensor x = test::random_tensor(n, f, dtype, seed, -3.0, 5.0);
      const Tensor gamma = test::random_tensor(1, f, dtype, seed + 1, 0.5, 2.0);
      const Tensor beta = test::random_tensor(1, f, dtype, seed + 2);
      Tensor rm = test::random_tensor(1, f, dtype, seed + 3);
      Tensor rv = test::random_tensor(1, f, dtype, seed + 4, 0.5, 2.0);
      const Eigen::MatrixXd xd = to_eigen(x);
      const Eigen::RowVectorXd rm0 = to_eigen(rm), rv0 = to_eigen(rv);
      const Eigen::RowVectorXd mean = xd.colwise().mean();
      const Eigen::RowVectorXd var =
          (xd.rowwise() - mean).array().square().colwise().sum().matrix() / double(n);
      const double tol = dtype == DType::kF64 ? 1e-12 : 2e-5;

      ops::BatchNormSaved saved;
      const Tensor y = ops::batch_norm(ctx, x, gamma, beta, rm, rv, {.training = true}, &saved);
      require_close(to_eigen(y), normalise(xd, mean, var, to_eigen(gamma), to_eigen(beta), eps),
                    tol);
      require_close(to_eigen(saved.mean), mean, tol);
      require_close(to_eigen(rm), (1 - m) * rm0 + m * mean, tol);
      require_close(to_eigen(rv), (1 - m) * rv0 + m * var * double(n) / double(n - 1), tol);

      // Eval uses (and leaves) the running statistics; no affine part means gamma 1, beta 0.
      const Eigen::RowVectorXd rm1 = to_eigen(rm), rv1 = to_eigen(rv);
      const Tensor ye = ops::batch_norm(ctx, x, {}, {}, rm, rv, {.training = false});
      require_close(
          to_eigen(ye),
          normalise(xd, rm1, rv1, Eigen::RowVectorXd::Ones(f), Eigen::RowVectorXd::Zero(f), eps),
          tol);
      CHECK(to_eigen(rm) == Eigen::MatrixXd(rm1));  // untouched
    }
  }
}

TEST_CASE("reference: batch_norm_backward equals the explicit Jacobian product") {
  const Context ctx = Context::cpu();
  const double eps = 1e-5;
  for (bool training : {true, false}) {
    for (bool accumulate : {false, true}) {
      const int64_t n = 9, f = 4;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(training);
      CAPTURE(seed);
      const Tensor x = test::random_tensor(n, f, DType::kF64, seed);
      const Tensor gamma = test::random_tensor(1, f, DType::kF64, seed + 1, 0.5, 2.0);
      const Tensor dy = test::random_tensor(n, f, DType::kF64, seed + 2);
      Tensor rm = test::random_tensor(1, f, DType::kF64, seed + 3);
      Tensor rv = test::random_tensor(1, f, DType::kF64, seed + 4, 0.5, 2.0);
      ops::BatchNormSaved saved;
      ops::batch_norm(ctx, x, gamma, {}, rm, rv, {.training = training}, &saved);

      // d y_kj / d x_ij for column j: s γ (δ_ik − 1/N − x̂_i x̂_k / N) in training, s γ δ_ik in eval.
      const Eigen::MatrixXd xd = to_eigen(x), dyd = to_eigen(dy);
      const Eigen::RowVectorXd mu = to_eigen(saved.mean), s = to_eigen(saved.inv_std);
      const Eigen::RowVectorXd g = to_eigen(gamma);
      Eigen::MatrixXd dx = Eigen::MatrixXd::Zero(n, f);
      Eigen::RowVectorXd dgamma = Eigen::RowVectorXd::Zero(f), dbeta = dgamma;
      for (int64_t j = 0; j < f; ++j) {
        for (int64_t i = 0; i < n; ++i) {
          const double xi = (xd(i, j) - mu(j)) * s(j);
          dgamma(j) += dyd(i, j) * xi;
          dbeta(j) += dyd(i, j);
          for (int64_t k = 0; k < n; ++k) {
            const double xk = (xd(k, j) - mu(j)) * s(j);
            const double jac = training ? (i == k) - 1.0 / n - xi * xk / n : double(i == k);
            dx(i, j) += dyd(k, j) * s(j) * g(j) * jac;
          }
        }
      }
      const double start = accumulate ? 1.0 : 0.0;
      Tensor gx = Tensor::full(n, f, start, DType::kF64);
      Tensor gg = Tensor::full(1, f, start, DType::kF64);
      Tensor gb = Tensor::full(1, f, start, DType::kF64);
      ops::batch_norm_backward(ctx, x, dy, gamma, saved, training, &gx, &gg, &gb, accumulate);
      require_close(to_eigen(gx), dx.array() + start, 1e-12);
      require_close(to_eigen(gg), dgamma.array() + start, 1e-12);
      require_close(to_eigen(gb), dbeta.array() + start, 1e-12);
    }
  }
}

TEST_CASE("batch_norm rejects bad arguments with a message") {
  const Context ctx = Context::cpu();
  Tensor none;
  const Tensor one_row = Tensor::full(1, 3, 1.0, DType::kF32);
  require_error([&] { ops::batch_norm(ctx, one_row, {}, {}, none, none, {}); },
                "[batch_norm] x has 1 rows (expected >= 2 when training");
  const Tensor x = Tensor::full(4, 3, 1.0, DType::kF32);
  require_error([&] { ops::batch_norm(ctx, x, {}, {}, none, none, {.training = false}); },
                "evaluation needs running statistics");
  const Tensor wrong = Tensor::full(1, 2, 1.0, DType::kF32);
  require_error([&] { ops::batch_norm(ctx, x, wrong, {}, none, none, {}); },
                "[batch_norm] gamma is [1, 2] (expected [1, 3])");
}
