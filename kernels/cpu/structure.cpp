// CPU twin of the fused structure KL (kernels/structure.h): destination rows in parallel, one
// pair at a time; each row's kernel values and log-probabilities live in per-thread buffers of the
// row's degree, so nothing of size E×F exists. Sums are in double in CSR order (deterministic).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// K(x, y) over D features, and ∂K/∂x written as coefficients: ∂K/∂x_j = alpha·x_j + beta·y_j +
// gamma·sign(x_j − y_j). Every kernel is symmetric, so ∂K/∂y is the same with x and y swapped.
struct KernelValue {
  double value = 0;
  double alpha = 0, beta = 0, gamma = 0;
};

template <class T>
KernelValue kernel(const StructureKernelParams& k, const T* x, const T* y, int64_t d) {
  KernelValue r;
  switch (k.op) {
    case StructureKernelOp::kL1Exp: {
      double l1 = 0;
      for (int64_t j = 0; j < d; ++j) l1 += std::abs(double(x[j]) - y[j]);
      r.value = std::exp(-l1 / k.tau);
      r.gamma = -r.value / k.tau;
      break;
    }
    case StructureKernelOp::kLinear:
    case StructureKernelOp::kPolynomial: {
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += double(x[j]) * y[j];
      if (k.op == StructureKernelOp::kLinear) {
        r.value = dot;
        r.beta = 1.0;
      } else {
        r.value = std::pow(dot + k.shift, k.degree);
        r.beta = k.degree * std::pow(dot + k.shift, k.degree - 1);
      }
      break;
    }
    case StructureKernelOp::kRbf: {
      double sq = 0;
      for (int64_t j = 0; j < d; ++j) sq += (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
      const double s2 = k.sigma * k.sigma;
      r.value = std::exp(-sq / (2 * s2));
      r.alpha = -r.value / s2;  // −a (x − y) / σ²
      r.beta = r.value / s2;
      break;
    }
    case StructureKernelOp::kCosine: {
      double dot = 0, xx = 0, yy = 0;
      for (int64_t j = 0; j < d; ++j) {
        dot += double(x[j]) * y[j];
        xx += double(x[j]) * x[j];
        yy += double(y[j]) * y[j];
      }
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

// dh[row] += g · ∂K(h[row], other)/∂h[row].
template <class T>
void add_kernel_grad(const KernelValue& k, double g, const T* x, const T* y, int64_t d, T* dh) {
  for (int64_t j = 0; j < d; ++j) {
    const double sign = double(x[j] > y[j]) - double(x[j] < y[j]);
    dh[j] = T(double(dh[j]) + g * (k.alpha * x[j] + k.beta * y[j] + k.gamma * sign));
  }
}

// log-softmax of a[0..n) in place (double).
void log_softmax(std::vector<double>& a, int64_t n) {
  double max = a[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, a[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(a[i] - max);
  const double log_sum = max + std::log(sum);
  for (int64_t i = 0; i < n; ++i) a[i] -= log_sum;
}

}  // namespace

template <class T>
void structure_kl(const StructureKlArgs<T>& a) {
  const CsrView& g = a.in;
  for (int64_t q = 0; q < a.num_pairs; ++q) {
    const StructurePair<T>& p = a.pairs[q];
#pragma omp parallel
    {
      std::vector<double> ls, lt;  // log P^s, log P^t of the row's in-edges
#pragma omp for schedule(dynamic, 64)
      for (int64_t v = 0; v < g.rows; ++v) {
        const int64_t begin = g.indptr[v], n = g.indptr[v + 1] - begin;
        if (n == 0) {
          a.kl(q, v) = T(0);
          continue;
        }
        ls.resize(n);
        lt.resize(n);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t u = g.indices[begin + i];
          ls[i] = kernel(a.kernel, &p.hs(u, 0), &p.hs(v, 0), p.hs.cols).value;
          lt[i] = kernel(a.kernel, &p.ht(u, 0), &p.ht(v, 0), p.ht.cols).value;
        }
        log_softmax(ls, n);
        log_softmax(lt, n);
        double kl = 0;
        for (int64_t i = 0; i < n; ++i) kl += std::exp(lt[i]) * (lt[i] - ls[i]);
        a.kl(q, v) = T(kl);
        for (int64_t i = 0; i < n; ++i) {
          const double pt = std::exp(lt[i]);
          a.coef_s(q, begin + i) = T(std::exp(ls[i]) - pt);
          a.coef_t(q, begin + i) = T(pt * (lt[i] - ls[i] - kl));
        }
      }
    }
  }
}

template <class T>
void structure_kl_backward(const StructureKlBackwardArgs<T>& a) {
  for (int64_t q = 0; q < a.num_pairs; ++q) {
    const StructurePair<T>& p = a.pairs[q];
    for (int side = 0; side < 2; ++side) {
      const MatView<T>* outputs = side == 0 ? a.dhs : a.dht;
      if (outputs == nullptr || outputs[q].data == nullptr) continue;
      const MatView<T>& dh = outputs[q];
      const ConstMatView<T>& h = side == 0 ? p.hs : p.ht;
      const ConstMatView<T>& coef = side == 0 ? a.coef_s : a.coef_t;
      const int64_t d = h.cols;
      // Pass 1: node x as the destination of its in-edges; pass 2: as the source of its
      // out-edges. Each pass writes row x only, so rows run in parallel.
      for (const CsrView* csr : {&a.in, &a.out}) {
        const bool as_dst = csr == &a.in;
#pragma omp parallel for schedule(dynamic, 64)
        for (int64_t x = 0; x < csr->rows; ++x) {
          for (int64_t pos = csr->indptr[x]; pos < csr->indptr[x + 1]; ++pos) {
            const int64_t other = csr->indices[pos], e = edge_id(*csr, pos);
            const int64_t dst = as_dst ? x : other;
            const double g = double(a.dkl(q, dst)) * double(coef(q, e));
            if (g == 0) continue;
            const KernelValue k = kernel(a.kernel, &h(x, 0), &h(other, 0), d);
            add_kernel_grad(k, g, &h(x, 0), &h(other, 0), d, &dh(x, 0));
          }
        }
      }
    }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(structure_kl, StructureKlArgs)
GKD_INSTANTIATE(structure_kl_backward, StructureKlBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
