#include "engine/memory_budget.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/error.h"

namespace gkd {

namespace {

// "123", "64K", "512M", "2G" (powers of 1024); anything else is a configuration error.
int64_t parse_limit(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string suffix(end);
  double scale = 1;
  if (suffix == "K" || suffix == "k") scale = 1024.0;
  if (suffix == "M" || suffix == "m") scale = 1024.0 * 1024;
  if (suffix == "G" || suffix == "g") scale = 1024.0 * 1024 * 1024;
  GKD_CHECK(end != text.c_str() && v > 0 && (suffix.empty() || scale > 1), "GKD_MEMORY_LIMIT is '",
            text, "' (expected a positive number of bytes, optionally with K, M or G)");
  return static_cast<int64_t>(v * scale);
}

// The first number of a file such as /sys/fs/cgroup/memory.max; -1 when absent or "max".
int64_t read_number(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return -1;
  char* end = nullptr;
  const long long v = std::strtoll(word.c_str(), &end, 10);
  return *end == '\0' && v >= 0 ? v : -1;
}

int64_t host_available() {
  int64_t available = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") available = kib * 1024;
  }
  const int64_t max = read_number("/sys/fs/cgroup/memory.max");
  const int64_t current = read_number("/sys/fs/cgroup/memory.current");
  if (max >= 0 && current >= 0) {
    const int64_t cgroup_left = std::max<int64_t>(max - current, 0);
    available = available > 0 ? std::min(available, cgroup_left) : cgroup_left;
  }
  return available;
}

}  // namespace

int64_t available_memory(Device device) {
  int64_t available = 0;
  if (device == Device::kCPU) {
    // Blocks the tensor cache holds are free to gkd, though not to the system (0: unknown).
    available = host_available();
    if (available > 0) available += static_cast<int64_t>(host_allocator().stats().bytes_cached);
  } else if (device::cuda_compiled() && device::cuda_device_count() > 0) {
    available =
        static_cast<int64_t>(device::cuda_free_bytes() + cuda_allocator().stats().bytes_cached);
  }
  if (const char* limit = std::getenv("GKD_MEMORY_LIMIT"); limit != nullptr && *limit != '\0') {
    const int64_t cap = parse_limit(limit);
    available = available > 0 ? std::min(available, cap) : cap;
  }
  return available;
}

void check_fits(Device device, const std::string& what, int64_t bytes) {
  const int64_t available = available_memory(device);
  GKD_CHECK(available == 0 || bytes <= available, what, " needs about ", format_bytes(bytes),
            " of ", device_name(device), " memory, but ", format_bytes(available),
            " are available (the machine's free memory, or GKD_MEMORY_LIMIT)");
}

std::string format_bytes(int64_t bytes) {
  char text[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(bytes));
  } else if (b < 1024.0 * 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", b / 1024);
  } else if (b < 1024.0 * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f MiB", b / (1024.0 * 1024));
  } else if (b < 1024.0 * 1024 * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(text, sizeof text, "%.1f TiB", b / (1024.0 * 1024 * 1024 * 1024));
  }
  return text;
}

}  // namespace gkd
