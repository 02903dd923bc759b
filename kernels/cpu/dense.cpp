// CPU twins of the dense elementwise and reduction kernels. Row-parallel; every element is computed
// independently, and sums over rows use the fixed blocking of kSumBlockRows, so results do not
// depend on the thread count.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/cpu/avx512.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/static_width.h"
#include "kernels/math.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

// Below this many elements, starting threads costs more than it saves.
constexpr int64_t kParallelElems = int64_t{1} << 16;

// A broadcast operand: a size-1 dimension gets stride 0.
template <class T>
struct Bcast {
  const T* data;
  int64_t row_stride, col_stride;
  const T& operator()(int64_t i, int64_t j) const { return data[i * row_stride + j * col_stride]; }
};
template <class T>
Bcast<T> bcast(const ConstMatView<T>& v) {
  return {v.data, v.rows > 1 ? v.ld : 0, v.cols > 1 ? 1 : 0};
}

template <class Fn>
void parallel_rows(int64_t rows, int64_t cols, Fn&& fn) {
#pragma omp parallel for schedule(static) if (rows * cols > kParallelElems)
  for (int64_t i = 0; i < rows; ++i) fn(i);
}

// Column sums over rows in the fixed blocking: add_block(begin, end, acc) adds rows [begin, end)
// (one block of kSumBlockRows rows, in order) into the [cols] doubles acc, which start at 0; then
// the blocks are added in order. `out` gets [cols] doubles. `work` (elements touched) decides
// whether threads are worth starting.
template <class AddBlock>
void blocked_sums(int64_t rows, int64_t cols, int64_t work, AddBlock&& add_block,
                  std::vector<double>& out) {
  const int64_t blocks = (rows + kSumBlockRows - 1) / kSumBlockRows;
  std::vector<double> partial(static_cast<size_t>(blocks * cols), 0.0);  // [blocks, cols]
#pragma omp parallel for schedule(static) if (work > kParallelElems)
  for (int64_t b = 0; b < blocks; ++b) {
    add_block(b * kSumBlockRows, std::min(rows, (b + 1) * kSumBlockRows),
              partial.data() + b * cols);
  }
  out.assign(static_cast<size_t>(cols), 0.0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t j = 0; j < cols; ++j) out[j] += partial[b * cols + j];
}

// blocked_sums row by row: add_row(i, acc) adds row i's [cols] values into acc, each element once
// (it may write). With cols = 1 this is also the blocked total sum.
template <class AddRow>
void blocked_row_sums(int64_t rows, int64_t cols, int64_t work, AddRow&& add_row,
                      std::vector<double>& out) {
  blocked_sums(
      rows, cols, work,
      [&](int64_t begin, int64_t end, double* acc) {
        for (int64_t i = begin; i < end; ++i) add_row(i, acc);
      },
      out);
}

// blocked_row_sums of value(i, j), called exactly once per element, in column order.
template <class Value>
void blocked_column_sums(int64_t rows, int64_t cols, int64_t work, Value&& value,
                         std::vector<double>& out) {
  blocked_row_sums(
      rows, cols, work,
      [&](int64_t i, double* acc) {
        for (int64_t j = 0; j < cols; ++j) acc[j] += value(i, j);
      },
      out);
}

template <class T>
void store(T& dst, double value, bool accumulate) {
  dst = accumulate ? static_cast<T>(dst + value) : static_cast<T>(value);
}

// Calls fn(std::integral_constant<Activation, act>) so the activation is a compile-time constant
// inside the element loops.
template <class Fn>
void with_activation(Activation act, Fn&& fn) {
  using A = Activation;
  switch (act) {
    case A::kNone:
      return fn(std::integral_constant<A, A::kNone>{});
    case A::kRelu:
      return fn(std::integral_constant<A, A::kRelu>{});
    case A::kElu:
      return fn(std::integral_constant<A, A::kElu>{});
    case A::kLeakyRelu:
      return fn(std::integral_constant<A, A::kLeakyRelu>{});
    case A::kSigmoid:
      return fn(std::integral_constant<A, A::kSigmoid>{});
    case A::kTanh:
      return fn(std::integral_constant<A, A::kTanh>{});
  }
}

