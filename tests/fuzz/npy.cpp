// Fuzz target npy: gkd::io::parse_npy over the input bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/error.h"
#include "engine/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gkd::Tensor t = gkd::io::parse_npy(std::span<const uint8_t>(data, size), "fuzz.npy");
    (void)t;
  } catch (const gkd::Error&) {
  }
  return 0;
}
