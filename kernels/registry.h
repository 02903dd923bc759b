// Declarations of both twins of every kernel in kernels.def, and the kernel table.
#pragma once

#include <cstddef>

#include "kernels/cohort.h"
#include "kernels/common.h"
#include "kernels/dense.h"
#include "kernels/edge_softmax.h"
#include "kernels/gemm.h"
#include "kernels/loss.h"
#include "kernels/memory.h"
#include "kernels/norm.h"
#include "kernels/optim.h"
#include "kernels/sddmm.h"
#include "kernels/segment.h"
#include "kernels/sparse.h"
#include "kernels/spmm.h"
#include "kernels/structure.h"

namespace gkd::kernels {

namespace cpu {
#define GKD_KERNEL(name, Args, doc) \
  template <class T>                \
  void name(const Args<T>& args);
#define GKD_KERNEL_CPU_ONLY GKD_KERNEL
#include "kernels/kernels.def"
#undef GKD_KERNEL_CPU_ONLY
#undef GKD_KERNEL
}  // namespace cpu

namespace cuda {
#define GKD_KERNEL(name, Args, doc) void name(const Args<float>& args, Stream stream);
#define GKD_KERNEL_CPU_ONLY GKD_KERNEL
#include "kernels/kernels.def"
#undef GKD_KERNEL_CPU_ONLY
#undef GKD_KERNEL
}  // namespace cuda

struct KernelInfo {
  const char* name;
  const char* doc;
  bool has_cuda_twin;
};

inline constexpr KernelInfo kKernels[] = {
#define GKD_KERNEL(name, Args, doc) {#name, doc, true},
#define GKD_KERNEL_CPU_ONLY(name, Args, doc) {#name, doc, false},
#include "kernels/kernels.def"
#undef GKD_KERNEL_CPU_ONLY
#undef GKD_KERNEL
};
inline constexpr size_t kNumKernels = sizeof(kKernels) / sizeof(kKernels[0]);

}  // namespace gkd::kernels
