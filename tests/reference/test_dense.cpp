// Dense CPU twins (kernels/dense.h, kernels/gemm.h) against independent Eigen formulations in
// double: every transpose, strided views (ld > cols), batched GEMM, accumulate modes, outputs
// poisoned with NaN where they are overwritten, odd widths.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_dense.h"
#include "kernels/philox.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using Eigen::MatrixXd;
using gkd::test::close_ratio;
using gkd::test::to_eigen;

namespace {

constexpr int64_t kWidths[] = {1, 3, 31, 33, 130};

// A random [rows, cols] view into wider storage (ld = cols + 3), so ld is exercised.
Tensor strided_random(int64_t rows, int64_t cols, DType dtype, uint64_t seed, double lo = -1.0,
                      double hi = 1.0) {
  return test::random_tensor(rows, cols + 3, dtype, seed, lo, hi).slice_cols(1, 1 + cols);
}
Tensor strided_nan(int64_t rows, int64_t cols, DType dtype) {
  return Tensor::full(rows, cols + 3, NAN, dtype).slice_cols(2, 2 + cols);
}
double tol(DType dtype, double scale = 1.0) {
  return (dtype == DType::kF64 ? 1e-12 : 2e-6) * scale;
}
bool close(const Tensor& got, const MatrixXd& want, DType dtype, double scale = 1.0) {
  return close_ratio(to_eigen(got), want, tol(dtype, scale), tol(dtype, scale)) <= 1.0;
}
bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.to_dtype(DType::kF64).to_vector<double>() == b.to_dtype(DType::kF64).to_vector<double>();
}

// The activations and their derivatives written from the pre-activation z (the kernels use the
// output): an independent formulation.
double act_ref(kernels::Activation act, double z, double slope) {
  using A = kernels::Activation;
  switch (act) {
    case A::kNone:
      return z;
    case A::kRelu:
      return std::max(z, 0.0);
    case A::kElu:
      return z > 0 ? z : std::exp(z) - 1.0;
    case A::kLeakyRelu:
      return z > 0 ? z : slope * z;
    case A::kSigmoid:
      return 1.0 / (1.0 + std::exp(-z));
    case A::kTanh:
      return std::tanh(z);
  }
  return NAN;
}
double act_grad_ref(kernels::Activation act, double z, double slope) {
  using A = kernels::Activation;
  switch (act) {
    case A::kNone:
      return 1.0;
    case A::kRelu:
      return z > 0 ? 1.0 : 0.0;
    case A::kElu:
      return z > 0 ? 1.0 : std::exp(z);
    case A::kLeakyRelu:
      return z > 0 ? 1.0 : slope;
    case A::kSigmoid:
      return std::exp(-z) / ((1.0 + std::exp(-z)) * (1.0 + std::exp(-z)));
    case A::kTanh:
      return 1.0 / (std::cosh(z) * std::cosh(z));
  }
  return NAN;
}
constexpr kernels::Activation kActivations[] = {
    kernels::Activation::kNone,      kernels::Activation::kRelu,    kernels::Activation::kElu,
    kernels::Activation::kLeakyRelu, kernels::Activation::kSigmoid, kernels::Activation::kTanh};

// Numpy broadcast of m to [rows, cols].
MatrixXd broadcast(const MatrixXd& m, int64_t rows, int64_t cols) {
  MatrixXd out(rows, cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out(i, j) = m(m.rows() == 1 ? 0 : i, m.cols() == 1 ? 0 : j);
  return out;
}

}  // namespace

TEST_CASE("reference: axpby, overwrite with beta = 0 ignores NaN, else scales y") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t f : kWidths) {
      const Tensor x = strided_random(17, f, dtype, 1);
      Tensor y = strided_nan(17, f, dtype);
      ops::axpby(ctx, 2.5, x, 0.0, y);
      CHECK(close(y, 2.5 * to_eigen(x), dtype));
      Tensor z = strided_random(17, f, dtype, 2);
      const MatrixXd z0 = to_eigen(z);
      ops::axpby(ctx, -0.5, x, 0.75, z);
      CHECK(close(z, -0.5 * to_eigen(x) + 0.75 * z0, dtype));
    }
  }
}

TEST_CASE("reference: gemm, every transpose, strided views, beta = 0 and accumulate") {
  const Context ctx = Context::cpu();
  struct Dims {
    int64_t m, k, n;
  };
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (Dims d : {Dims{1, 1, 1}, Dims{3, 31, 33}, Dims{33, 3, 1}, Dims{130, 33, 31},
                   Dims{31, 130, 3}, Dims{7, 0, 5}}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          const uint64_t seed = test::fresh_seed();
          CAPTURE(d.m);
          CAPTURE(d.k);
          CAPTURE(d.n);
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(seed);
          const Tensor a =
              ta ? strided_random(d.k, d.m, dtype, seed) : strided_random(d.m, d.k, dtype, seed);
          const Tensor b = tb ? strided_random(d.n, d.k, dtype, seed + 1)
                              : strided_random(d.k, d.n, dtype, seed + 1);
          MatrixXd ea = to_eigen(a), eb = to_eigen(b);
          if (ta) ea.transposeInPlace();
          if (tb) eb.transposeInPlace();
          const MatrixXd prod = ea * eb;  // [M, N]
          const double scale = 1.0 + static_cast<double>(d.k) / 8;
          Tensor c = strided_nan(d.m, d.n, dtype);
          ops::gemm(ctx, a, ta, b, tb, c, 1.5, 0.0);
          CHECK(close(c, 1.5 * prod, dtype, scale));
          Tensor acc = strided_random(d.m, d.n, dtype, seed + 2);
          const MatrixXd c0 = to_eigen(acc);
          ops::gemm(ctx, a, ta, b, tb, acc, -1.0, 0.5);
          CHECK(close(acc, 0.5 * c0 - prod, dtype, scale));
          const Tensor fresh = ops::matmul(ctx, a, b, ta, tb);
          CHECK(close(fresh, prod, dtype, scale));
        }
      }
    }
  }
}

