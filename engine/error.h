// gkd::Error and the argument checks used at the engine boundary. The library never prints and
// never exits: it throws gkd::Error with "[op] what happened (got X, expected Y)" and reports
// anything else through the log callback.
#pragma once

#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gkd {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };
using LogCallback = std::function<void(LogLevel, std::string_view)>;

// Replaces the process-wide log sink (default: warnings and errors to stderr); returns the
// previous one so a scope can restore it.
LogCallback set_log_callback(LogCallback callback);
void log(LogLevel level, std::string_view message);

namespace detail {
[[noreturn]] void throw_error(const std::string& message);

// Concatenates the message parts with operator<< so any streamable value can be named.
template <class... Parts>
std::string message(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace gkd

// GKD_CHECK(cond, "[op] x has ", n, " rows (expected ", m, ")"): throws gkd::Error when false.
// Checks stay on in release builds; they are O(1) per op (or O(n) once, at load time).
#define GKD_CHECK(cond, ...)                                                      \
  do {                                                                            \
    if (!(cond)) ::gkd::detail::throw_error(::gkd::detail::message(__VA_ARGS__)); \
  } while (0)

#define GKD_FAIL(...) ::gkd::detail::throw_error(::gkd::detail::message(__VA_ARGS__))
