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

// ---- fused cohort class KL (kernels/cohort.h)

struct CohortKlOutput {
  Tensor kl;     // [K, N]
  Tensor probs;  // [K·N, C] for the backward
};
// logits: K >= 1 tensors [N, C] of one floating dtype; temperature > 0.
CohortKlOutput cohort_kl(const Context& ctx, const std::vector<Tensor>& logits, double temperature);
// dlogits[m] (+)= the gradient of Σ_v dkl[m, v] kl[m, v] with respect to student m's logits
// (peers fixed); a null pointer or an undefined tensor skips that student.
void cohort_kl_backward(const Context& ctx, const CohortKlOutput& forward, double temperature,
                        const Tensor& dkl, const std::vector<Tensor*>& dlogits);

}  // namespace gkd::ops
