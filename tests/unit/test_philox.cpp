#include <doctest/doctest.h>

#include "kernels/philox.h"

using gkd::kernels::Philox4;
using gkd::kernels::philox4x32_10;

TEST_CASE("philox: Random123 known-answer vectors for philox4x32-10") {
  struct Kat {
    Philox4 ctr;
    uint32_t key0, key1;
    Philox4 want;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff,
       0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822,
       0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const Philox4 got = philox4x32_10(k.ctr, k.key0, k.key1);
    for (int i = 0; i < 4; ++i) CHECK(got.v[i] == k.want.v[i]);
  }
}

TEST_CASE("philox: streams and seeds are independent, uniforms lie in [0, 1)") {
  using gkd::kernels::philox_bits;
  using gkd::kernels::philox_uniform;
  CHECK(philox_bits(1, 0, 0) != philox_bits(2, 0, 0));
  CHECK(philox_bits(1, 0, 0) != philox_bits(1, 1, 0));
  CHECK(philox_bits(1, 0, 5) == philox_bits(1, 0, 5));
  double sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const float u = philox_uniform(42, 3, i);
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    sum += u;
  }
  CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
}
