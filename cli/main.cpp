// The gkd command line. Exit codes: 0 success, 1 runtime error, 2 usage error.
#include <fmt/core.h>

#include <string>

#include "cli/commands.h"
#include "engine/error.h"

namespace {
constexpr const char* kUsage = R"(gkd: graph neural network training and distillation engine

usage: gkd <command> [options]

commands:
  demo   train a 2-layer GCN on the built-in synthetic graph and report accuracy
  train  train a node or graph classifier (GCN, GAT, GraphSAGE, GIN, MLP) from a config and flags
  eval   evaluate a checkpoint that train wrote
  distill  distillation: offline (kd, fitnet, lsp, mskd) or online cohorts (dml, oc, alignahead,
           alignahead++, gml), each with the student-alone baseline; no arguments: the demo
  data   `data info PATH`: validate a dataset and print its statistics
  info   build configuration, CUDA devices and the kernel list

Run `gkd <command> --help` for the options of a command.
)";
}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "demo") return gkd::cli::run_demo(argc - 1, argv + 1);
    if (cmd == "info") return gkd::cli::run_info(argc - 1, argv + 1);
    if (cmd == "train") return gkd::cli::run_train(argc - 1, argv + 1);
    if (cmd == "distill") return gkd::cli::run_distill(argc - 1, argv + 1);
    if (cmd == "eval") return gkd::cli::run_eval(argc - 1, argv + 1);
    if (cmd == "data") return gkd::cli::run_data(argc - 1, argv + 1);
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      fmt::print("{}", kUsage);
      return 0;
    }
    fmt::print(stderr, "{}{}", cmd.empty() ? "" : "gkd: unknown command '" + cmd + "'\n\n", kUsage);
    return 2;
  } catch (const gkd::cli::UsageError& e) {
    fmt::print(stderr, "gkd {}: {}\n", cmd, e.what());
    return 2;
  } catch (const gkd::Error& e) {
    fmt::print(stderr, "gkd {}: {}\n", cmd, e.what());
    return 1;
  }
}