// Narrow float products (kernels/cpu/gemm_narrow.h) keep their definition bit for bit: each
// element one chain of fused multiply-adds over the inner dimension in order, in float, then
// alpha acc or beta c + alpha acc. Widths below, at and past a vector of 8, rows past a block.
TEST_CASE("reference: narrow float gemm is its fma chain bit for bit") {
  const Context ctx = Context::cpu();
  struct Dims {
    int64_t m, k, n;
  };
  for (Dims d : {Dims{37, 64, 7}, Dims{64, 301, 7}, Dims{301, 7, 64}, Dims{19, 5, 33},
                 Dims{5, 9, 16}, Dims{3, 16, 8}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (float beta : {0.0f, 0.5f}) {
          const uint64_t seed = test::fresh_seed();
          INFO("m ", d.m, ", k ", d.k, ", n ", d.n, ", ta ", ta, ", tb ", tb, ", beta ", beta,
               ", seed ", seed);
          const Tensor a = ta ? strided_random(d.k, d.m, DType::kF32, seed)
                              : strided_random(d.m, d.k, DType::kF32, seed);
          const Tensor b = tb ? strided_random(d.n, d.k, DType::kF32, seed + 1)
                              : strided_random(d.k, d.n, DType::kF32, seed + 1);
          const Tensor c0 = strided_random(d.m, d.n, DType::kF32, seed + 2);
          const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>(),
                                   vc = c0.to_vector<float>();
          const auto op_a = [&](int64_t i, int64_t p) {
            return ta ? va[p * d.m + i] : va[i * d.k + p];
          };
          const auto op_b = [&](int64_t p, int64_t j) {
            return tb ? vb[j * d.k + p] : vb[p * d.n + j];
          };
          Tensor c = beta == 0.0f ? strided_nan(d.m, d.n, DType::kF32) : c0.clone();
          ops::gemm(ctx, a, ta, b, tb, c, 1.5, beta);
          const std::vector<float> got = c.to_vector<float>();
          int64_t mismatches = 0;
          for (int64_t i = 0; i < d.m; ++i) {
            for (int64_t j = 0; j < d.n; ++j) {
              float acc = 0.0f;
              for (int64_t p = 0; p < d.k; ++p) acc = std::fma(op_a(i, p), op_b(p, j), acc);
              const float want = beta == 0.0f ? 1.5f * acc : beta * vc[i * d.n + j] + 1.5f * acc;
              mismatches += std::memcmp(&want, &got[i * d.n + j], sizeof(float)) != 0;
            }
          }
          CHECK(mismatches == 0);
        }
      }
    }
  }
}

TEST_CASE("reference: gemm_batched over row-, column-packed and shared operands") {
  const Context ctx = Context::cpu();
  using ops::Pack;
  const int64_t batch = 3, m = 33, k = 31, n = 5;
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (bool ta : {false, true}) {
      for (bool shared_a : {false, true}) {
        for (int64_t items : {batch, int64_t{40}}) {  // 40 small items take the per-item threads
          CAPTURE(ta);
          CAPTURE(shared_a);
          CAPTURE(items);
          const uint64_t seed = test::fresh_seed();
          CAPTURE(seed);
          // A: K students' features side by side (or one shared); B: weights stacked by rows;
          // C: outputs side by side, strided.
          const int64_t ar = ta ? k : m, ac = ta ? m : k;
          const Tensor a = shared_a ? strided_random(ar, ac, dtype, seed)
                                    : strided_random(ar, items * ac, dtype, seed);
          const Tensor b = strided_random(items * k, n, dtype, seed + 1);
          Tensor c = strided_random(m, items * n, dtype, seed + 2);
          const MatrixXd c0 = to_eigen(c);
          ops::gemm_batched(ctx, items, a, shared_a ? Pack::kShared : Pack::kCols, ta, b,
                            Pack::kRows, false, c, Pack::kCols, 2.0, 1.0);
          MatrixXd want = c0;
          const MatrixXd ea = to_eigen(a), eb = to_eigen(b);
          for (int64_t i = 0; i < items; ++i) {
            MatrixXd ai = shared_a ? ea : MatrixXd(ea.middleCols(i * ac, ac));
            if (ta) ai.transposeInPlace();
            want.middleCols(i * n, n) += 2.0 * ai * eb.middleRows(i * k, k);
          }
          CHECK(close(c, want, dtype, 5.0));
        }
      }
    }
  }
}

