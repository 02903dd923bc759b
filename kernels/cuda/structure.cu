// CUDA twin of the fused structure KL (kernels/structure.h), written for correctness first: one
// launch per pair (forward) and per (pair, side) gradient (backward), in stream order, so pairs
// that share an output accumulate into it one after another without atomics.
//   forward: one thread per destination v walks its in-edges three times (online max and sum of
//     both sides' kernel values, the KL, the coefficients), recomputing kernel values instead of
//     storing them (no per-thread arrays); sums in double.
//   backward: one thread per element dh[x, j] walks x's in-edges (x the destination) and
//     out-edges (x the source), recomputing each edge's kernel value: O(degree · D) per element.
// Nothing of size E×D exists. The shared-side deduplication and the one-pass backward of the CPU
// twin come with the tuned variant on a GPU.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

// K(x, y) over d features and ∂K/∂x = alpha·x + beta·y + gamma·sign(x − y) (kernels/structure.h).
struct KernelValue {
  double value = 0, alpha = 0, beta = 0, gamma = 0;
};

__device__ KernelValue kernel_value(const StructureKernelParams& k, const float* x, const float* y,
                                    int64_t d) {
  KernelValue r;
  switch (k.op) {
    case StructureKernelOp::kL1Exp: {
      double l1 = 0;
      for (int64_t j = 0; j < d; ++j) l1 += fabs(double(x[j]) - y[j]);
      r.value = exp(-l1 / k.tau);
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
        r.value = pow(dot + k.shift, k.degree);
        r.beta = k.degree * pow(dot + k.shift, k.degree - 1);
      }
      break;
    }
    case StructureKernelOp::kRbf: {
      double sq = 0;
      for (int64_t j = 0; j < d; ++j) sq += (double(x[j]) - y[j]) * (double(x[j]) - y[j]);
      const double s2 = k.sigma * k.sigma;
      r.value = exp(-sq / (2 * s2));
      r.alpha = -r.value / s2;
      r.beta = r.value / s2;
      break;
    }
    case StructureKernelOp::kCosine: {
      const CosineParts c = cosine_parts(x, y, d);
      const double nx = c.nx(), ny = c.ny();
      r.value = c.value();
      r.beta = 1.0 / (nx * ny);
      r.alpha = sqrt(c.xx) > kCosineEps ? -r.value / (nx * nx) : 0.0;
      break;
    }
  }
  return r;
}

// The kernel value of in-edge position p of v on side h.
__device__ inline double edge_value(const StructureKernelParams& k, const ConstMatView<float>& h,
                                    const CsrView& in, int64_t p, int64_t v) {
  return kernel_value(k, &h(in.indices[p], 0), &h(v, 0), h.cols).value;
}

__global__ void structure_kl_kernel(CsrView in, StructurePair<float> pair, int64_t q,
                                    StructureKernelParams k, MatView<float> kl,
                                    MatView<float> coef_s, MatView<float> coef_t) {
  GKD_GRID_STRIDE(v, in.rows) {
    const int64_t begin = in.indptr[v], end = in.indptr[v + 1];
    if (begin == end) {
      kl(q, v) = 0.0f;
      continue;
    }
    // Online max and exp-sum of both sides: the sum is rescaled whenever the max grows.
    double max_s = -INFINITY, sum_s = 0, max_t = -INFINITY, sum_t = 0;
    for (int64_t p = begin; p < end; ++p) {
      const double as = edge_value(k, pair.hs, in, p, v), at = edge_value(k, pair.ht, in, p, v);
      if (as > max_s) {
        sum_s = sum_s * exp(max_s - as) + 1.0;
        max_s = as;
      } else {
        sum_s += exp(as - max_s);
      }
      if (at > max_t) {
        sum_t = sum_t * exp(max_t - at) + 1.0;
        max_t = at;
      } else {
        sum_t += exp(at - max_t);
      }
    }
    const double shift_s = max_s + log(sum_s), shift_t = max_t + log(sum_t);
    double total = 0;
    for (int64_t p = begin; p < end; ++p) {
      const double ls = edge_value(k, pair.hs, in, p, v) - shift_s;
      const double lt = edge_value(k, pair.ht, in, p, v) - shift_t;
      total += exp(lt) * (lt - ls);
    }
    kl(q, v) = static_cast<float>(total);
    for (int64_t p = begin; p < end; ++p) {
      const double ls = edge_value(k, pair.hs, in, p, v) - shift_s;
      const double lt = edge_value(k, pair.ht, in, p, v) - shift_t;
      const double pt = exp(lt);
      coef_s(q, p) = static_cast<float>(exp(ls) - pt);
      coef_t(q, p) = static_cast<float>(pt * (lt - ls - total));
    }
  }
}

// dh[x, j] += Σ over the edges touching x of dkl[q, dst] coef[q, e] ∂K(h_x, h_other)/∂h_x[j].
__global__ void structure_kl_backward_kernel(CsrView in, CsrView out, ConstMatView<float> h,
                                             int64_t q, StructureKernelParams k,
                                             ConstMatView<float> dkl, ConstMatView<float> coef,
                                             MatView<float> dh) {
  const int64_t d = h.cols;
  GKD_GRID_STRIDE(element, h.rows * d) {
    const int64_t x = element / d, j = element % d;
    double acc = 0;
    for (int pass = 0; pass < 2; ++pass) {  // x as the destination, then as the source
      const CsrView& csr = pass == 0 ? in : out;
      for (int64_t p = csr.indptr[x]; p < csr.indptr[x + 1]; ++p) {
        const int64_t other = csr.indices[p], e = edge_id(csr, p);
        const int64_t dst = pass == 0 ? x : other;
        const double g = double(dkl(q, dst)) * double(coef(q, e));
        if (g == 0) continue;
        const KernelValue kv = kernel_value(k, &h(x, 0), &h(other, 0), d);
        const double xj = h(x, j), yj = h(other, j);
        const double sign = double(xj > yj) - double(xj < yj);
        acc += g * (kv.alpha * xj + kv.beta * yj + kv.gamma * sign);
      }
    }
    dh(x, j) = static_cast<float>(double(dh(x, j)) + acc);
  }
}

}  // namespace

void structure_kl(const StructureKlArgs<float>& a, Stream stream) {
  if (a.in.rows == 0) return;
  for (int64_t q = 0; q < a.num_pairs; ++q) {
    structure_kl_kernel<<<grid_for(a.in.rows, kBlock), kBlock, 0, raw(stream)>>>(
        a.in, a.pairs[q], q, a.kernel, a.kl, a.coef_s, a.coef_t);
    check_launch("structure_kl");
  }
}

void structure_kl_backward(const StructureKlBackwardArgs<float>& a, Stream stream) {
  for (int64_t q = 0; q < a.num_pairs; ++q) {
    for (int which = 0; which < 2; ++which) {
      const MatView<float>* outputs = which == 0 ? a.dhs : a.dht;
      if (outputs == nullptr || outputs[q].data == nullptr) continue;
      const ConstMatView<float>& h = which == 0 ? a.pairs[q].hs : a.pairs[q].ht;
      const int64_t n = h.rows * h.cols;
      if (n == 0) continue;
      structure_kl_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(
          a.in, a.out, h, q, a.kernel, a.dkl, which == 0 ? a.coef_s : a.coef_t, outputs[q]);
      check_launch("structure_kl_backward");
    }
  }
}

}  // namespace gkd::kernels::cuda
