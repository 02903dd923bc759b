// Helpers the distillation tests share: a scalar Var's value, and the feature distances of
// Alignahead++ computed from their definitions in double.
#pragma once

#include <Eigen/Dense>

#include <vector>

#include "autograd/functions_graph.h"
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

// An online method's test case: Alignahead's shift and Alignahead++'s feature distance.
struct OnlineCase {
  distill::OnlineMethod method;
  int64_t shift;
  distill::FeatureDistance distance;
};

// Σ_t KL(P(peer^(t')) ‖ P(target^(t))) over the target's hidden layers, t' = t + shift mod L
// (oc: t), plus, for alignahead++, feature_weight × the feature distance of the same layers.
inline double aligned_terms(const Graph& g, const std::vector<autograd::Var>& target,
                            const std::vector<autograd::Var>& peer, const OnlineCase& k,
                            double feature_weight) {
  const auto layers = static_cast<int64_t>(target.size());
  const int64_t shift = k.method == distill::OnlineMethod::kOc ? 0 : k.shift;
  double sum = 0;
  for (int64_t t = 0; t < layers; ++t) {
    const int64_t s = ((t + shift) % layers + layers) % layers;
    sum += value(autograd::structure_kl(g, target[t], peer[s]));
    if (k.method == distill::OnlineMethod::kAlignaheadPlus) {
      sum += feature_weight * feature_distance(target[t], peer[s], k.distance);
    }
  }
  return sum;
}

}  // namespace gkd::test
