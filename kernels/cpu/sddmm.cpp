// CPU twins of the SDDMM edge kernels: row-parallel over CSR rows, each edge's reduction over the
// feature dimension accumulated in double in lane_sum's fixed order, every output row written by
// one thread.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/static_width.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// Σ_j over one head's slice of x·y, |x|^2 and |y|^2, for the cosine similarity.
struct CosineParts {
  double dot = 0, xx = 0, yy = 0;
  double nx() const { return std::max(std::sqrt(xx), kCosineEps); }
  double ny() const { return std::max(std::sqrt(yy), kCosineEps); }
  double value() const { return dot / (nx() * ny()); }
};

// Σ_j x_j y_j over one head's slice, in double in lane_sum's order: the dot op's definition.
template <class T>
double dot(const T* x, const T* y, int64_t f) {
  return lane_sum(f, [&](int64_t j) { return double(x[j]) * y[j]; });
}

template <class T>
CosineParts cosine_parts(const T* x, const T* y, int64_t f) {
  CosineParts c;
  c.dot = dot(x, y, f);
  c.xx = lane_sum(f, [&](int64_t j) { return double(x[j]) * x[j]; });
  c.yy = lane_sum(f, [&](int64_t j) { return double(y[j]) * y[j]; });
  return c;
}

template <class T>
void write(T& out, double value, bool accumulate) {
  out = static_cast<T>(accumulate ? out + value : value);
}

}  // namespace

namespace {

#if defined(__AVX512F__)
// lane_sum(8, x[j] y[j]) for eight heads of width 8 at once (GAT's 8 x 8, in the gradient of its
// attention weights): lane l of the result is head l's ((p0 + p1) + (p2 + p3)) + ((p4 + p5) +
// (p6 + p7)) + 0, lane_sum's order exactly. Its partial sums start from +0, which only turns a -0
// product into +0, and the final + 0 maps a -0 sum to +0 either way, so the bits are the same.
// Each level adds the pairs of every head at once after interleaving two heads' vectors, instead
// of a horizontal reduction per head.
// y holds the eight heads of the destination row, loaded once for all of the row's edges.
template <class T>
__m512d dot_8x8(const T* x, const __m512d* y) {
  using avx512::interleave;
  __m512d p[8];
  for (int h = 0; h < 8; ++h) p[h] = _mm512_mul_pd(avx512::load8(x + 8 * h), y[h]);
  // Level 1, heads (a, b): lanes (a0+a1, b0+b1, a2+a3, b2+b3, ...).
  __m512d s[4];
  for (int k = 0; k < 4; ++k) {
    s[k] = _mm512_add_pd(interleave<1, false>(p[2 * k], p[2 * k + 1]),
                         interleave<1, true>(p[2 * k], p[2 * k + 1]));
  }
  // Level 2, two level-1 vectors: lanes (a0123, b0123, c0123, d0123, a4567, ..., d4567).
  __m512d t[2];
  for (int k = 0; k < 2; ++k) {
    t[k] = _mm512_add_pd(interleave<2, false>(s[2 * k], s[2 * k + 1]),
                         interleave<2, true>(s[2 * k], s[2 * k + 1]));
  }
  // Level 3: lane l is head l's (l0123 + l4567).
  const __m512d sum =
      _mm512_add_pd(interleave<3, false>(t[0], t[1]), interleave<3, true>(t[0], t[1]));
  return _mm512_add_pd(sum, _mm512_setzero_pd());
}

// write() for eight consecutive outputs: T(out + value) in double when accumulating, else T(value).
template <class T>
void write_8(T* out, __m512d value, bool accumulate) {
  if (accumulate) value = _mm512_add_pd(avx512::load8(out), value);
  avx512::store8(out, value);
}
#endif

#if defined(__AVX512F__)
// dot(x, y, f) of head h for the eight edges [e0, e0 + 8), whose destinations are dst[],
// lane l for edge e0 + l. With f < 8, lane_sum's eight partial sums stay 0, so each edge's value is
// 0 + ((0 + p0) + p1 ... + p_{f-1}): the rows of products transposed, each add serves eight
// edges. Edge by edge, each was a chain of f dependent adds (GAT's output layer: 7 classes).
template <class T>
void dot_narrow_8_edges(const SddmmArgs<T>& a, int64_t e0, const int64_t* dst, int64_t h,
                        int64_t f) {
  const auto columns = static_cast<__mmask8>((1u << f) - 1);
  const auto load = [&](const T* p) {
    if constexpr (std::is_same_v<T, float>) {
      return avx512::widen(_mm256_maskz_loadu_ps(columns, p));
    } else {
      return _mm512_maskz_loadu_pd(columns, p);
    }
  };
  __m512d p[8];  // p[l]: edge e0 + l's products double(x_j) y_j, zero past f
  for (int l = 0; l < 8; ++l) {
    p[l] = _mm512_mul_pd(load(&a.u(a.a.indices[e0 + l], h * f)), load(&a.v(dst[l], h * f)));
  }
  avx512::transpose8(p);  // p[j]: product j of every edge
  __m512d acc = _mm512_setzero_pd();
  for (int64_t j = 0; j < f; ++j) acc = _mm512_add_pd(acc, p[j]);
  alignas(64) double sums[8];
  _mm512_store_pd(sums, _mm512_add_pd(_mm512_setzero_pd(), acc));
  for (int l = 0; l < 8; ++l) write(a.out(e0 + l, h), sums[l], a.accumulate);
}

// The dot product over heads narrower than 8: the edges of 64 rows at a time, eight at once, the
// rest one by one.
template <class T>
void dot_narrow(const SddmmArgs<T>& a, int64_t f) {
  constexpr int64_t kRows = 64;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t r0 = 0; r0 < a.a.rows; r0 += kRows) {
    const int64_t r1 = std::min(a.a.rows, r0 + kRows);
    int64_t dst[8];
    int n = 0;  // edges waiting in dst[]
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t e = a.a.indptr[r]; e < a.a.indptr[r + 1]; ++e) {
        dst[n++] = r;
        if (n < 8) continue;
        for (int64_t h = 0; h < a.heads; ++h) dot_narrow_8_edges(a, e - 7, dst, h, f);
        n = 0;
      }
    }
    for (int l = 0; l < n; ++l) {
      const int64_t e = a.a.indptr[r1] - n + l;
      for (int64_t h = 0; h < a.heads; ++h) {
        const T* x = &a.u(a.a.indices[e], h * f);
        const T* y = &a.v(dst[l], h * f);
        write(a.out(e, h), dot(x, y, f), a.accumulate);
      }
    }
  }
}
#endif