TEST_CASE("reference: bias_act and bias_act_backward for every activation, with and without bias") {
  const Context ctx = Context::cpu();
  const double slope = 0.2;
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (auto act : kActivations) {
      for (int64_t f : kWidths) {
        for (bool with_bias : {false, true}) {
          const uint64_t seed = test::fresh_seed();
          CAPTURE(static_cast<int>(act));
          CAPTURE(f);
          CAPTURE(with_bias);
          CAPTURE(seed);
          const int64_t n = 300;  // more than one block of column-sum rows
          // |x| >= 0.3 and |b| <= 0.1 keep x + b away from the kinks.
          const Tensor x =
              test::random_away_from_zero(n, f + 2, dtype, seed, 0.3, 2.0).slice_cols(1, 1 + f);
          const Tensor bias =
              with_bias ? test::random_tensor(1, f, dtype, seed + 1, -0.1, 0.1) : Tensor();
          MatrixXd z = to_eigen(x);
          if (with_bias) z += broadcast(to_eigen(bias), n, f);
          MatrixXd want_y = z, want_dz = z;
          const Tensor dy = strided_random(n, f, dtype, seed + 2);
          const MatrixXd edy = to_eigen(dy);
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < f; ++j) {
              want_y(i, j) = act_ref(act, z(i, j), slope);
              want_dz(i, j) = edy(i, j) * act_grad_ref(act, z(i, j), slope);
            }
          Tensor y = strided_nan(n, f, dtype);
          ops::bias_act(ctx, x, bias, act, slope, y);
          CHECK(close(y, want_y, dtype));

          // Overwrite (NaN-poisoned) and accumulate, with and without the bias gradient.
          Tensor dx = strided_nan(n, f, dtype);
          Tensor db = Tensor::full(1, f, NAN, dtype);
          ops::bias_act_backward(ctx, y, dy, act, slope, dx, &db, false);
          CHECK(close(dx, want_dz, dtype, 2.0));
          CHECK(close(db, want_dz.colwise().sum(), dtype, 50.0));
          Tensor dx_acc = strided_random(n, f, dtype, seed + 3);
          Tensor db_acc = test::random_tensor(1, f, dtype, seed + 4);
          const MatrixXd dx0 = to_eigen(dx_acc), db0 = to_eigen(db_acc);
          ops::bias_act_backward(ctx, y, dy, act, slope, dx_acc, &db_acc, true);
          CHECK(close(dx_acc, dx0 + want_dz, dtype, 2.0));
          CHECK(close(db_acc, db0 + want_dz.colwise().sum(), dtype, 50.0));
          Tensor no_dx;
          Tensor db_only = Tensor::full(1, f, NAN, dtype);
          ops::bias_act_backward(ctx, y, dy, act, slope, no_dx, &db_only);
          CHECK(bitwise_equal(db_only, db));
        }
      }
    }
  }
}

TEST_CASE("reference: bias_act runs in place, and bias_act_backward overwrites dy in place") {
  const Context ctx = Context::cpu();
  Tensor x = test::random_away_from_zero(9, 33, DType::kF64, 3);
  const Tensor bias = test::random_tensor(1, 33, DType::kF64, 4, -0.05, 0.05);
  const Tensor want = ops::bias_act(ctx, x, bias, kernels::Activation::kElu);
  ops::bias_act(ctx, x, bias, kernels::Activation::kElu, 0.0, x);
  CHECK(bitwise_equal(x, want));
  Tensor dy = test::random_tensor(9, 33, DType::kF64, 5);
  Tensor dx = Tensor::empty(9, 33, DType::kF64);
  ops::bias_act_backward(ctx, x, dy, kernels::Activation::kElu, 0.0, dx);
  ops::bias_act_backward(ctx, x, dy, kernels::Activation::kElu, 0.0, dy);
  CHECK(bitwise_equal(dy, dx));
}

TEST_CASE("reference: unary exp / log / scale with broadcast inputs, overwrite and accumulate") {
  const Context ctx = Context::cpu();
  const int64_t n = 19;
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t f : kWidths) {
      for (auto op : {ops::UnaryOp::kScale, ops::UnaryOp::kExp, ops::UnaryOp::kLog}) {
        for (const auto& xr_xc : {std::pair<int64_t, int64_t>{n, f}, {1, f}, {n, 1}, {1, 1}}) {
          const auto xr = xr_xc.first;
          const auto xc = xr_xc.second;
          const uint64_t seed = test::fresh_seed();
          CAPTURE(f);
          CAPTURE(static_cast<int>(op));
          CAPTURE(xr);
          CAPTURE(xc);
          CAPTURE(seed);
          const Tensor x = strided_random(xr, xc, dtype, seed, 0.1, 3.0);  // log needs x > 0
          MatrixXd fx = to_eigen(x);
          if (op == ops::UnaryOp::kExp) fx = fx.array().exp().matrix();
          if (op == ops::UnaryOp::kLog) fx = fx.array().log().matrix();
          const MatrixXd want = -1.25 * broadcast(fx, n, f);
          Tensor y = strided_nan(n, f, dtype);
          ops::unary(ctx, op, x, y, -1.25);
          CHECK(close(y, want, dtype, 4.0));
          Tensor acc = strided_random(n, f, dtype, seed + 1);
          const MatrixXd y0 = to_eigen(acc);
          ops::unary(ctx, op, x, acc, -1.25, true);
          CHECK(close(acc, y0 + want, dtype, 4.0));
        }
      }
    }
  }
  const Tensor x = test::random_tensor(4, 3, DType::kF64, 9);
  CHECK(close(ops::exp(ctx, x), to_eigen(x).array().exp().matrix(), DType::kF64));
  CHECK(close(ops::scale(ctx, x, 3.0), 3.0 * to_eigen(x), DType::kF64));
}

