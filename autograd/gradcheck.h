// Finite-difference gradient check, public so that anyone adding a differentiable function can
// prove its backward. Runs in double on the CPU:
//   L(x) = <R, f(x)> with a fixed random projection R (a plain sum would hide transposition and
//   permutation mistakes), analytic dL/dx from one backward pass, numeric dL/dx from central
//   differences with step eps * max(1, |x|), compared with |a - n| <= atol + rtol * max(|a|, |n|).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace gkd::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double rtol = 1e-5;
  double atol = 1e-8;
  int max_coords_per_input = 64;  // coordinates probed per input (all of them when fewer)
  uint64_t seed = 0;              // chooses R and the probed coordinates
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string report;  // one line per failing coordinate (empty when ok)
};

// f builds the function on a fresh CPU tape from leaves holding `inputs` (f64) and returns its
// output. Every input is checked.
using GradcheckFn = std::function<Var(Tape& tape, const std::vector<Var>& inputs)>;
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace gkd::autograd
