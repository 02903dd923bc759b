#include "engine/error.h"

#include <cstdio>
#include <mutex>

namespace gkd {
namespace {

std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}

LogCallback& log_sink() {
  static LogCallback sink = [](LogLevel level, std::string_view message) {
    if (level < LogLevel::kWarning) return;
    std::fprintf(stderr, "gkd: %.*s\n", static_cast<int>(message.size()), message.data());
  };
  return sink;
}

}  // namespace

LogCallback set_log_callback(LogCallback callback) {
  std::lock_guard<std::mutex> lock(log_mutex());
  std::swap(log_sink(), callback);
  return callback;
}

void log(LogLevel level, std::string_view message) {
  std::lock_guard<std::mutex> lock(log_mutex());
  if (log_sink()) log_sink()(level, message);
}

namespace detail {

void throw_error(const std::string& message) {
  throw Error(message);
}

}  // namespace detail
}  // namespace gkd