// The forward for a fixed op (a template parameter, so the feature loops vectorise).
template <SddmmOp Op, class T>
void forward_rows(const SddmmArgs<T>& a) {
  const int64_t f = a.u.cols / a.heads;
#if defined(__AVX512F__)
  if constexpr (Op == SddmmOp::kDot) {
    if (f < 8) return dot_narrow(a, f);
  }
  const bool heads_8x8 = Op == SddmmOp::kDot && f == 8 && a.heads % 8 == 0;
#endif
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t dst = 0; dst < a.a.rows; ++dst) {
#if defined(__AVX512F__)
    if (heads_8x8) {
      for (int64_t h = 0; h < a.heads; h += 8) {
        __m512d y[8];
        for (int k = 0; k < 8; ++k) y[k] = avx512::load8(&a.v(dst, (h + k) * f));
        for (int64_t e = a.a.indptr[dst]; e < a.a.indptr[dst + 1]; ++e) {
          write_8(&a.out(e, h), dot_8x8(&a.u(a.a.indices[e], h * f), y), a.accumulate);
        }
      }
      continue;
    }
#endif
    for (int64_t e = a.a.indptr[dst]; e < a.a.indptr[dst + 1]; ++e) {
      const int64_t src = a.a.indices[e];
      for (int64_t h = 0; h < a.heads; ++h) {
        const T* x = &a.u(src, h * f);
        const T* y = &a.v(dst, h * f);
        double acc = 0;
        if constexpr (Op == SddmmOp::kDot) {
          acc = dot(x, y, f);
        } else if constexpr (Op == SddmmOp::kL1) {
          acc = lane_sum(f, [&](int64_t j) { return std::abs(double(x[j]) - y[j]); });
        } else if constexpr (Op == SddmmOp::kSquaredL2) {
          acc =
              lane_sum(f, [&](int64_t j) { return (double(x[j]) - y[j]) * (double(x[j]) - y[j]); });
        } else {
          acc = cosine_parts(x, y, f).value();
        }
        write(a.out(e, h), acc, a.accumulate);
      }
    }
  }
}

}  // namespace

