#include <doctest/doctest.h>

#include <set>
#include <string>

#include "engine/context.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/registry.h"

TEST_CASE("registry: kernel names are unique and documented") {
  std::set<std::string> names;
  for (const auto& k : gkd::kernels::kKernels) {
    CHECK(names.insert(k.name).second);
    CHECK(std::string(k.doc).size() > 3);
  }
  CHECK(names.count("spmm") == 1);
}

TEST_CASE("registry: a CUDA entry without a usable device fails loudly, never silently") {
  if (gkd::device::cuda_device_count() > 0) return;  // covered by the gpu suite instead
  // A CUDA twin names itself when called: its launch fails without a device (or, in a build
  // without CUDA, the stub refuses). One output element, so the twin does try to launch.
  gkd::kernels::SpmmArgs<float> one{};
  one.a.rows = 1;
  one.heads = 1;
  one.y = {nullptr, 1, 1, 1};
  CHECK_THROWS_WITH_AS(gkd::kernels::cuda::spmm(one, {}), doctest::Contains("[spmm]"), gkd::Error);
  CHECK_THROWS_WITH_AS(gkd::Context::cuda(), doctest::Contains("no usable CUDA device"),
                       gkd::Error);
  CHECK(gkd::Context::auto_select().device() == gkd::Device::kCPU);
}