TEST_CASE("reference: binary add / mul / div with every broadcast pairing") {
  const Context ctx = Context::cpu();
  const int64_t n = 13;
  using Shape = std::pair<int64_t, int64_t>;
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t f : kWidths) {
      for (auto op : {ops::BinaryOp::kAdd, ops::BinaryOp::kMul, ops::BinaryOp::kDiv}) {
        for (const auto& sa_sb : {std::pair<Shape, Shape>{{n, f}, {n, f}},
                                  {{n, f}, {1, f}},
                                  {{n, 1}, {n, f}},
                                  {{1, f}, {n, 1}},
                                  {{1, 1}, {n, f}}}) {
          const auto sa = sa_sb.first;
          const auto sb = sa_sb.second;
          const uint64_t seed = test::fresh_seed();
          CAPTURE(f);
          CAPTURE(static_cast<int>(op));
          CAPTURE(sa.first);
          CAPTURE(sa.second);
          CAPTURE(sb.first);
          CAPTURE(sb.second);
          CAPTURE(seed);
          const Tensor a = strided_random(sa.first, sa.second, dtype, seed);
          const Tensor b =
              test::random_away_from_zero(sb.first, sb.second + 1, dtype, seed + 1, 0.2, 1.0)
                  .slice_cols(0, sb.second);
          const MatrixXd ea = broadcast(to_eigen(a), n, f), eb = broadcast(to_eigen(b), n, f);
          const MatrixXd want = op == ops::BinaryOp::kAdd   ? MatrixXd(ea + eb)
                                : op == ops::BinaryOp::kMul ? MatrixXd(ea.cwiseProduct(eb))
                                                            : MatrixXd(ea.cwiseQuotient(eb));
          Tensor y = strided_nan(n, f, dtype);
          ops::binary(ctx, op, a, b, y, 0.5);
          CHECK(close(y, 0.5 * want, dtype, 4.0));
          Tensor acc = strided_random(n, f, dtype, seed + 2);
          const MatrixXd y0 = to_eigen(acc);
          ops::binary(ctx, op, a, b, acc, 2.0, true);
          CHECK(close(acc, y0 + 2.0 * want, dtype, 4.0));
          const Tensor fresh = op == ops::BinaryOp::kAdd   ? ops::add(ctx, a, b)
                               : op == ops::BinaryOp::kMul ? ops::mul(ctx, a, b)
                                                           : ops::div(ctx, a, b);
          CHECK(close(fresh, want, dtype, 4.0));
        }
      }
    }
  }
}

TEST_CASE("reference: reduce_sum over all, rows and columns; same bits at any thread count") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{600}}) {
      for (int64_t f : kWidths) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(n);
        CAPTURE(f);
        CAPTURE(seed);
        const Tensor x = strided_random(n, f, dtype, seed);
        const MatrixXd ex = to_eigen(x);
        const double scale = 1.0 + static_cast<double>(n * f) / 64;
        Tensor all = Tensor::full(1, 1, NAN, dtype);
        Tensor rows = strided_nan(n, 1, dtype);
        Tensor cols = strided_nan(1, f, dtype);
        ops::reduce_sum(ctx, x, ops::SumAxis::kAll, all, 0.5);
        ops::reduce_sum(ctx, x, ops::SumAxis::kRows, rows, 0.5);
        ops::reduce_sum(ctx, x, ops::SumAxis::kCols, cols, 0.5);
        CHECK(close(all, MatrixXd::Constant(1, 1, 0.5 * ex.sum()), dtype, scale));
        CHECK(close(rows, 0.5 * ex.rowwise().sum(), dtype, scale));
        CHECK(close(cols, 0.5 * ex.colwise().sum(), dtype, scale));
        Tensor acc = Tensor::full(1, f, 1.0, dtype);
        ops::reduce_sum(ctx, x, ops::SumAxis::kCols, acc, -1.0, true);
        CHECK(close(acc, MatrixXd::Ones(1, f) - ex.colwise().sum(), dtype, scale));
        CHECK(close(ops::sum(ctx, x), MatrixXd::Constant(1, 1, ex.sum()), dtype, scale));
        CHECK(close(ops::row_sums(ctx, x), ex.rowwise().sum(), dtype, scale));
        CHECK(close(ops::col_sums(ctx, x), ex.colwise().sum(), dtype, scale));
      }
    }
  }
  // The definition's order bit for bit (the CPU twin sums eight rows at once): each row left to
  // right, the rows in order within blocks of kSumBlockRows, then the blocks; rows a multiple of
  // eight and not, widths with and without a tail of columns.
  for (const int64_t n : {int64_t{5}, int64_t{600}}) {
    for (const int64_t f : {int64_t{8}, int64_t{13}, int64_t{64}}) {
      CAPTURE(n);
      CAPTURE(f);
      // Floats over forty binades: sums of them round in double, so another order shows.
      std::vector<float> v =
          test::random_tensor(n, f, DType::kF32, test::fresh_seed()).to_vector<float>();
      for (size_t k = 0; k < v.size(); ++k)
        v[k] = std::ldexp(v[k], static_cast<int>(k * 7 % 41) - 20);
      const Tensor x = Tensor::from_vector<float>(n, f, v);
      double total = 0, block = 0;
      for (int64_t i = 0; i < n; ++i) {
        double row = 0;
        for (int64_t j = 0; j < f; ++j) row += v[i * f + j];
        block += row;
        if ((i + 1) % kernels::kSumBlockRows == 0 || i + 1 == n) {
          total += block;
          block = 0;
        }
      }
      CHECK(ops::sum(ctx, x.to_dtype(DType::kF64)).item<double>() == total);
      CHECK(ops::sum(ctx, x).item<float>() == static_cast<float>(total));
    }
  }
  // Big enough to run threaded; the bits must not depend on the thread count.
  const Tensor x = test::random_tensor(3001, 33, DType::kF32, test::fresh_seed());
  const Tensor dy = test::random_tensor(3001, 33, DType::kF32, test::fresh_seed());
  const int threads = omp_get_max_threads();
  std::vector<Tensor> results;
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    results.push_back(ops::sum(ctx, x));
    results.push_back(ops::col_sums(ctx, x));
    Tensor dx;
    Tensor db = Tensor::empty(1, 33, DType::kF32);
    ops::bias_act_backward(ctx, x, dy, kernels::Activation::kTanh, 0.0, dx, &db);
    results.push_back(db);
  }
  omp_set_num_threads(threads);
  for (size_t i = 3; i < results.size(); ++i) CHECK(bitwise_equal(results[i], results[i % 3]));
}