template <class T>
void sddmm(const SddmmArgs<T>& a) {
  switch (a.op) {
    case SddmmOp::kDot:
      return forward_rows<SddmmOp::kDot>(a);
    case SddmmOp::kL1:
      return forward_rows<SddmmOp::kL1>(a);
    case SddmmOp::kSquaredL2:
      return forward_rows<SddmmOp::kSquaredL2>(a);
    case SddmmOp::kCosine:
      return forward_rows<SddmmOp::kCosine>(a);
  }
}

namespace {

// One output row of sddmm_backward for a fixed op: the op is a template parameter so that the
// feature loops carry no branch and vectorise (a switch inside them would not).
template <SddmmOp Op, class T>
void backward_row(const SddmmBackwardArgs<T>& a, int64_t r, int64_t f, double* acc) {
  const bool wrt_u = a.wrt == SddmmSide::kU;
  for (int64_t p = a.a.indptr[r]; p < a.a.indptr[r + 1]; ++p) {
    const int64_t other = a.a.indices[p], e = edge_id(a.a, p);
    for (int64_t h = 0; h < a.heads; ++h) {
      const double g = a.grad(e, h);
      const T* x = wrt_u ? &a.u(r, h * f) : &a.v(r, h * f);
      const T* y = wrt_u ? &a.v(other, h * f) : &a.u(other, h * f);
      double* d = acc + h * f;
      if constexpr (Op == SddmmOp::kDot) {
        for (int64_t j = 0; j < f; ++j) d[j] += g * double(y[j]);
      } else if constexpr (Op == SddmmOp::kL1) {
        // g · sign(x - y), branch-free: (x > y) - (x < y).
        for (int64_t j = 0; j < f; ++j) {
          d[j] += g * (double(x[j] > y[j]) - double(x[j] < y[j]));
        }
      } else if constexpr (Op == SddmmOp::kSquaredL2) {
        for (int64_t j = 0; j < f; ++j) d[j] += 2.0 * g * (double(x[j]) - y[j]);
      } else {
        // cosine_parts(x, y) is symmetric, so x may stand for either operand.
        const CosineParts c = cosine_parts(x, y, f);
        const double nx = c.nx(), ny = c.ny(), cos = c.dot / (nx * ny);
        const double self = std::sqrt(c.xx) > kCosineEps ? cos / (nx * nx) : 0.0;
        for (int64_t j = 0; j < f; ++j) d[j] += g * (y[j] / (nx * ny) - self * x[j]);
      }
    }
  }
}

template <SddmmOp Op, class T>
void backward_rows(const SddmmBackwardArgs<T>& a) {
  const int64_t width = a.d.cols, f = width / a.heads;
#pragma omp parallel
  {
    std::vector<double> acc(width);
#pragma omp for schedule(dynamic, 64)
    for (int64_t r = 0; r < a.a.rows; ++r) {
      std::fill(acc.begin(), acc.end(), 0.0);
      backward_row<Op>(a, r, f, acc.data());
      for (int64_t j = 0; j < width; ++j) write(a.d(r, j), acc[j], a.accumulate);
    }
  }
}

}  // namespace

// The differentiated operand is x (its row is the CSR row), the other one is y. Every op is
// symmetric in its operands, so one formula serves both sides.
template <class T>
void sddmm_backward(const SddmmBackwardArgs<T>& a) {
  switch (a.op) {
    case SddmmOp::kDot:
      return backward_rows<SddmmOp::kDot>(a);
    case SddmmOp::kL1:
      return backward_rows<SddmmOp::kL1>(a);
    case SddmmOp::kSquaredL2:
      return backward_rows<SddmmOp::kSquaredL2>(a);
    case SddmmOp::kCosine:
      return backward_rows<SddmmOp::kCosine>(a);
  }
}

