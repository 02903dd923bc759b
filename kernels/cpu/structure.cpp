// CPU twin of the fused structure KL (kernels/structure.h): destination rows in parallel; each
// row's kernel values and log-probabilities live in per-thread buffers of the row's degree, so
// nothing of size E×F exists. Sums are in double, over edges in CSR order and over features in
// lane_sum's fixed order (deterministic).
//
// Pairs often share a side (an online cohort pairs every student's layer with every peer's, and a
// peer's reference is the same tensor as that peer's own hidden state), so the sides are
// deduplicated by view: the forward computes each distinct side's local structure once per row,
// and the backward makes one pass per distinct (side, gradient output), summing the coefficients
// of every pair that routes a gradient there.
#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/simd_math.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// K(x, y) over D features, and ∂K/∂x written as coefficients: ∂K/∂x_j = alpha·x_j + beta·y_j +
// gamma·sign(x_j − y_j). Every kernel is symmetric, so ∂K/∂y is the same with x and y swapped.
struct KernelValue {
  double value = 0;
  double alpha = 0, beta = 0, gamma = 0;
};

// The kernel op is a template parameter (dispatched once per call, with_kernel_op), so the
// per-edge code holds only its own terms: the official code's L1 kernel has gamma alone.
template <StructureKernelOp Op, class T>
KernelValue kernel(const StructureKernelParams& k, const T* x, const T* y, int64_t d) {
  KernelValue r;
  switch (Op) {
    case StructureKernelOp::kL1Exp: {
      const double l1 = lane_sum(d, [&](int64_t j) { return std::abs(double(x[j]) - y[j]); });
      r.value = exp_vec(-l1 / k.tau);
      r.gamma = -r.value / k.tau;
      break;
    }
    case StructureKernelOp::kLinear:
    case StructureKernelOp::kPolynomial: {
      const double dot = lane_sum(d, [&](int64_t j) { return double(x[j]) * y[j]; });
      if (Op == StructureKernelOp::kLinear) {
        r.value = dot;
        r.beta = 1.0;
      } else {
        r.value = std::pow(dot + k.shift, k.degree);
        r.beta = k.degree * std::pow(dot + k.shift, k.degree - 1);
      }
      break;
    }
    case StructureKernelOp::kRbf: {
      const double sq = lane_sum(d, [&](int64_t j) {
        const double diff = double(x[j]) - y[j];
        return diff * diff;
      });
      const double s2 = k.sigma * k.sigma;
      r.value = exp_vec(-sq / (2 * s2));
      r.alpha = -r.value / s2;  // −a (x − y) / σ²
      r.beta = r.value / s2;
      break;
    }
    case StructureKernelOp::kCosine: {
      const double dot = lane_sum(d, [&](int64_t j) { return double(x[j]) * y[j]; });
      const double xx = lane_sum(d, [&](int64_t j) { return double(x[j]) * x[j]; });
      const double yy = lane_sum(d, [&](int64_t j) { return double(y[j]) * y[j]; });
      const double eps = kCosineEps, nx = std::max(std::sqrt(xx), eps),
                   ny = std::max(std::sqrt(yy), eps);
      r.value = dot / (nx * ny);
      r.beta = 1.0 / (nx * ny);
      r.alpha = std::sqrt(xx) > eps ? -r.value / (nx * nx) : 0.0;  // a clamped norm is constant
      break;
    }
  }
  return r;
}

// dh[row] += g · ∂K(h[row], other)/∂h[row], with only the terms op Op has (the others are 0).
template <StructureKernelOp Op, class T>
void add_kernel_grad(const KernelValue& k, double g, const T* x, const T* y, int64_t d, T* dh) {
  constexpr bool kAlpha = Op == StructureKernelOp::kRbf || Op == StructureKernelOp::kCosine;
  constexpr bool kBeta = Op != StructureKernelOp::kL1Exp;
  constexpr bool kGamma = Op == StructureKernelOp::kL1Exp;
  for (int64_t j = 0; j < d; ++j) {
    double dk = 0;
    if constexpr (kAlpha) dk += k.alpha * x[j];
    if constexpr (kBeta) dk += k.beta * y[j];
    if constexpr (kGamma) dk += k.gamma * (double(x[j] > y[j]) - double(x[j] < y[j]));
    dh[j] = T(double(dh[j]) + g * dk);
  }
}

