// Tensor-level fused structure KL (kernels/structure.h): validate once, then run a twin.
#pragma once

#include <utility>
#include <vector>

#include "engine/context.h"
#include "engine/graph.h"
#include "engine/tensor.h"
#include "kernels/structure.h"

namespace gkd::ops {

using StructurePairs = std::vector<std::pair<Tensor, Tensor>>;  // (student [N, Ds], ref [N, Dt])

struct StructureKlOutput {
  Tensor kl;      // [Q, N] per-node KL(P_ref ‖ P_student)
  Tensor coef_s;  // [Q, E] for the backward
  Tensor coef_t;  // [Q, E]
};

// Every pair's features have the graph's N rows and one floating dtype; kernel parameters valid
// (τ, σ > 0).
StructureKlOutput structure_kl(const Context& ctx, const Graph& g, const StructurePairs& pairs,
                               const kernels::StructureKernelParams& kernel);

// dhs[q] / dht[q] (+)= the gradients of Σ dkl ⊙ kl; a null pointer (or undefined tensor) skips.
void structure_kl_backward(const Context& ctx, const Graph& g, const StructurePairs& pairs,
                           const kernels::StructureKernelParams& kernel, const Tensor& dkl,
                           const StructureKlOutput& forward, const std::vector<Tensor*>& dhs,
                           const std::vector<Tensor*>& dht);

}  // namespace gkd::ops