template <class T>
void u_add_v(const UAddVArgs<T>& a) {
  with_static_width<1, 8>(a.out.cols, [&](auto width) {
    const double slope = a.leaky_relu ? a.negative_slope : 1.0;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t dst = 0; dst < a.a.rows; ++dst) {
      // In the loop: kernels/cpu/static_width.h.
      const int64_t heads = static_or<decltype(width)::value>(a.out.cols);
      const T* d = &a.a_dst(dst, 0);
      for (int64_t e = a.a.indptr[dst]; e < a.a.indptr[dst + 1]; ++e) {
        const T* u = &a.a_src(a.a.indices[e], 0);
        T* out = &a.out(e, 0);
        // Not unrolled: fully unrolled over a static 8, the blends below stayed scalar.
#pragma GCC unroll 1
        for (int64_t h = 0; h < heads; ++h) {
          const double s = double(u[h]) + d[h];
          write(out[h], branchless_select(s < 0, s * slope, s), a.accumulate);
        }
      }
    }
  });
}

template <class T>
void edge_reduce(const EdgeReduceArgs<T>& a) {
  with_static_width<1, 8>(a.out.cols, [&](auto width) {
    constexpr int64_t kHeads = decltype(width)::value;
    const double slope = a.negative_slope;
#pragma omp parallel
    {
      // In the region: kernels/cpu/static_width.h.
      const int64_t heads = static_or<kHeads>(a.out.cols);
      PerHead<kHeads> acc(heads);
#pragma omp for schedule(dynamic, 64)
      for (int64_t r = 0; r < a.a.rows; ++r) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t p = a.a.indptr[r]; p < a.a.indptr[r + 1]; ++p) {
          const int64_t e = edge_id(a.a, p);
          const T* w = &a.w(e, 0);
          if (a.gate.data) {
            const T* gate = &a.gate(e, 0);
            // Not unrolled, as in u_add_v: unrolled over 8, the blends stayed scalar.
#pragma GCC unroll 1
            for (int64_t h = 0; h < heads; ++h) {
              acc[h] += branchless_select(gate[h] > 0, 1.0, slope) * w[h];
            }
          } else {
            for (int64_t h = 0; h < heads; ++h) acc[h] += 1.0 * w[h];
          }
        }
        for (int64_t h = 0; h < heads; ++h) write(a.out(r, h), acc[h], a.accumulate);
      }
    }
  });
}

template <class T>
void edge_map(const EdgeMapArgs<T>& a) {
#pragma omp parallel for schedule(static)
  for (int64_t e = 0; e < a.x.rows; ++e) {
    for (int64_t h = 0; h < a.x.cols; ++h) {
      const double x = a.x(e, h);
      const double y = a.op == EdgeMapOp::kExpNeg ? std::exp(-double(a.scale) * x)
                                                  : std::pow(x + double(a.shift), double(a.degree));
      write(a.y(e, h), y, a.accumulate);
    }
  }
}

template <class T>
void edge_map_backward(const EdgeMapBackwardArgs<T>& a) {
  const double scale = a.scale, shift = a.shift, degree = a.degree;
#pragma omp parallel for schedule(static)
  for (int64_t e = 0; e < a.x.rows; ++e) {
    for (int64_t h = 0; h < a.x.cols; ++h) {
      const double x = a.x(e, h);
      const double dydx = a.op == EdgeMapOp::kExpNeg ? -scale * std::exp(-scale * x)
                                                     : degree * std::pow(x + shift, degree - 1);
      write(a.dx(e, h), a.dy(e, h) * dydx, a.accumulate);
    }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(sddmm, SddmmArgs)
GKD_INSTANTIATE(sddmm_backward, SddmmBackwardArgs)
GKD_INSTANTIATE(u_add_v, UAddVArgs)
GKD_INSTANTIATE(edge_reduce, EdgeReduceArgs)
GKD_INSTANTIATE(edge_map, EdgeMapArgs)
GKD_INSTANTIATE(edge_map_backward, EdgeMapBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
