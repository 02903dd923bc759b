// Philox words in batches for the CPU twins that draw dropout masks (dense and sparse dropout):
// the blocks of a batch are generated in structure-of-arrays form, so the compiler vectorises the
// rounds across blocks. The words are those of kernels/philox.h's philox_bits (tested).
#pragma once

#include <cstdint>

namespace gkd::kernels::cpu {

constexpr int kPhiloxLanes = 64;  // Philox blocks per batch = 256 random words

// words[4 * l + w] = word w of Philox block (first_block + l), for l < kPhiloxLanes: philox4x32_10
// with counter {block lo, block hi, stream lo, stream hi} and key {seed lo, seed hi}.
inline void philox_words(uint64_t seed, uint64_t stream, uint64_t first_block, uint32_t* words) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0[kPhiloxLanes], c1[kPhiloxLanes], c2[kPhiloxLanes], c3[kPhiloxLanes];
  for (int l = 0; l < kPhiloxLanes; ++l) {
    const uint64_t block = first_block + static_cast<uint64_t>(l);
    c0[l] = static_cast<uint32_t>(block);
    c1[l] = static_cast<uint32_t>(block >> 32);
    c2[l] = static_cast<uint32_t>(stream);
    c3[l] = static_cast<uint32_t>(stream >> 32);
  }
  uint32_t key0 = static_cast<uint32_t>(seed), key1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kW0;
      key1 += kW1;
    }
    for (int l = 0; l < kPhiloxLanes; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(kM0) * c0[l];
      const uint64_t p1 = static_cast<uint64_t>(kM1) * c2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ key0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ key1;
      c0[l] = n0;
      c1[l] = static_cast<uint32_t>(p1);
      c2[l] = n2;
      c3[l] = static_cast<uint32_t>(p0);
    }
  }
  for (int l = 0; l < kPhiloxLanes; ++l) {
    words[4 * l] = c0[l];
    words[4 * l + 1] = c1[l];
    words[4 * l + 2] = c2[l];
    words[4 * l + 3] = c3[l];
  }
}

// philox_uniform(word) >= p: the top 24 bits as a float in [0, 1), compared in float.
inline bool keep(uint32_t word, float p) {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f) >= p;
}

}  // namespace gkd::kernels::cpu
