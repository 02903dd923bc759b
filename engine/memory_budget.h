// Refusing work that would not fit in memory up front, with the estimate, instead of failing deep
// inside an allocation (or being killed by the kernel's OOM killer) hours later.
//
//   check_fits(Device::kCPU, "training GAT on products", estimate_bytes);
//   // gkd::Error: "training GAT on products needs about 41.3 GiB of cpu memory, but 22.8 GiB
//   //              are available (GKD_MEMORY_LIMIT or the machine's free memory)"
#pragma once

#include <cstdint>
#include <string>

#include "engine/dtype.h"

namespace gkd {

// Bytes that new allocations on `device` can use. CPU: MemAvailable from /proc/meminfo, lowered to
// what the cgroup (memory.max − memory.current, cgroup v2) still allows. CUDA: the device's free
// bytes plus the blocks gkd's allocator holds in its cache. The environment variable
// GKD_MEMORY_LIMIT (bytes, or with a K, M or G suffix) caps it on every device. 0 means unknown:
// then nothing is refused.
int64_t available_memory(Device device);

// Throws gkd::Error naming `what`, the estimate and the available memory when `bytes` exceeds it.
void check_fits(Device device, const std::string& what, int64_t bytes);

// "812 B", "3.4 MiB", "41.3 GiB", "1.6 TiB".
std::string format_bytes(int64_t bytes);

}  // namespace gkd
