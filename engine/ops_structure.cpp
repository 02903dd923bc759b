#include "engine/ops_structure.h"

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

void check_pairs(const Context& ctx, const char* op, const Graph& g, const StructurePairs& pairs,
                 const kernels::StructureKernelParams& k) {
  GKD_CHECK(!pairs.empty(), "[", op, "] no feature pairs given");
  const DType dtype = pairs.front().first.dtype();
  for (size_t q = 0; q < pairs.size(); ++q) {
    for (const Tensor* t : {&pairs[q].first, &pairs[q].second}) {
      const char* side = t == &pairs[q].first ? "student" : "reference";
      check_on(ctx, op, side, *t);
      GKD_CHECK(t->rows() == g.num_nodes() && t->cols() >= 1, "[", op, "] pair ", q, ": ", side,
                " features are [", t->rows(), ", ", t->cols(), "] (expected [", g.num_nodes(),
                ", D >= 1], the graph's nodes)");
      check_dtype(op, side, *t, dtype);
    }
  }
  GKD_CHECK(k.tau > 0, "[", op, "] tau is ", k.tau, " (expected > 0)");
  GKD_CHECK(k.sigma > 0, "[", op, "] sigma is ", k.sigma, " (expected > 0)");
}

template <class T>
std::vector<kernels::StructurePair<T>> views(const StructurePairs& pairs) {
  std::vector<kernels::StructurePair<T>> out;
  for (const auto& pair : pairs) {
    out.push_back({pair.first.template cview<T>(), pair.second.template cview<T>()});
  }
  return out;
}

}  // namespace

StructureKlOutput structure_kl(const Context& ctx, const Graph& g, const StructurePairs& pairs,
                               const kernels::StructureKernelParams& kernel) {
  const char* op = "structure_kl";
  check_pairs(ctx, op, g, pairs, kernel);
  const auto q = static_cast<int64_t>(pairs.size());
  const DType dtype = pairs.front().first.dtype();
  StructureKlOutput out{Tensor::empty(q, g.num_nodes(), dtype, ctx.device()),
                        Tensor::empty(q, g.num_edges(), dtype, ctx.device()),
                        Tensor::empty(q, g.num_edges(), dtype, ctx.device())};
  dispatch_float(ctx, op, dtype, [&](auto tag) {
    using T = decltype(tag);
    const std::vector<kernels::StructurePair<T>> p = views<T>(pairs);
    kernels::StructureKlArgs<T> a{.in = g.in_csr(),
                                  .pairs = p.data(),
                                  .num_pairs = q,
                                  .kernel = kernel,
                                  .kl = out.kl.view<T>(),
                                  .coef_s = out.coef_s.view<T>(),
                                  .coef_t = out.coef_t.view<T>()};
    launch(ctx, a, kernels::cpu::structure_kl<T>, kernels::cuda::structure_kl);
  });
  return out;
}

