// The variant pick shared by the ops with variants (kernels/variants.h). Host code.
#pragma once

#include <cstring>
#include <span>
#include <string>

#include "engine/error.h"
#include "kernels/variants.h"

namespace gkd::kernels::cuda {

template <class Args>
const KernelVariant<Args>& pick_variant(std::span<const KernelVariant<Args>> variants,
                                        const Args& a, const char* op) {
  if (a.variant) {
    for (const KernelVariant<Args>& v : variants) {
      if (std::strcmp(v.name, a.variant) != 0) continue;
      GKD_CHECK(v.supports(a), "[", op, "] variant ", v.name, " does not support this input (",
                v.doc, ")");
      return v;
    }
    std::string names;
    for (const KernelVariant<Args>& v : variants) {
      names += std::string(names.empty() ? "" : ", ") + v.name;
    }
    GKD_FAIL("[", op, "] unknown variant '", a.variant, "' (expected one of ", names, ")");
  }
  for (const KernelVariant<Args>& v : variants) {
    if (!v.baseline && v.supports(a) && (!v.prefers || v.prefers(a))) return v;
  }
  GKD_FAIL("[", op, "] no variant supports this input");
}

}  // namespace gkd::kernels::cuda
