// CPU twin of GEMM: Eigen's blocked product over Maps of the row-major strided views. Eigen
// parallelises one large product itself (OpenMP) by splitting C into static panels, so runs with
// the same thread count give the same bits; the K blocking it picks (and with it the float
// rounding) may differ between a serial and a parallel run. A batch of small products runs one item
// per thread instead (Eigen stays serial inside a parallel region).
#include <Eigen/Core>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using Map = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// A one-row view may carry any ld; Eigen wants a stride >= cols for its checks.
template <class T>
ConstMap<T> map(const T* data, int64_t rows, int64_t cols, int64_t ld) {
  return ConstMap<T>(data, rows, cols, Eigen::OuterStride<>(rows <= 1 ? cols : ld));
}

template <class T, class OpA, class OpB>
void product(Map<T>& c, const OpA& a, const OpB& b, T alpha, T beta) {
  if (beta == T(0)) {
    c.noalias() = alpha * a * b;  // never reads C
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * a * b;
  }
}

template <class T>
void gemm_one(const GemmArgs<T>& g, int64_t k) {
  const T* a_data = g.a.data + k * g.stride_a;
  const T* b_data = g.b.data + k * g.stride_b;
  T* c_data = g.c.data + k * g.stride_c;
  const auto a = map(a_data, g.a.rows, g.a.cols, g.a.ld);  // stored A_k
  const auto b = map(b_data, g.b.rows, g.b.cols, g.b.ld);  // stored B_k
  Map<T> c(c_data, g.c.rows, g.c.cols, Eigen::OuterStride<>(g.c.rows <= 1 ? g.c.cols : g.c.ld));
  if (!g.trans_a && !g.trans_b) product(c, a, b, g.alpha, g.beta);
  if (!g.trans_a && g.trans_b) product(c, a, b.transpose(), g.alpha, g.beta);
  if (g.trans_a && !g.trans_b) product(c, a.transpose(), b, g.alpha, g.beta);
  if (g.trans_a && g.trans_b) product(c, a.transpose(), b.transpose(), g.alpha, g.beta);
}

}  // namespace

template <class T>
void gemm(const GemmArgs<T>& g) {
  if (g.c.rows == 0 || g.c.cols == 0 || g.batch <= 0) return;
  const int64_t inner = g.trans_a ? g.a.rows : g.a.cols;
  const int64_t flops_per_item = g.c.rows * g.c.cols * inner;
  // Many small items: one per thread. Otherwise items in turn, each parallelised by Eigen.
  const bool per_item_threads = g.batch > 1 && flops_per_item < (int64_t{1} << 21);
#pragma omp parallel for schedule(static) if (per_item_threads)
  for (int64_t k = 0; k < g.batch; ++k) gemm_one(g, k);
}

template void gemm<float>(const GemmArgs<float>&);
template void gemm<double>(const GemmArgs<double>&);

}  // namespace gkd::kernels::cpu
