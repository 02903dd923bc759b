// CPU twin of GEMM: Eigen's blocked product over Maps of the row-major strided views. Eigen's own
// OpenMP parallelism is switched off: it picks its blocking (and so the float rounding) from the
// thread count, and its thread hand-offs cost more than small GNN products take (a 2-thread epoch
// of the demo ran 9x slower than a 1-thread one). Instead C is cut into fixed panels of
// kPanelRows rows, each an independent serial Eigen product, spread over threads: the bits depend
// on the panel size only, never on the thread count.
//
// Narrow float products go to gemm_narrow (kernels/cpu/gemm_narrow.h) instead.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/gemm_narrow.h"
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

constexpr int64_t kPanelRows = 128;

// Rows [r0, r0 + n) of C_k = alpha op(A_k) op(B_k) + beta C_k.
template <class T>
void gemm_panel(const GemmArgs<T>& g, int64_t k, int64_t r0, int64_t n) {
  const auto a = map(g.a.data + k * g.stride_a, g.a.rows, g.a.cols, g.a.ld);  // stored A_k
  const auto b = map(g.b.data + k * g.stride_b, g.b.rows, g.b.cols, g.b.ld);  // stored B_k
  T* c_data = g.c.data + k * g.stride_c + r0 * g.c.ld;
  Map<T> c(c_data, n, g.c.cols, Eigen::OuterStride<>(n <= 1 ? g.c.cols : g.c.ld));
  // Rows of op(A): rows of A, or columns of A when transposed.
  if (!g.trans_a && !g.trans_b) product(c, a.middleRows(r0, n), b, g.alpha, g.beta);
  if (!g.trans_a && g.trans_b) product(c, a.middleRows(r0, n), b.transpose(), g.alpha, g.beta);
  if (g.trans_a && !g.trans_b) product(c, a.middleCols(r0, n).transpose(), b, g.alpha, g.beta);
  if (g.trans_a && g.trans_b) {
    product(c, a.middleCols(r0, n).transpose(), b.transpose(), g.alpha, g.beta);
  }
}

}  // namespace

template <class T>
void gemm(const GemmArgs<T>& g) {
  if (g.c.rows == 0 || g.c.cols == 0 || g.batch <= 0) return;
  const int64_t inner = g.trans_a ? g.a.rows : g.a.cols;
  const int64_t panels = (g.c.rows + kPanelRows - 1) / kPanelRows;
  const int64_t tasks = g.batch * panels;
  const bool parallel = tasks > 1 && g.batch * g.c.rows * g.c.cols * inner > (int64_t{1} << 18);
  if constexpr (std::is_same_v<T, float>) {
    if (is_narrow_gemm(g)) return gemm_narrow(g, kPanelRows, parallel);
  }
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t k = t / panels, r0 = (t % panels) * kPanelRows;
    gemm_panel(g, k, r0, std::min(kPanelRows, g.c.rows - r0));
  }
}

template void gemm<float>(const GemmArgs<float>&);
template void gemm<double>(const GemmArgs<double>&);

}  // namespace gkd::kernels::cpu