template <Activation A, class T>
T activate(T z, T slope) {
  if constexpr (A == Activation::kNone) return z;
  if constexpr (A == Activation::kRelu) return relu(z);
  if constexpr (A == Activation::kElu) {
    // kernels/math.h's elu in a form that vectorises: both sides computed, then a select.
    const T negative = expm1_vec(z);
    return z > T(0) ? z : negative;
  }
  if constexpr (A == Activation::kLeakyRelu) return leaky_relu(z, slope);
  if constexpr (A == Activation::kSigmoid) return sigmoid(z);
  if constexpr (A == Activation::kTanh) return std::tanh(z);
}

template <Activation A, class T>
T activation_grad(T y, T slope) {
  if constexpr (A == Activation::kNone) return T(1);
  if constexpr (A == Activation::kRelu) return relu_grad_from_output(y);
  if constexpr (A == Activation::kElu) return elu_grad_from_output(y);
  if constexpr (A == Activation::kLeakyRelu) return leaky_relu_grad_from_output(y, slope);
  if constexpr (A == Activation::kSigmoid) return sigmoid_grad_from_output(y);
  if constexpr (A == Activation::kTanh) return tanh_grad_from_output(y);
}

}  // namespace

template <class T>
void axpby(const AxpbyArgs<T>& a) {
  // Row pointers and the beta test hoisted out of the loop, so that strided views (a student's
  // block of a cohort tensor) vectorise like contiguous ones; beta = 0 never reads y.
  parallel_rows(a.y.rows, a.y.cols, [&](int64_t i) {
    const T* x = a.x.data + i * a.x.ld;
    T* y = a.y.data + i * a.y.ld;
    if (a.beta == T(0)) {
      for (int64_t j = 0; j < a.y.cols; ++j) y[j] = a.alpha * x[j];
    } else {
      for (int64_t j = 0; j < a.y.cols; ++j) y[j] = a.alpha * x[j] + a.beta * y[j];
    }
  });
}

template <class T>
void bias_act(const BiasActArgs<T>& a) {
  with_activation(a.act, [&](auto act) {
    parallel_rows(a.y.rows, a.y.cols, [&](int64_t i) {
      const T* x = a.x.data + i * a.x.ld;  // [F]
      T* y = a.y.data + i * a.y.ld;        // [F]
      // Two loops: with the bias test inside, the compiler loads the bias with a masked load,
      // and a masked load of a null pointer (no bias) takes a microcode assist on every vector.
      if (a.bias) {
        for (int64_t j = 0; j < a.y.cols; ++j)
          y[j] = activate<decltype(act)::value>(T(x[j] + a.bias[j]), a.slope);
      } else {
        for (int64_t j = 0; j < a.y.cols; ++j) y[j] = activate<decltype(act)::value>(x[j], a.slope);
      }
    });
  });
}

template <class T>
void bias_act_backward(const BiasActBackwardArgs<T>& a) {
  const int64_t rows = a.y.rows, cols = a.y.cols;
  with_activation(a.act, [&](auto act) {
    constexpr Activation kAct = decltype(act)::value;
    auto dz = [&](int64_t i, int64_t j) {
      return a.dy(i, j) * activation_grad<kAct>(a.y(i, j), a.slope);
    };
    auto write_dx = [&](int64_t i, int64_t j, T value) {
      T& out = a.dx(i, j);
      out = a.accumulate ? out + value : value;
    };
    if (a.dbias == nullptr) {
      if (a.dx.data == nullptr) return;
      parallel_rows(rows, cols, [&](int64_t i) {
        for (int64_t j = 0; j < cols; ++j) write_dx(i, j, dz(i, j));
      });
      return;
    }
    // Row pointers and the write mode hoisted out of the element loops (dx may alias dy: each
    // element is read before it is written). Written through a's fields, the loops stayed scalar.
    const bool accumulate = a.accumulate;
    const T slope = a.slope;
    std::vector<double> db;  // [F]
    blocked_row_sums(
        rows, cols, rows * cols,
        [&](int64_t i, double* __restrict acc) {
          const T* dy = a.dy.data + i * a.dy.ld;
          const T* y = a.y.data + i * a.y.ld;
          T* dx = a.dx.data == nullptr ? nullptr : a.dx.data + i * a.dx.ld;
          const auto value = [&](int64_t j) {
            return T(dy[j] * activation_grad<kAct>(y[j], slope));
          };
          if (dx == nullptr) {
            for (int64_t j = 0; j < cols; ++j) acc[j] += static_cast<double>(value(j));
          } else if (accumulate) {
            for (int64_t j = 0; j < cols; ++j) {
              const T v = value(j);
              dx[j] = dx[j] + v;
              acc[j] += static_cast<double>(v);
            }
          } else {
            for (int64_t j = 0; j < cols; ++j) {
              const T v = value(j);
              dx[j] = v;
              acc[j] += static_cast<double>(v);
            }
          }
        },
        db);
    for (int64_t j = 0; j < cols; ++j) store(a.dbias[j], db[j], a.accumulate);
  });
}

