#include <fmt/core.h>

#include <string>

#include "cli/commands.h"
#include "engine/device.h"
#include "kernels/registry.h"

namespace gkd::cli {

int run_info(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    fmt::print("usage: gkd info\n");
    return 0;
  }
  if (argc > 1) throw UsageError("takes no options");
  std::string why;
  const int devices = device::cuda_device_count(&why);
  fmt::print("gkd 0.1.0\n");
  fmt::print("cuda backend: {}\n", device::cuda_compiled() ? "compiled" : "not compiled");
  fmt::print("cuda devices: {}{}\n", devices,
             devices > 0 ? " (" + device::cuda_device_name() + ")" : " (" + why + ")");
  size_t with_cuda = 0;
  for (const auto& k : kernels::kKernels) with_cuda += k.has_cuda_twin;
  fmt::print("kernels: {} ({} with a CUDA twin; `gkd-bench list` names them)\n",
             kernels::kNumKernels, with_cuda);
  return 0;
}

}  // namespace gkd::cli
