// Main of the gpu suite: CUDA twins against CPU twins. Before anything else it checks that every
// kernel with a CUDA twin has a parity case (that check needs no GPU); then, without a usable
// device, it exits 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

#include "engine/device.h"
#include "kernels/registry.h"
#include "tests/parity/parity_cases.h"

int main(int argc, char** argv) {
  const std::set<std::string> covered(gkd::test::kParityCovered.begin(),
                                      gkd::test::kParityCovered.end());
  int missing = 0;
  for (const auto& k : gkd::kernels::kKernels) {
    if (k.has_cuda_twin && !covered.count(k.name)) {
      std::fprintf(stderr, "kernel %s has a CUDA twin but no parity test\n", k.name);
      ++missing;
    }
  }
  if (missing > 0) return 1;
  std::string why;
  if (gkd::device::cuda_device_count(&why) == 0) {
    std::printf("no usable CUDA device (%s): skipping the gpu parity suite\n", why.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