template <class T>
void unary(const UnaryArgs<T>& a) {
  const Bcast<T> x = bcast(a.x);
  auto run = [&](auto f) {
    parallel_rows(a.y.rows, a.y.cols, [&](int64_t i) {
      T* y = a.y.data + i * a.y.ld;  // [F]
      for (int64_t j = 0; j < a.y.cols; ++j) {
        const T value = a.alpha * f(x(i, j));
        y[j] = a.accumulate ? y[j] + value : value;
      }
    });
  };
  switch (a.op) {
    case UnaryOp::kScale:
      return run([](T v) { return v; });
    case UnaryOp::kExp:
      return run([](T v) { return exp_vec(v); });
    case UnaryOp::kLog:
      return run([](T v) { return std::log(v); });
  }
}

template <class T>
void binary(const BinaryArgs<T>& a) {
  const Bcast<T> l = bcast(a.a), r = bcast(a.b);
  auto run = [&](auto f) {
    parallel_rows(a.y.rows, a.y.cols, [&](int64_t i) {
      T* y = a.y.data + i * a.y.ld;  // [F]
      for (int64_t j = 0; j < a.y.cols; ++j) {
        const T value = a.alpha * f(l(i, j), r(i, j));
        y[j] = a.accumulate ? y[j] + value : value;
      }
    });
  };
  switch (a.op) {
    case BinaryOp::kAdd:
      return run([](T u, T v) { return u + v; });
    case BinaryOp::kMul:
      return run([](T u, T v) { return u * v; });
    case BinaryOp::kDiv:
      return run([](T u, T v) { return u / v; });
  }
}

// Σ_j x(i, j) left to right, from 0.
template <class T>
double row_sum(const ConstMatView<T>& x, int64_t i) {
  double acc = 0;
  for (int64_t j = 0; j < x.cols; ++j) acc += x(i, j);
  return acc;
}

#if defined(__AVX512F__)
// Lane r: row_sum(x, i0 + r), the same adds in the same order for eight rows at once, eight
// columns at a time through a transpose. Row by row, each row was one chain of dependent adds
// (a gradient check's sum over [3703, 64] took 3% of a GAT epoch).
template <class T>
__m512d row_sums_8(const ConstMatView<T>& x, int64_t i0) {
  __m512d acc = _mm512_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= x.cols; j += 8) {
    __m512d tile[8];
    for (int r = 0; r < 8; ++r) tile[r] = avx512::load8(&x(i0 + r, j));
    avx512::transpose8(tile);
    for (const __m512d& column : tile) acc = _mm512_add_pd(acc, column);
  }
  for (; j < x.cols; ++j) {
    acc =
        _mm512_add_pd(acc, _mm512_setr_pd(x(i0, j), x(i0 + 1, j), x(i0 + 2, j), x(i0 + 3, j),
                                          x(i0 + 4, j), x(i0 + 5, j), x(i0 + 6, j), x(i0 + 7, j)));
  }
  return acc;
}
#endif

template <class T>
void reduce_sum(const ReduceSumArgs<T>& a) {
  const int64_t rows = a.x.rows, cols = a.x.cols;
  const double alpha = a.alpha;
  switch (a.axis) {
    case SumAxis::kRows:
      parallel_rows(rows, cols,
                    [&](int64_t i) { store(a.y(i, 0), alpha * row_sum(a.x, i), a.accumulate); });
      return;
    case SumAxis::kCols: {
      std::vector<double> sums;  // [F]
      blocked_column_sums(
          rows, cols, rows * cols, [&](int64_t i, int64_t j) { return double(a.x(i, j)); }, sums);
      for (int64_t j = 0; j < cols; ++j) store(a.y(0, j), alpha * sums[j], a.accumulate);
      return;
    }
    case SumAxis::kAll: {
      std::vector<double> total;  // [1]: each row left to right, then the rows, then the blocks
      blocked_sums(
          rows, 1, rows * cols,
          [&](int64_t begin, int64_t end, double* acc) {
            int64_t i = begin;
#if defined(__AVX512F__)
            for (; i + 8 <= end; i += 8) {
              alignas(64) double sums[8];
              _mm512_store_pd(sums, row_sums_8(a.x, i));
              for (double v : sums) *acc += v;
            }
#endif
            for (; i < end; ++i) *acc += row_sum(a.x, i);
          },
          total);
      store(a.y(0, 0), alpha * total[0], a.accumulate);
      return;
    }
  }
}

