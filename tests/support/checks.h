// Assertion helpers shared by the reference and gradcheck suites (doctest).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "tests/support/fixtures.h"

namespace gkd::test {

// Runs op(out, accumulate) in both write modes: accumulating into a strided view (ld > cols) that
// holds random values, and overwriting a NaN-filled tensor (an unwritten element fails). Both must
// match `want` (the op's result alone) to 1e-12 in f64 and 1e-5 in f32.
template <class Op>
void check_write_modes(const Op& op, const Eigen::MatrixXd& want, DType dtype, uint64_t seed,
                       bool with_accumulate = true) {
  const double tol = dtype == DType::kF64 ? 1e-12 : 1e-5;
  if (with_accumulate) {
    Tensor storage = random_tensor(want.rows(), want.cols() + 2, dtype, seed);
    Tensor acc = storage.slice_cols(1, 1 + want.cols());
    const Eigen::MatrixXd before = to_eigen(acc);
    op(acc, true);
    CHECK(close_ratio(to_eigen(acc), before + want, tol, tol) <= 1.0);
  }
  Tensor fresh = Tensor::full(want.rows(), want.cols(), NAN, dtype);
  op(fresh, false);
  CHECK(close_ratio(to_eigen(fresh), want, tol, tol) <= 1.0);
}

// A gradcheck must pass; its report (failing coordinates) is printed when it does not.
inline void require_gradcheck(const autograd::GradcheckResult& r) {
  INFO(r.report);
  CHECK(r.ok);
}

// Runs fn and returns the message of the gkd::Error it throws ("" when it does not throw).
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace gkd::test
