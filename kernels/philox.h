// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, identical on host and device, so dropout masks and initialisations
// drawn by the CPU twin and the CUDA twin for the same (seed, stream, index) are bit-identical.
//
// Element `index` of stream `stream` under `seed` is word index % 4 of the block
// philox(counter = {index / 4 (lo, hi), stream (lo, hi)}, key = {seed lo, seed hi}).
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace gkd::kernels {

struct Philox4 {
  uint32_t v[4];
};

GKD_HD inline void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

GKD_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kW0;
      key1 += kW1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kM0, ctr.v[0], hi0, lo0);
    philox_mulhilo(kM1, ctr.v[2], hi1, lo1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
  }
  return ctr;
}

// 32 random bits for element `index` of `stream`.
GKD_HD inline uint32_t philox_bits(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t block = index >> 2;
  const Philox4 r =
      philox4x32_10(Philox4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                             static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}},
                    static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  return r.v[index & 3];
}

// Uniform in [0, 1) with 24 random bits (every value exactly representable in float).
GKD_HD inline float philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(philox_bits(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace gkd::kernels