#if defined(__AVX512F__)
// head_dot for eight heads of width 8 at once: lane h of the result is head h's sum in the scalar
// loop's order, ((((0 + p0) + p1) + p2) ... + p7) with p_j = T(z_j a_j), taken over the columns
// of the 8 x 8 product matrix after a transpose (three rounds of two-source permutes), so each
// of the eight adds serves every head.
template <class T>
__m512d head_dot_8x8(const T* z, const T* a) {
  __m512d r[8];  // r[h] = head h's products T(z_j a_j), in double
  for (int h = 0; h < 8; ++h) {
    if constexpr (std::is_same_v<T, float>) {
      r[h] = avx512::widen(_mm256_mul_ps(_mm256_loadu_ps(z + 8 * h), _mm256_loadu_ps(a + 8 * h)));
    } else {
      r[h] = _mm512_mul_pd(_mm512_loadu_pd(z + 8 * h), _mm512_loadu_pd(a + 8 * h));
    }
  }
  avx512::transpose8(r);  // r[c]: column c of all eight heads
  __m512d acc = _mm512_setzero_pd();
  for (int c = 0; c < 8; ++c) acc = _mm512_add_pd(acc, r[c]);
  return acc;
}
#endif

template <class T>
void head_dot(const HeadDotArgs<T>& a) {
  const int64_t f = a.z.cols / a.heads;
#if defined(__AVX512F__)
  if (f == 8 && a.heads % 8 == 0) {  // GAT's heads of 8
    parallel_rows(a.z.rows, a.z.cols, [&](int64_t i) {
      const T* z = a.z.data + i * a.z.ld;  // [H*F]
      T* s = a.s.data + i * a.s.ld;        // [H]
      for (int64_t h = 0; h < a.heads; h += 8) {
        avx512::store8(s + h, head_dot_8x8(z + h * f, a.a + h * f));
      }
    });
    return;
  }
#endif
  parallel_rows(a.z.rows, a.z.cols, [&](int64_t i) {
    const T* z = a.z.data + i * a.z.ld;  // [H*F]
    for (int64_t h = 0; h < a.heads; ++h) {
      double acc = 0;
      for (int64_t j = h * f; j < (h + 1) * f; ++j) acc += static_cast<T>(z[j] * a.a[j]);
      a.s(i, h) = static_cast<T>(acc);
    }
  });
}

#if defined(__AVX512F__)
// head_dot_backward for heads of width 8, eight heads at a time, both outputs in one pass over the
// rows: per row, the gradient of each pair of heads as one 16-lane vector (g_h broadcast over its
// head's lanes), then dz = dz + g a (or g a) and the products T(g z) widened into double
// accumulators that stay in registers for a block of kSumBlockRows rows: the scalar loops' float
// operations and sums in their order (59.8 -> 17.6 us on [2708, 64], 1 thread).
void head_dot_backward_8x8(const HeadDotBackwardArgs<float>& a) {
  const int64_t rows = a.z.rows, cols = a.z.cols;
  // Lanes 0-7 take gs's lane 2q, lanes 8-15 lane 2q + 1: heads 2q and 2q + 1 of a group of 8.
  const auto pair_of = [](__m512 gs, int q) {
    const __m512i lanes = _mm512_set_epi32(2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q + 1,
                                           2 * q + 1, 2 * q + 1, 2 * q + 1, 2 * q, 2 * q, 2 * q,
                                           2 * q, 2 * q, 2 * q, 2 * q, 2 * q);
    return _mm512_maskz_permutexvar_ps(0xFFFF, lanes, gs);
  };
  std::vector<double> da;  // [H*F]; computed only when asked for
  blocked_sums(
      rows, a.da ? cols : 0, rows * cols,
      [&](int64_t begin, int64_t end, double* partial) {
        for (int64_t c0 = 0; c0 < cols; c0 += 64) {  // a group of 8 heads
          __m512 att[4];
          for (int q = 0; q < 4; ++q) att[q] = _mm512_loadu_ps(a.a + c0 + 16 * q);
          __m512d acc[8];
          for (__m512d& v : acc) v = _mm512_setzero_pd();
          for (int64_t i = begin; i < end; ++i) {
            const __m512 gs = _mm512_maskz_loadu_ps(0xFF, &a.gs(i, c0 / 8));  // lanes 8-15: 0
            const float* z = &a.z(i, c0);
            float* dz = a.dz.data ? &a.dz(i, c0) : nullptr;
            for (int q = 0; q < 4; ++q) {
              const __m512 g = pair_of(gs, q);
              if (a.da) {
                const __m512 p = _mm512_mul_ps(g, _mm512_loadu_ps(z + 16 * q));
                acc[2 * q] = _mm512_add_pd(acc[2 * q],
                                           avx512::widen(_mm512_maskz_extractf32x8_ps(0xFF, p, 0)));
                acc[2 * q + 1] = _mm512_add_pd(
                    acc[2 * q + 1], avx512::widen(_mm512_maskz_extractf32x8_ps(0xFF, p, 1)));
              }
              if (dz) {
                __m512 d = _mm512_mul_ps(g, att[q]);
                if (a.dz_accumulate) d = _mm512_add_ps(_mm512_loadu_ps(dz + 16 * q), d);
                _mm512_storeu_ps(dz + 16 * q, d);
              }
            }
          }
          if (a.da) {
            for (int k = 0; k < 8; ++k) _mm512_storeu_pd(partial + c0 + 8 * k, acc[k]);
          }
        }
      },
      da);
  for (size_t j = 0; j < da.size(); ++j) store(a.da[j], da[j], a.da_accumulate);
}
#endif

