// The CUDA kernel variants side by side (GUIDE §4), for the ops that have more than one: SpMM,
// SDDMM and edge softmax. The op runs the variant its Args::variant names, else the first
// non-baseline one that supports the input and prefers it; gkd-bench and the gpu parity suite
// sweep them all. A baseline (cuSPARSE) is there to be compared against and is never picked by
// shape.
#pragma once

#include <span>

#include "kernels/edge_softmax.h"
#include "kernels/sddmm.h"
#include "kernels/spmm.h"

namespace gkd::kernels::cuda {

template <class Args>
struct KernelVariant {
  const char* name;
  const char* doc;
  bool baseline;                       // a vendor library, for comparison only
  bool (*supports)(const Args& args);  // the shapes, layouts and flags it handles
  void (*run)(const Args& args, Stream stream);
  // Among the inputs it supports, those it suits (null: all), e.g. rows long enough for a warp.
  bool (*prefers)(const Args& args) = nullptr;
};
using SpmmVariant = KernelVariant<SpmmArgs<float>>;
using SddmmVariant = KernelVariant<SddmmArgs<float>>;
using EdgeSoftmaxVariant = KernelVariant<EdgeSoftmaxArgs<float>>;

// Every variant of this build, in the order the pick tries them (empty without CUDA).
std::span<const SpmmVariant> spmm_variants();
std::span<const SddmmVariant> sddmm_variants();
std::span<const EdgeSoftmaxVariant> edge_softmax_variants();

// The variant the op runs for args: the named one (throws when unknown or when it does not
// support args), else the first non-baseline variant that supports and prefers them.
const SpmmVariant& spmm_variant_for(const SpmmArgs<float>& args);
const SddmmVariant& sddmm_variant_for(const SddmmArgs<float>& args);
const EdgeSoftmaxVariant& edge_softmax_variant_for(const EdgeSoftmaxArgs<float>& args);

}  // namespace gkd::kernels::cuda
