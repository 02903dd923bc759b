// doctest main for the CPU suites: library warnings fail the test run (nothing should warn), and
// gradients an op overwrites start as NaN, so an op that leaves part of one unwritten shows.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "autograd/tape.h"
#include "engine/error.h"

int main(int argc, char** argv) {
  bool warned = false;
  gkd::set_log_callback([&](gkd::LogLevel level, std::string_view message) {
    if (level < gkd::LogLevel::kWarning) return;
    std::fprintf(stderr, "unexpected library warning: %.*s\n", static_cast<int>(message.size()),
                 message.data());
    warned = true;
  });
  gkd::autograd::Tape::poison_fresh_slots = true;
  doctest::Context context(argc, argv);
  const int rc = context.run();
  return rc != 0 ? rc : (warned ? 1 : 0);
}
