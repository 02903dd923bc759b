// CUDA entry points that have no CUDA implementation in this build: every kernel when the CUDA
// backend is not compiled, and the GKD_KERNEL_CPU_ONLY kernels otherwise. Each one throws, naming
// the kernel. This is one of the three places allowed an #ifdef for CUDA (GUIDE §4).
#include "engine/error.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

namespace gkd::kernels::cuda {

#define GKD_STUB(name, Args, reason)      \
  void name(const Args<float>&, Stream) { \
    GKD_FAIL("[" #name "] ", reason);     \
  }

#if defined(GKD_WITH_CUDA)
#define GKD_KERNEL(name, Args, doc)
#else
#define GKD_KERNEL(name, Args, doc)                                                       \
  GKD_STUB(name, Args,                                                                    \
           "this build has no CUDA backend (reconfigure with -DGKD_CUDA=ON on a machine " \
           "with nvcc)")
#endif
#define GKD_KERNEL_CPU_ONLY(name, Args, doc) \
  GKD_STUB(name, Args, "has no CUDA twin yet; run it on a CPU context")
#include "kernels/kernels.def"
#undef GKD_KERNEL_CPU_ONLY
#undef GKD_KERNEL
#undef GKD_STUB

#if !defined(GKD_WITH_CUDA)
std::span<const SpmmVariant> spmm_variants() {
  return {};
}
std::span<const SddmmVariant> sddmm_variants() {
  return {};
}
std::span<const EdgeSoftmaxVariant> edge_softmax_variants() {
  return {};
}
const SpmmVariant& spmm_variant_for(const SpmmArgs<float>&) {
  GKD_FAIL(
      "[spmm] this build has no CUDA backend (reconfigure with -DGKD_CUDA=ON on a machine "
      "with nvcc)");
}
const SddmmVariant& sddmm_variant_for(const SddmmArgs<float>&) {
  GKD_FAIL(
      "[sddmm] this build has no CUDA backend (reconfigure with -DGKD_CUDA=ON on a machine "
      "with nvcc)");
}
#endif

}  // namespace gkd::kernels::cuda