// Calls fn(std::integral_constant<StructureKernelOp, op>).
template <class Fn>
void with_kernel_op(StructureKernelOp op, Fn&& fn) {
  switch (op) {
    case StructureKernelOp::kL1Exp:
      return fn(std::integral_constant<StructureKernelOp, StructureKernelOp::kL1Exp>{});
    case StructureKernelOp::kLinear:
      return fn(std::integral_constant<StructureKernelOp, StructureKernelOp::kLinear>{});
    case StructureKernelOp::kPolynomial:
      return fn(std::integral_constant<StructureKernelOp, StructureKernelOp::kPolynomial>{});
    case StructureKernelOp::kRbf:
      return fn(std::integral_constant<StructureKernelOp, StructureKernelOp::kRbf>{});
    case StructureKernelOp::kCosine:
      return fn(std::integral_constant<StructureKernelOp, StructureKernelOp::kCosine>{});
  }
}

// The distinct feature views among the pairs' sides; side_of[q] = {student side, reference side}.
template <class T>
struct Sides {
  std::vector<ConstMatView<T>> views;
  std::vector<std::array<int64_t, 2>> side_of;
};

template <class T>
bool same_view(const ConstMatView<T>& a, const ConstMatView<T>& b) {
  return a.data == b.data && a.rows == b.rows && a.cols == b.cols && a.ld == b.ld;
}

template <class T>
Sides<T> distinct_sides(const StructurePair<T>* pairs, int64_t count) {
  Sides<T> s;
  const auto index_of = [&](const ConstMatView<T>& h) {
    for (size_t i = 0; i < s.views.size(); ++i) {
      if (same_view(s.views[i], h)) return static_cast<int64_t>(i);
    }
    s.views.push_back(h);
    return static_cast<int64_t>(s.views.size() - 1);
  };
  for (int64_t q = 0; q < count; ++q) {
    const int64_t student = index_of(pairs[q].hs);
    s.side_of.push_back({student, index_of(pairs[q].ht)});
  }
  return s;
}

