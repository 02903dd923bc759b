// gkd-bench gpu: CUDA kernels and their variants checked against the CPU twin, then timed.
#pragma once

#include <string>

namespace gkd::bench {

// `gkd-bench gpu OP ...` (usage in bench_main.cpp); returns the process exit code.
int run_gpu(const std::string& op, int argc, char** argv);

}  // namespace gkd::bench