template <class T>
void head_dot_backward(const HeadDotBackwardArgs<T>& a) {
  const int64_t rows = a.z.rows, cols = a.z.cols, heads = a.heads;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (cols == 8 * heads && heads % 8 == 0) return head_dot_backward_8x8(a);
  }
#endif
  // Locals and a static head width (GAT's 8): with a's fields in the loops and a run-time width,
  // they stayed scalar.
  const T* att = a.a;
  const bool dz_accumulate = a.dz_accumulate;
  with_static_width<8, 16>(cols / heads, [&](auto width) {
    const int64_t f = static_or<decltype(width)::value>(cols / heads);
    if (a.dz.data != nullptr) {
      parallel_rows(rows, cols, [&](int64_t i) {
        const T* gs = a.gs.data + i * a.gs.ld;  // [H]
        T* dz = a.dz.data + i * a.dz.ld;        // [H*F]
        for (int64_t h = 0; h < heads; ++h) {
          const T g = gs[h];
          T* d = dz + h * f;
          const T* ah = att + h * f;
          if (dz_accumulate) {
            for (int64_t j = 0; j < f; ++j) d[j] = d[j] + g * ah[j];
          } else {
            for (int64_t j = 0; j < f; ++j) d[j] = g * ah[j];
          }
        }
      });
    }
    if (a.da != nullptr) {
      std::vector<double> da;  // [H*F]
      blocked_row_sums(
          rows, cols, rows * cols,
          [&](int64_t i, double* acc) {
            const T* gs = a.gs.data + i * a.gs.ld;  // [H]
            const T* z = a.z.data + i * a.z.ld;     // [H*F]
            for (int64_t h = 0; h < heads; ++h) {
              const T g = gs[h];
              for (int64_t j = 0; j < f; ++j) {
                acc[h * f + j] += static_cast<T>(g * z[h * f + j]);
              }
            }
          },
          da);
      for (int64_t j = 0; j < cols; ++j) store(a.da[j], da[j], a.da_accumulate);
    }
  });
}

template void head_dot<float>(const HeadDotArgs<float>&);
template void head_dot<double>(const HeadDotArgs<double>&);
template void head_dot_backward<float>(const HeadDotBackwardArgs<float>&);
template void head_dot_backward<double>(const HeadDotBackwardArgs<double>&);
template void axpby<float>(const AxpbyArgs<float>&);
template void axpby<double>(const AxpbyArgs<double>&);
template void bias_act<float>(const BiasActArgs<float>&);
template void bias_act<double>(const BiasActArgs<double>&);
template void bias_act_backward<float>(const BiasActBackwardArgs<float>&);
template void bias_act_backward<double>(const BiasActBackwardArgs<double>&);
template void unary<float>(const UnaryArgs<float>&);
template void unary<double>(const UnaryArgs<double>&);
template void binary<float>(const BinaryArgs<float>&);
template void binary<double>(const BinaryArgs<double>&);
template void reduce_sum<float>(const ReduceSumArgs<float>&);
template void reduce_sum<double>(const ReduceSumArgs<double>&);

}  // namespace gkd::kernels::cpu