// log-softmax of a[0..n) in place, in double.
void log_softmax(double* a, int64_t n) {
  double max = a[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, a[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += exp_vec(a[i] - max);
  const double log_sum = max + std::log(sum);
  for (int64_t i = 0; i < n; ++i) a[i] -= log_sum;
}

}  // namespace

namespace {

template <StructureKernelOp Op, class T>
void structure_kl_op(const StructureKlArgs<T>& a) {
  const CsrView& g = a.in;
  const Sides<T> sides = distinct_sides(a.pairs, a.num_pairs);
  const auto side_count = static_cast<int64_t>(sides.views.size());
#pragma omp parallel
  {
    std::vector<double> logp;  // [S, n]: log P of every distinct side over the row's in-edges
#pragma omp for schedule(dynamic, 64)
    for (int64_t v = 0; v < g.rows; ++v) {
      const int64_t begin = g.indptr[v], n = g.indptr[v + 1] - begin;
      if (n == 0) {
        for (int64_t q = 0; q < a.num_pairs; ++q) a.kl(q, v) = T(0);
        continue;
      }
      logp.resize(static_cast<size_t>(side_count * n));
      for (int64_t s = 0; s < side_count; ++s) {
        const ConstMatView<T>& h = sides.views[s];
        double* l = logp.data() + s * n;
        for (int64_t i = 0; i < n; ++i) {
          l[i] = kernel<Op>(a.kernel, &h(g.indices[begin + i], 0), &h(v, 0), h.cols).value;
        }
        log_softmax(l, n);
      }
      for (int64_t q = 0; q < a.num_pairs; ++q) {
        const double* ls = logp.data() + sides.side_of[q][0] * n;
        const double* lt = logp.data() + sides.side_of[q][1] * n;
        double kl = 0;
        for (int64_t i = 0; i < n; ++i) kl += exp_vec(lt[i]) * (lt[i] - ls[i]);
        a.kl(q, v) = T(kl);
        for (int64_t i = 0; i < n; ++i) {
          const double pt = exp_vec(lt[i]);
          a.coef_s(q, begin + i) = T(exp_vec(ls[i]) - pt);
          a.coef_t(q, begin + i) = T(pt * (lt[i] - ls[i] - kl));
        }
      }
    }
  }
}

template <StructureKernelOp Op, class T>
void structure_kl_backward_op(const StructureKlBackwardArgs<T>& a) {
  const Sides<T> sides = distinct_sides(a.pairs, a.num_pairs);
  // Every (pair, side) that wants a gradient, grouped by (distinct side, output): one pass each.
  struct Term {
    int64_t pair;
    const ConstMatView<T>* coef;
  };
  struct Group {
    int64_t side;
    MatView<T> dh;
    std::vector<Term> terms;
  };
  std::vector<Group> groups;
  for (int64_t q = 0; q < a.num_pairs; ++q) {
    for (int which = 0; which < 2; ++which) {
      const MatView<T>* outputs = which == 0 ? a.dhs : a.dht;
      if (outputs == nullptr || outputs[q].data == nullptr) continue;
      const int64_t side = sides.side_of[q][which];
      const Term term{q, which == 0 ? &a.coef_s : &a.coef_t};
      const auto match = std::find_if(groups.begin(), groups.end(), [&](const Group& gr) {
        return gr.side == side && gr.dh.data == outputs[q].data && gr.dh.ld == outputs[q].ld;
      });
      if (match != groups.end()) {
        match->terms.push_back(term);
      } else {
        groups.push_back({side, outputs[q], {term}});
      }
    }
  }
  // Every kernel but cosine has coefficients symmetric in (x, y), so an edge's kernel is computed
  // once per group (canonical = in-CSR order) and read by both passes.
  constexpr bool cached = Op != StructureKernelOp::kCosine;
  std::vector<KernelValue> values(cached ? static_cast<size_t>(a.in.nnz) : 0);
  for (const Group& group : groups) {
    const ConstMatView<T>& h = sides.views[group.side];
    const MatView<T>& dh = group.dh;
    const int64_t d = h.cols;
    if (cached) {
#pragma omp parallel for schedule(dynamic, 64)
      for (int64_t v = 0; v < a.in.rows; ++v) {
        for (int64_t pos = a.in.indptr[v]; pos < a.in.indptr[v + 1]; ++pos) {
          values[pos] = kernel<Op>(a.kernel, &h(v, 0), &h(a.in.indices[pos], 0), d);
        }
      }
    }
    // Pass 1: node x as the destination of its in-edges; pass 2: as the source of its out-edges.
    // Each pass writes row x only, so rows run in parallel.
    for (const CsrView* csr : {&a.in, &a.out}) {
      const bool as_dst = csr == &a.in;
#pragma omp parallel for schedule(dynamic, 64)
      for (int64_t x = 0; x < csr->rows; ++x) {
        for (int64_t pos = csr->indptr[x]; pos < csr->indptr[x + 1]; ++pos) {
          const int64_t other = csr->indices[pos], e = edge_id(*csr, pos);
          const int64_t dst = as_dst ? x : other;
          double g = 0;
          for (const Term& t : group.terms) {
            g += double(a.dkl(t.pair, dst)) * double((*t.coef)(t.pair, e));
          }
          if (g == 0) continue;
          const KernelValue k =
              cached ? values[e] : kernel<Op>(a.kernel, &h(x, 0), &h(other, 0), d);
          add_kernel_grad<Op>(k, g, &h(x, 0), &h(other, 0), d, &dh(x, 0));
        }
      }
    }
  }
}

}  // namespace

template <class T>
void structure_kl(const StructureKlArgs<T>& a) {
  with_kernel_op(a.kernel.op, [&](auto op) { structure_kl_op<decltype(op)::value>(a); });
}

template <class T>
void structure_kl_backward(const StructureKlBackwardArgs<T>& a) {
  with_kernel_op(a.kernel.op, [&](auto op) { structure_kl_backward_op<decltype(op)::value>(a); });
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(structure_kl, StructureKlArgs)
GKD_INSTANTIATE(structure_kl_backward, StructureKlBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
