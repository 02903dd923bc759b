// What the ops with variants share (kernels/variants.h): the pick, and a supports() for
// variants that take any input. Host code.
#pragma once

#include <cstring>
#include <span>
#include <string>

#include "engine/error.h"
#include "kernels/variants.h"

namespace gkd::kernels::cuda {

// The supports() of a variant that handles every input of its op.
template <class Args>
bool any_input(const Args&) {
  return true;
}

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