// head_dot_backward's definition bit for bit in float (the CPU twin has a vector path for heads of
// 8): dz = dz + T(g a) in float, da = da + the products T(g z) summed in double over blocks of
// kSumBlockRows rows, then the blocks in order. z spread over forty binades, so another order of
// the sums shows. got_dz / got_da: what accumulating into copies of dz0 / da0 gave.
void check_head_dot_backward_bits(Tensor z, const Tensor& a, int64_t heads, const Tensor& gs,
                                  const Tensor& dz0, const Tensor& da0) {
  const Context ctx = Context::cpu();
  const int64_t n = z.rows(), w = z.cols(), f = w / heads;
  std::vector<float> vz = z.to_vector<float>();
  for (size_t k = 0; k < vz.size(); ++k)
    vz[k] = std::ldexp(vz[k], static_cast<int>(k * 7 % 41) - 20);
  z = Tensor::from_vector<float>(n, w, vz);
  const std::vector<float> va = a.to_vector<float>(), vg = gs.to_vector<float>();
  Tensor dz = dz0.clone(), da = da0.clone();
  const std::vector<float> old_dz = dz.to_vector<float>(), old_da = da.to_vector<float>();
  ops::head_dot_backward(ctx, z, a, heads, gs, &dz, true, &da, true);
  const std::vector<float> got_dz = dz.to_vector<float>(), got_da = da.to_vector<float>();
  int64_t mismatches = 0;
  for (int64_t j = 0; j < w; ++j) {
    const int64_t h = j / f;
    double total = 0, block = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float g = vg[i * heads + h];
      const float want_dz = old_dz[i * w + j] + g * va[j];
      mismatches += std::memcmp(&want_dz, &got_dz[i * w + j], sizeof(float)) != 0;
      block += static_cast<float>(g * vz[i * w + j]);
      if ((i + 1) % kernels::kSumBlockRows == 0 || i + 1 == n) {
        total += block;
        block = 0;
      }
    }
    const float want_da = static_cast<float>(old_da[j] + total);
    mismatches += std::memcmp(&want_da, &got_da[j], sizeof(float)) != 0;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("reference: head_dot and head_dot_backward, strided, overwrite and accumulate") {
  const Context ctx = Context::cpu();
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {1, 33}, {3, 5}, {8, 8}, {16, 8}, {5, 3}};
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (const auto& shape : shapes) {
      // Named copies: doctest's CAPTURE is a lambda, which cannot capture structured bindings
      // (clang 14).
      const int64_t heads = shape.first, f = shape.second;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(heads);
      CAPTURE(f);
      CAPTURE(seed);
      const int64_t n = 300, w = heads * f;  // more than one block of column-sum rows
      const Tensor z = strided_random(n, w, dtype, seed);
      const Tensor a = test::random_tensor(1, w, dtype, seed + 1);
      const Tensor gs = strided_random(n, heads, dtype, seed + 2);
      const MatrixXd ez = to_eigen(z), ea = to_eigen(a), egs = to_eigen(gs);
      MatrixXd want_s(n, heads), want_dz(n, w), want_da = MatrixXd::Zero(1, w);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t h = 0; h < heads; ++h) {
          want_s(i, h) = ez.row(i).segment(h * f, f).dot(ea.row(0).segment(h * f, f));
          for (int64_t j = h * f; j < (h + 1) * f; ++j) {
            want_dz(i, j) = egs(i, h) * ea(0, j);
            want_da(0, j) += egs(i, h) * ez(i, j);
          }
        }
      }
      Tensor s = strided_nan(n, heads, dtype);
      ops::head_dot(ctx, z, a, heads, s);
      CHECK(close(s, want_s, dtype, static_cast<double>(f)));

      Tensor dz = strided_nan(n, w, dtype);
      Tensor da = Tensor::full(1, w, NAN, dtype);
      ops::head_dot_backward(ctx, z, a, heads, gs, &dz, false, &da, false);
      CHECK(close(dz, want_dz, dtype));
      CHECK(close(da, want_da, dtype, 50.0));
      Tensor dz_acc = strided_random(n, w, dtype, seed + 3);
      Tensor da_acc = test::random_tensor(1, w, dtype, seed + 4);
      const MatrixXd dz0 = to_eigen(dz_acc), da0 = to_eigen(da_acc);
      ops::head_dot_backward(ctx, z, a, heads, gs, &dz_acc, true, &da_acc, true);
      CHECK(close(dz_acc, dz0 + want_dz, dtype, 2.0));
      CHECK(close(da_acc, da0 + want_da, dtype, 50.0));
      // Either output alone gives the same bits as both together.
      Tensor dz_only = strided_nan(n, w, dtype), da_only = Tensor::full(1, w, NAN, dtype);
      ops::head_dot_backward(ctx, z, a, heads, gs, &dz_only, false, nullptr, false);
      ops::head_dot_backward(ctx, z, a, heads, gs, nullptr, false, &da_only, false);
      CHECK(bitwise_equal(dz_only, dz));
      CHECK(bitwise_equal(da_only, da));
      if (dtype == DType::kF32) check_head_dot_backward_bits(z, a, heads, gs, dz_acc, da_acc);
    }
  }
}

