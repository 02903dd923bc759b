// Helpers the distillation tests share: a scalar Var's value, and the feature distances of
// Alignahead++ computed from their definitions in double.
#pragma once

#include <Eigen/Dense>

#include "autograd/tape.h"
#include "distill/online.h"
#include "tests/support/checks.h"

namespace gkd::test {

inline double value(autograd::Var v) {
  return v.value().to(Device::kCPU).item<float>();
}

// Rows over sqrt(‖row‖² + 1e-12), so that a zero row stays zero (distill/cohort_step.cpp).
inline Eigen::MatrixXd unit_rows(const Eigen::MatrixXd& a) {
  const Eigen::VectorXd norms = (a.rowwise().squaredNorm().array() + 1e-12).sqrt();
  return norms.cwiseInverse().asDiagonal() * a;
}

// mse: mean squared difference; normalised mse: the same between unit rows; cosine: mean over
// rows of 1 − cos.
inline double feature_distance(autograd::Var a, autograd::Var b, distill::FeatureDistance d) {
  const Eigen::MatrixXd ea = to_eigen(a.value()), eb = to_eigen(b.value());
  if (d == distill::FeatureDistance::kMse) return (ea - eb).squaredNorm() / double(ea.size());
  const Eigen::MatrixXd na = unit_rows(ea), nb = unit_rows(eb);
  return d == distill::FeatureDistance::kCosine ? 1.0 - na.cwiseProduct(nb).rowwise().sum().mean()
                                                : (na - nb).squaredNorm() / double(na.size());
}

}  // namespace gkd::test
