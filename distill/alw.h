// GML's adaptive logit weighting (docs/methods.md): z̃ = z ⊙ 2σ(ĥ ⊙ χφ), ĥ [n, 1] the normalised
// entropy of softmax(z) (a constant), χ [rows, h] (one row per node or per graph), φ [h, C].
// Shared by the node and the graph cohorts.
#pragma once

#include <cstdint>
#include <memory>

#include "autograd/tape.h"

namespace gkd::distill {

struct Alw {
  std::unique_ptr<autograd::Parameter> chi, phi;
};

// χ Glorot-initialised from `seed`, φ = 0: the weights start at exactly 1.
Alw make_alw(int64_t rows, int64_t rank, int64_t classes, uint64_t seed, Device device);

// z [n, C]; chi_rows [n, h] (χ's rows for these n nodes or graphs); phi [h, C].
autograd::Var alw_logits(autograd::Tape& tape, autograd::Var z, autograd::Var chi_rows,
                         autograd::Var phi);

}  // namespace gkd::distill