TEST_CASE("reference: dropout mask is Philox(seed, stream, i*cols + j) >= p, scaled by 1/(1-p)") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t f : kWidths) {
      for (double p : {0.0, 0.1, 0.5, 0.9}) {
        const uint64_t seed = test::fresh_seed(), stream = 7;
        CAPTURE(f);
        CAPTURE(p);
        CAPTURE(seed);
        const int64_t n = 21;
        const Tensor x = strided_random(n, f, dtype, seed);
        const MatrixXd ex = to_eigen(x);
        // The kernel holds p as a float (the twins compare floats), so its scale is 1 / (1 - pf).
        const float pf = static_cast<float>(p);
        const double scale = 1.0 / (1.0 - static_cast<double>(pf));
        MatrixXd keep(n, f);  // 1 = kept; the element index is the logical i * f + j, not ld
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < f; ++j)
            keep(i, j) = kernels::philox_uniform(seed, stream, i * f + j) >= pf ? 1.0 : 0.0;
        const MatrixXd want = keep.cwiseProduct(ex) * scale;
        Tensor y = strided_nan(n, f, dtype);
        ops::dropout(ctx, x, p, seed, stream, y);
        CHECK(close(y, want, dtype, 2.0));
        if (p == 0.0) CHECK(bitwise_equal(y, x));
        // The backward is the same call with accumulate: the same mask on the gradient.
        const Tensor dy = strided_random(n, f, dtype, seed + 1);
        Tensor dx = strided_random(n, f, dtype, seed + 2);
        const MatrixXd dx0 = to_eigen(dx), edy = to_eigen(dy);
        ops::dropout(ctx, dy, p, seed, stream, dx, true);
        CHECK(close(dx, dx0 + keep.cwiseProduct(edy) * scale, dtype, 2.0));
      }
    }
  }
}

TEST_CASE("reference: a dropout backward given the forward pass equals the regenerated mask") {
  // Forward inputs with zeros (both signs), NaN and infinities in some rows, so that some runs of
  // elements read their mask off the forward pass and others regenerate it.
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t f : kWidths) {
      for (bool strided : {false, true}) {
        for (double p : {0.1, 0.5, 0.9}) {
          const uint64_t seed = test::fresh_seed(), stream = 3;
          CAPTURE(f);
          CAPTURE(strided);
          CAPTURE(p);
          const int64_t n = 40;
          Tensor x =
              strided ? strided_random(n, f, dtype, seed) : test::random_tensor(n, f, dtype, seed);
          const double specials[] = {0.0, -0.0, NAN, INFINITY, -INFINITY};
          for (int64_t i = 3; i < n; i += 9) {
            const Tensor row = x.slice_rows(i, i + 1).slice_cols(f / 2, f / 2 + 1);  // a view
            Tensor cell = row;
            cell.fill(specials[(i / 9) % 5]);
          }
          const Tensor y = ops::dropout(ctx, x, p, seed, stream);
          const Tensor dy = strided_random(n, f, dtype, seed + 1);
          for (bool accumulate : {false, true}) {
            Tensor want = strided_random(n, f, dtype, seed + 2);
            Tensor got = want.clone();
            ops::dropout(ctx, dy, p, seed, stream, want, accumulate);
            const ops::DropoutForward forward{x, y};
            ops::dropout(ctx, dy, p, seed, stream, got, accumulate, &forward);
            CHECK(bitwise_equal(got, want));
          }
        }
      }
    }
  }
}

