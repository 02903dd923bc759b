// The gkd subcommands; each returns the process exit code.
#pragma once

#include <stdexcept>

namespace gkd::cli {

// Bad command-line usage: main() prints it and exits with code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int run_demo(int argc, char** argv);
int run_info(int argc, char** argv);
int run_train(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_distill(int argc, char** argv);
int run_data(int argc, char** argv);

}  // namespace gkd::cli