void structure_kl_backward(const Context& ctx, const Graph& g, const StructurePairs& pairs,
                           const kernels::StructureKernelParams& kernel, const Tensor& dkl,
                           const StructureKlOutput& fwd, const std::vector<Tensor*>& dhs,
                           const std::vector<Tensor*>& dht) {
  const char* op = "structure_kl_backward";
  check_pairs(ctx, op, g, pairs, kernel);
  const auto q = static_cast<int64_t>(pairs.size());
  const DType dtype = pairs.front().first.dtype();
  check_tensor(ctx, op, "dkl", dkl, q, g.num_nodes(), dtype);
  check_tensor(ctx, op, "coef_s", fwd.coef_s, q, g.num_edges(), dtype);
  check_tensor(ctx, op, "coef_t", fwd.coef_t, q, g.num_edges(), dtype);
  GKD_CHECK(dhs.empty() || dhs.size() == pairs.size(), "[", op, "] ", dhs.size(),
            " student gradients for ", pairs.size(), " pairs");
  GKD_CHECK(dht.empty() || dht.size() == pairs.size(), "[", op, "] ", dht.size(),
            " reference gradients for ", pairs.size(), " pairs");
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i < dhs.size() && dhs[i] && dhs[i]->defined()) {
      check_tensor(ctx, op, "dhs", *dhs[i], g.num_nodes(), pairs[i].first.cols(), dtype);
    }
    if (i < dht.size() && dht[i] && dht[i]->defined()) {
      check_tensor(ctx, op, "dht", *dht[i], g.num_nodes(), pairs[i].second.cols(), dtype);
    }
  }
  dispatch_float(ctx, op, dtype, [&](auto tag) {
    using T = decltype(tag);
    const std::vector<kernels::StructurePair<T>> p = views<T>(pairs);
    const auto out_views = [&](const std::vector<Tensor*>& grads) {
      std::vector<kernels::MatView<T>> v(pairs.size());
      for (size_t i = 0; i < grads.size(); ++i) {
        if (grads[i] && grads[i]->defined()) v[i] = grads[i]->view<T>();
      }
      return v;
    };
    const std::vector<kernels::MatView<T>> vs = out_views(dhs), vt = out_views(dht);
    kernels::StructureKlBackwardArgs<T> a{.in = g.in_csr(),
                                          .out = g.out_csr(),
                                          .pairs = p.data(),
                                          .num_pairs = q,
                                          .kernel = kernel,
                                          .dkl = dkl.cview<T>(),
                                          .coef_s = fwd.coef_s.cview<T>(),
                                          .coef_t = fwd.coef_t.cview<T>(),
                                          .dhs = dhs.empty() ? nullptr : vs.data(),
                                          .dht = dht.empty() ? nullptr : vt.data()};
    launch(ctx, a, kernels::cpu::structure_kl_backward<T>, kernels::cuda::structure_kl_backward);
  });
}

CohortKlOutput cohort_kl(const Context& ctx, const std::vector<Tensor>& logits,
                         double temperature) {
  const char* op = "cohort_kl";
  GKD_CHECK(!logits.empty(), "[", op, "] no students");
  GKD_CHECK(temperature > 0, "[", op, "] temperature is ", temperature, " (expected > 0)");
  const Tensor& first = logits.front();
  for (size_t k = 0; k < logits.size(); ++k) {
    check_tensor(ctx, op, "logits", logits[k], first.rows(), first.cols(), first.dtype());
  }
  const auto k_count = static_cast<int64_t>(logits.size());
  const int64_t n = first.rows(), c = first.cols();
  CohortKlOutput out{Tensor::empty(k_count, n, first.dtype(), ctx.device()),
                     Tensor::empty(k_count * n, c, first.dtype(), ctx.device())};
  dispatch_float(ctx, op, first.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::ConstMatView<T>> views;
    for (const Tensor& z : logits) views.push_back(z.template cview<T>());
    kernels::CohortKlArgs<T> a{.logits = views.data(),
                               .students = k_count,
                               .temperature = temperature,
                               .kl = out.kl.view<T>(),
                               .probs = out.probs.view<T>()};
    launch(ctx, a, kernels::cpu::cohort_kl<T>, kernels::cuda::cohort_kl);
  });
  return out;
}

void cohort_kl_backward(const Context& ctx, const CohortKlOutput& fwd, double temperature,
                        const Tensor& dkl, const std::vector<Tensor*>& dlogits) {
  const char* op = "cohort_kl_backward";
  const int64_t k_count = fwd.kl.rows(), n = fwd.kl.cols(), c = fwd.probs.cols();
  check_tensor(ctx, op, "dkl", dkl, k_count, n, fwd.kl.dtype());
  GKD_CHECK(static_cast<int64_t>(dlogits.size()) == k_count, "[", op, "] ", dlogits.size(),
            " gradients for ", k_count, " students");
  for (const Tensor* d : dlogits) {
    if (d && d->defined()) check_tensor(ctx, op, "dlogits", *d, n, c, fwd.kl.dtype());
  }
  dispatch_float(ctx, op, fwd.kl.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::MatView<T>> views(dlogits.size());
    for (size_t k = 0; k < dlogits.size(); ++k) {
      if (dlogits[k] && dlogits[k]->defined()) views[k] = dlogits[k]->template view<T>();
    }
    kernels::CohortKlBackwardArgs<T> a{.probs = fwd.probs.cview<T>(),
                                       .students = k_count,
                                       .temperature = temperature,
                                       .dkl = dkl.cview<T>(),
                                       .dlogits = views.data()};
    launch(ctx, a, kernels::cpu::cohort_kl_backward<T>, kernels::cuda::cohort_kl_backward);
  });
}

}  // namespace gkd::ops
