// A standalone driver for the fuzz harnesses, for builds without libFuzzer (any compiler): calls
// LLVMFuzzerTestOneInput once per file named on the command line, or per regular file inside each
// directory named (sorted, not recursive). Exits 0 when every input ran; a crash or an escaping
// exception ends the process, naming the input on stderr first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
int run_one(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return 1;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replay: %s: uncaught exception: %s\n", file.c_str(), e.what());
    return 1;
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int failures = 0, runs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) failures += run_one(f), ++runs;
    } else if (std::filesystem::exists(arg, ec)) {
      failures += run_one(arg), ++runs;
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory (skipped)\n", argv[i]);
    }
  }
  std::fprintf(stderr, "replay: %d input(s), %d failure(s)\n", runs, failures);
  return failures == 0 ? 0 : 1;
}
