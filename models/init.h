// Parameter initialisation through the shared Philox generator (kernels/philox.h), so a seed gives
// the same weights on every machine and backend.
#pragma once

#include <cstdint>
#include <string>

#include "autograd/tape.h"

namespace gkd::models {

// Glorot/Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)), for a [rows, cols]
// weight (fan_in = rows, fan_out = cols unless given). Element k draws philox(seed, stream, k).
autograd::Parameter glorot_uniform(std::string name, int64_t rows, int64_t cols, uint64_t seed,
                                   uint64_t stream, double gain = 1.0, int64_t fan_in = 0,
                                   int64_t fan_out = 0);
autograd::Parameter zeros(std::string name, int64_t rows, int64_t cols);
autograd::Parameter ones(std::string name, int64_t rows, int64_t cols);

}  // namespace gkd::models
