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

}  // namespace gkd::ops
