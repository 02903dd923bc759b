#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "engine/error.h"
#include "kernels/philox.h"

namespace gkd::autograd {
namespace {

// Evaluates <R, f(inputs)> in double on a fresh tape.
double project(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& r) {
  Tape tape(Context::cpu());
  std::vector<Var> leaves;
  for (const Tensor& x : inputs) leaves.push_back(tape.leaf(x));
  const Tensor y = f(tape, leaves).value();
  GKD_CHECK(y.same_shape(r), "[gradcheck] f returned ", y.describe(), " on one call and [",
            r.rows(), ", ", r.cols(), "] on another");
  const auto yv = y.to_vector<double>(), rv = r.to_vector<double>();
  return std::inner_product(yv.begin(), yv.end(), rv.begin(), 0.0);
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    GKD_CHECK(inputs[i].dtype() == DType::kF64 && inputs[i].device() == Device::kCPU,
              "[gradcheck] input ", i, " is ", inputs[i].describe(), " (expected f64 cpu)");
  }
  // Analytic gradients from one backward pass with seed R.
  Tape tape(Context::cpu());
  std::vector<Var> leaves;
  for (const Tensor& x : inputs) leaves.push_back(tape.leaf(x.clone()));
  const Var out = f(tape, leaves);
  const Tensor& y = out.value();
  std::vector<double> rv(static_cast<size_t>(y.numel()));
  for (size_t k = 0; k < rv.size(); ++k) {
    rv[k] = 2.0 * kernels::philox_uniform(options.seed, 1, k) - 1.0;
  }
  const Tensor r = Tensor::from_vector<double>(y.rows(), y.cols(), rv);
  tape.backward(out, r);

  GradcheckResult result;
  std::ostringstream report;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& analytic_t = leaves[i].grad();
    const int64_t n = inputs[i].numel();
    const std::vector<double> analytic =
        analytic_t.defined() ? analytic_t.to_vector<double>() : std::vector<double>(n, 0.0);
    // Probe every coordinate, or a seeded random subset of max_coords_per_input of them.
    std::vector<int64_t> coords(static_cast<size_t>(n));
    std::iota(coords.begin(), coords.end(), 0);
    if (n > options.max_coords_per_input) {
      for (int64_t k = 0; k < options.max_coords_per_input; ++k) {
        const int64_t pick = k + kernels::philox_bits(options.seed, 2 + i, k) % (n - k);
        std::swap(coords[k], coords[pick]);
      }
      coords.resize(options.max_coords_per_input);
    }
    for (int64_t c : coords) {
      std::vector<Tensor> shifted = inputs;
      Tensor& xi = shifted[i];
      xi = inputs[i].clone();
      const int64_t row = c / xi.cols(), col = c % xi.cols();
      double* ptr = xi.data<double>() + row * xi.ld() + col;
      const double x0 = *ptr, h = options.eps * std::max(1.0, std::abs(x0));
      *ptr = x0 + h;
      const double plus = project(f, shifted, r);
      *ptr = x0 - h;
      const double minus = project(f, shifted, r);
      const double numeric = (plus - minus) / (2 * h), a = analytic[c];
      const double err = std::abs(a - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (err > options.atol + options.rtol * std::max(std::abs(a), std::abs(numeric))) {
        result.ok = false;
        report << "input " << i << " [" << row << ", " << col << "]: analytic " << a << ", numeric "
               << numeric << "\n";
      }
    }
  }
  result.report = report.str();
  return result;
}

}  // namespace gkd::autograd
