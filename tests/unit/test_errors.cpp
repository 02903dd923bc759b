#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/error.h"

TEST_CASE("errors: GKD_CHECK formats every part of the message") {
  try {
    const int64_t got = 5, want = 7;
    GKD_CHECK(got == want, "[op] x has ", got, " rows (expected ", want, ")");
    FAIL("GKD_CHECK did not throw");
  } catch (const gkd::Error& e) {
    CHECK(std::string(e.what()) == "[op] x has 5 rows (expected 7)");
  }
}

TEST_CASE("errors: the log callback receives library messages") {
  std::vector<std::string> seen;
  auto previous = gkd::set_log_callback([&](gkd::LogLevel level, std::string_view m) {
    if (level == gkd::LogLevel::kInfo) seen.emplace_back(m);
  });
  gkd::log(gkd::LogLevel::kInfo, "hello");
  gkd::log(gkd::LogLevel::kDebug, "not info");
  gkd::set_log_callback(std::move(previous));
  CHECK(seen == std::vector<std::string>{"hello"});
}