TEST_CASE("reference: dropout is reproducible per (seed, stream) and keeps about 1 - p") {
  const Context ctx = Context::cpu();
  const Tensor x = Tensor::full(200, 300, 1.0, DType::kF32);
  const double p = 0.3;
  const Tensor a = ops::dropout(ctx, x, p, 42, 0);
  CHECK(bitwise_equal(a, ops::dropout(ctx, x, p, 42, 0)));
  CHECK_FALSE(bitwise_equal(a, ops::dropout(ctx, x, p, 43, 0)));
  CHECK_FALSE(bitwise_equal(a, ops::dropout(ctx, x, p, 42, 1)));
  const MatrixXd ea = to_eigen(a);
  const double kept = static_cast<double>((ea.array() != 0.0).count()) / ea.size();
  CHECK(kept == doctest::Approx(1.0 - p).epsilon(0.02));  // 60000 draws: sd ≈ 0.002
  // Kept entries are x / (1 - p) exactly as a float product, so the mean stays ≈ 1.
  CHECK(ea.mean() == doctest::Approx(1.0).epsilon(0.03));
}

TEST_CASE(
    "reference: softmax_rows and softmax_rows_backward (softmax and log-softmax), large logits") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    for (int64_t c : kWidths) {
      for (bool log : {false, true}) {
        for (double range : {1.0, 500.0}) {  // exp(500) overflows f32: the max must be subtracted
          const uint64_t seed = test::fresh_seed();
          CAPTURE(c);
          CAPTURE(log);
          CAPTURE(range);
          CAPTURE(seed);
          const int64_t n = 11;
          const Tensor x = strided_random(n, c, dtype, seed, -range, range);
          const MatrixXd ex = to_eigen(x);
          const Tensor dy = strided_random(n, c, dtype, seed + 1);
          const MatrixXd edy = to_eigen(dy);
          MatrixXd want_y(n, c), want_dx(n, c);
          for (int64_t i = 0; i < n; ++i) {
            const Eigen::RowVectorXd e = (ex.row(i).array() - ex.row(i).maxCoeff()).exp().matrix();
            const Eigen::RowVectorXd s = e / e.sum();  // softmax of row i
            // Jacobian J(j, k) = ∂y_j / ∂x_k; dx = Jᵀ dy.
            MatrixXd jac(c, c);
            for (int64_t j = 0; j < c; ++j)
              for (int64_t k = 0; k < c; ++k)
                jac(j, k) = log ? (j == k) - s(k) : s(j) * ((j == k) - s(k));
            const double lse = ex.row(i).maxCoeff() + std::log(e.sum());
            want_y.row(i) = log ? Eigen::RowVectorXd(ex.row(i).array() - lse) : s;
            want_dx.row(i) = (jac.transpose() * edy.row(i).transpose()).transpose();
          }
          Tensor y = strided_nan(n, c, dtype);
          ops::softmax_rows(ctx, x, y, log);
          // log-softmax values grow with the range; their f32 error is relative to |x|.
          CHECK(close(y, want_y, dtype, log ? 4.0 * range : 4.0));
          Tensor dx = strided_nan(n, c, dtype);
          ops::softmax_rows_backward(ctx, y, dy, dx, log);
          CHECK(close(dx, want_dx, dtype, 8.0 * c));
          Tensor acc = strided_random(n, c, dtype, seed + 2);
          const MatrixXd acc0 = to_eigen(acc);
          ops::softmax_rows_backward(ctx, y, dy, acc, log, true);
          CHECK(close(acc, acc0 + want_dx, dtype, 8.0 * c));
          const Tensor fresh = log ? ops::log_softmax_rows(ctx, x) : ops::softmax_rows(ctx, x);
          CHECK(bitwise_equal(fresh, y));
        }
      }
    }
  }
}

