// exp_vec and expm1_vec against long-double references: the error in ulps of the double result.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu/simd_math.h"

using gkd::kernels::cpu::exp_vec;
using gkd::kernels::cpu::expm1_vec;

namespace {

// |got - want| in units of the spacing of doubles at want.
double ulps(double got, long double want) {
  const double w = static_cast<double>(want);
  const double spacing =
      std::nextafter(std::abs(w), std::numeric_limits<double>::infinity()) - std::abs(w);
  return static_cast<double>(std::abs(static_cast<long double>(got) - want) / spacing);
}

template <class Fn, class Ref>
double max_ulps(double lo, double hi, Fn fn, Ref ref) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(lo, hi);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = u(rng);
    worst = std::max(worst, ulps(fn(x), ref(static_cast<long double>(x))));
  }
  return worst;
}

}  // namespace

TEST_CASE("simd math: exp_vec is within 2 ulp on the normal range") {
  const auto ref = [](long double x) { return std::exp(x); };
  CHECK(max_ulps(-1, 1, exp_vec, ref) <= 2);
  CHECK(max_ulps(-700, 700, exp_vec, ref) <= 2);
  CHECK(max_ulps(-1e-6, 1e-6, exp_vec, ref) <= 2);
  CHECK(exp_vec(0) == 1.0);
  CHECK(exp_vec(709.78) == doctest::Approx(std::exp(709.78)).epsilon(1e-15));
  CHECK(std::isinf(exp_vec(710)));
  CHECK(exp_vec(-800) == 0.0);
  CHECK(exp_vec(-std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(std::isnan(exp_vec(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("simd math: expm1_vec is within 4 ulp, with relative precision near 0") {
  const auto ref = [](long double x) { return std::expm1(x); };
  CHECK(max_ulps(-1e-9, 1e-9, expm1_vec, ref) <= 4);
  CHECK(max_ulps(-0.6, 0.6, expm1_vec, ref) <= 4);
  CHECK(max_ulps(-40, 40, expm1_vec, ref) <= 4);
  CHECK(expm1_vec(0) == 0.0);
  CHECK(expm1_vec(-1e-300) == -1e-300);
  CHECK(expm1_vec(-800) == -1.0);
  CHECK(std::isnan(expm1_vec(std::numeric_limits<double>::quiet_NaN())));
}
