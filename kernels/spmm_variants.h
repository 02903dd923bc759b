// The CUDA SpMM variants side by side (GUIDE §4). kernels::cuda::spmm runs the one named by
// SpmmArgs::variant, else the one spmm_variant_for picks by shape; gkd-bench and the gpu parity
// suite sweep them all. A baseline (cuSPARSE) is there to be compared against and is never picked
// by shape.
#pragma once

#include <span>

#include "kernels/spmm.h"

namespace gkd::kernels::cuda {

struct SpmmVariant {
  const char* name;
  const char* doc;
  bool baseline;                                  // a vendor library, for comparison only
  bool (*supports)(const SpmmArgs<float>& args);  // the shapes, layouts and flags it handles
  void (*run)(const SpmmArgs<float>& args, Stream stream);
};

// Every variant of this build, fastest-first within each shape class (empty without CUDA).
std::span<const SpmmVariant> spmm_variants();

// The variant spmm runs for args: the named one (throws when unknown or when it does not support
// args), else the first non-baseline variant that supports them.
const SpmmVariant& spmm_variant_for(const SpmmArgs<float>& args);

}  // namespace gkd::kernels::cuda