TEST_CASE("reference: dense ops reject bad input with clear messages") {
  const Context ctx = Context::cpu();
  const DType f32 = DType::kF32;
  const Tensor a = Tensor::zeros(5, 3, f32), b = Tensor::zeros(4, 2, f32);
  Tensor c = Tensor::zeros(5, 2, f32);
  CHECK_THROWS_WITH_AS(ops::gemm(ctx, a, false, b, false, c),
                       "[gemm] op(a) is [5, 3] but op(b) is [4, 2] (inner dimensions differ)",
                       Error);
  const Tensor b32 = Tensor::zeros(3, 2, f32);
  Tensor c_bad = Tensor::zeros(5, 3, f32);
  CHECK_THROWS_WITH_AS(ops::gemm(ctx, a, false, b32, false, c_bad),
                       "[gemm] c is [5, 3] (expected [5, 2])", Error);
  CHECK_THROWS_WITH_AS(ops::gemm(ctx, a, false, Tensor::zeros(3, 2, DType::kF64), false, c),
                       "[gemm] b is f64 (expected f32)", Error);
  CHECK_THROWS_WITH_AS(
      ops::matmul(ctx, Tensor::zeros(2, 2, DType::kI32), Tensor::zeros(2, 2, DType::kI32)),
      "[gemm] dtype i32 (expected f32 or f64)", Error);
  Tensor square = Tensor::zeros(4, 4, f32);
  Tensor alias = square.slice_cols(1, 3);
  CHECK_THROWS_WITH_AS(ops::gemm(ctx, square, false, Tensor::zeros(4, 2, f32), false, alias),
                       "[gemm] c overlaps a in memory (the output must be a separate tensor)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::matmul(ctx, a, b32, true), doctest::Contains("inner dimensions"),
                       Error);

  CHECK_THROWS_WITH_AS(ops::head_dot(ctx, a, Tensor::zeros(1, 3, f32), 2),
                       "[head_dot] z has 3 columns, not a multiple of heads = 2", Error);
  CHECK_THROWS_WITH_AS(ops::head_dot(ctx, a, Tensor::zeros(3, 1, f32), 3),
                       "[head_dot] a is [3, 1] (expected [1, 3])", Error);
  Tensor da_bad = Tensor::zeros(1, 2, f32);
  CHECK_THROWS_WITH_AS(
      ops::head_dot_backward(ctx, a, Tensor::zeros(1, 3, f32), 3, Tensor::zeros(5, 3, f32), nullptr,
                             false, &da_bad, false),
      "[head_dot_backward] da is [1, 2] (expected [1, 3])", Error);

  using ops::Pack;
  Tensor cb = Tensor::zeros(5, 6, f32);
  CHECK_THROWS_WITH_AS(ops::gemm_batched(ctx, 3, a, Pack::kShared, false, Tensor::zeros(7, 2, f32),
                                         Pack::kRows, false, cb, Pack::kCols),
                       "[gemm_batched] b has 7 rows, not a multiple of the batch of 3 (packed by "
                       "rows)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::gemm_batched(ctx, 3, a, Pack::kShared, false, Tensor::zeros(9, 2, f32),
                                         Pack::kRows, false, c, Pack::kShared),
                       "[gemm_batched] c cannot be shared across a batch of 3 (the items would "
                       "race)",
                       Error);
  CHECK_THROWS_WITH_AS(
      ops::gemm_batched(ctx, 0, a, Pack::kShared, false, b32, Pack::kShared, false, c, Pack::kCols),
      "[gemm_batched] batch is 0 (expected >= 1)", Error);

  const Tensor x = Tensor::zeros(4, 5, f32);
  CHECK_THROWS_WITH_AS(ops::bias_act(ctx, x, Tensor::zeros(1, 3, f32), kernels::Activation::kRelu),
                       "[bias_act] bias is [1, 3] (expected [1, 5])", Error);
  CHECK_THROWS_WITH_AS(
      ops::bias_act(ctx, x, Tensor::zeros(1, 5, DType::kF64), kernels::Activation::kRelu),
      "[bias_act] bias is f64 (expected f32)", Error);
  CHECK_THROWS_WITH_AS(ops::bias_act(ctx, x, Tensor(), kernels::Activation::kLeakyRelu, -0.5),
                       "[bias_act] leaky_relu slope is -0.5 (expected >= 0)", Error);
  Tensor dx = Tensor::zeros(4, 4, f32);
  CHECK_THROWS_WITH_AS(ops::bias_act_backward(ctx, x, x, kernels::Activation::kTanh, 0, dx),
                       "[bias_act_backward] dx is [4, 4] (expected [4, 5])", Error);

  CHECK_THROWS_WITH_AS(ops::add(ctx, x, Tensor::zeros(3, 5, f32)),
                       "[add] a is [4, 5] and b is [3, 5]: the shapes do not broadcast", Error);
  Tensor y = Tensor::zeros(4, 5, f32);
  CHECK_THROWS_WITH_AS(ops::binary(ctx, ops::BinaryOp::kMul, x, Tensor::zeros(4, 2, f32), y),
                       "[binary] b is [4, 2] (expected [4, 5], or 1 in place of either dimension "
                       "to broadcast)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::mul(ctx, x, Tensor::zeros(4, 5, DType::kF64)),
                       "[binary] b is f64 (expected f32)", Error);
  Tensor small = Tensor::zeros(1, 5, f32);
  CHECK_THROWS_WITH_AS(ops::unary(ctx, ops::UnaryOp::kExp, x, small),
                       doctest::Contains("[unary] x is [4, 5] (expected [1, 5]"), Error);
  CHECK_THROWS_WITH_AS(ops::reduce_sum(ctx, x, ops::SumAxis::kRows, small),
                       "[reduce_sum] y is [1, 5] (expected [4, 1])", Error);

  CHECK_THROWS_WITH_AS(ops::dropout(ctx, x, 1.0, 0, 0), "[dropout] p is 1 (expected 0 <= p < 1)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::dropout(ctx, x, -0.1, 0, 0),
                       "[dropout] p is -0.1 (expected 0 <= p < 1)", Error);
  CHECK_THROWS_WITH_AS(ops::dropout(ctx, x, NAN, 0, 0), doctest::Contains("(expected 0 <= p < 1)"),
                       Error);
  CHECK_THROWS_WITH_AS(ops::dropout(ctx, x, 1.0 - 1e-12, 0, 0),
                       doctest::Contains("(expected 0 <= p < 1)"), Error);
  CHECK_THROWS_WITH_AS(ops::dropout(ctx, x, 0.5, 0, 0, dx),
                       "[dropout] y is [4, 4] (expected [4, 5])", Error);

  CHECK_THROWS_WITH_AS(ops::softmax_rows(ctx, x, dx, true),
                       "[log_softmax_rows] y is [4, 4] (expected [4, 5])", Error);
  Tensor g64 = Tensor::zeros(4, 5, DType::kF64);
  CHECK_THROWS_WITH_AS(ops::softmax_rows_backward(ctx, x, x, g64),
                       "[softmax_rows_backward] dx is f64 (expected f32)", Error);
}
