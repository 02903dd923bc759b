// exp_vec and expm1_vec against long-double references: errors in ulps of the result type.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <type_traits>

#include "kernels/cpu/simd_math.h"

namespace cpu = gkd::kernels::cpu;

namespace {

// |got - want| in units of the spacing of doubles at want.
double ulps(double got, long double want) {
  const double w = static_cast<double>(want);
  const double spacing =
      std::nextafter(std::abs(w), std::numeric_limits<double>::infinity()) - std::abs(w);
  return static_cast<double>(std::abs(static_cast<long double>(got) - want) / spacing);
}

// The largest error over random x in [lo, hi]. T = float: x and the result are floats, and the
// error is in float ulps against the float nearest the reference.
template <class T, class Fn, class Ref>
double max_ulps(double lo, double hi, Fn fn, Ref ref) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(lo, hi);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const T x = static_cast<T>(u(rng));
    const long double want = ref(static_cast<long double>(x));
    if constexpr (std::is_same_v<T, double>) {
      worst = std::max(worst, ulps(fn(x), want));
    } else {
      const float got = static_cast<float>(fn(x)), w = static_cast<float>(want);
      const float spacing = std::nextafter(std::abs(w), INFINITY) - std::abs(w);
      worst = std::max(worst, double(std::abs(got - w) / spacing));
    }
  }
  return worst;
}

const auto exp_vec = [](double x) { return cpu::exp_vec(x); };
const auto expm1_vec = [](double x) { return cpu::expm1_vec(x); };
const auto exp_vec_f = [](float x) { return cpu::exp_vec(x); };
const auto expm1_vec_f = [](float x) { return cpu::expm1_vec(x); };

}  // namespace

TEST_CASE("simd math: exp_vec is within 2 ulp on the normal range") {
  const auto ref = [](long double x) { return std::exp(x); };
  CHECK(max_ulps<double>(-1, 1, exp_vec, ref) <= 2);
  CHECK(max_ulps<double>(-700, 700, exp_vec, ref) <= 2);
  CHECK(max_ulps<double>(-1e-6, 1e-6, exp_vec, ref) <= 2);
  CHECK(exp_vec(0) == 1.0);
  CHECK(exp_vec(709.78) == doctest::Approx(std::exp(709.78)).epsilon(1e-15));
  CHECK(std::isinf(exp_vec(710)));
  CHECK(exp_vec(-800) == 0.0);
  CHECK(exp_vec(-std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(std::isnan(exp_vec(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("simd math: expm1_vec is within 4 ulp, with relative precision near 0") {
  const auto ref = [](long double x) { return std::expm1(x); };
  CHECK(max_ulps<double>(-1e-9, 1e-9, expm1_vec, ref) <= 4);
  CHECK(max_ulps<double>(-0.6, 0.6, expm1_vec, ref) <= 4);
  CHECK(max_ulps<double>(-40, 40, expm1_vec, ref) <= 4);
  CHECK(expm1_vec(0) == 0.0);
  CHECK(expm1_vec(-1e-300) == -1e-300);
  CHECK(expm1_vec(-800) == -1.0);
  CHECK(std::isnan(expm1_vec(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE(
    "simd math: the float overloads, in float arithmetic, are within 1 ulp (exp), 2 (expm1)") {
  const auto exp_ref = [](long double x) { return std::exp(x); };
  const auto expm1_ref = [](long double x) { return std::expm1(x); };
  CHECK(max_ulps<float>(-86.8, 88.7, exp_vec_f, exp_ref) <= 1);
  CHECK(max_ulps<float>(-1e-6, 1e-6, exp_vec_f, exp_ref) <= 1);
  CHECK(exp_vec_f(0) == 1.0f);
  CHECK(exp_vec_f(-86.8f) > 0.0f);  // still normal, not flushed
  CHECK(exp_vec_f(-87.0f) == 0.0f);
  CHECK(std::isinf(exp_vec_f(88.8f)));
  CHECK(exp_vec_f(-INFINITY) == 0.0f);
  CHECK(std::isnan(exp_vec_f(NAN)));
  CHECK(max_ulps<float>(-1e-6, 1e-6, expm1_vec_f, expm1_ref) <= 1);
  CHECK(max_ulps<float>(-0.6, 0.6, expm1_vec_f, expm1_ref) <= 2);
  CHECK(max_ulps<float>(-20, 20, expm1_vec_f, expm1_ref) <= 2);
  CHECK(expm1_vec_f(0) == 0.0f);
  CHECK(expm1_vec_f(-1e-30f) == -1e-30f);
  CHECK(expm1_vec_f(-100) == -1.0f);
  CHECK(std::isnan(expm1_vec_f(NAN)));
}
