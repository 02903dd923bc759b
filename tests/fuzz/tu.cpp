// Fuzz target tu: gkd::io::load_tu over a folder built from the input. The input is a container
// of files separated by the byte '\0', in this order (an empty part: that file is absent):
//   FZ_A.txt, FZ_graph_indicator.txt, FZ_graph_labels.txt, FZ_node_labels.txt,
//   FZ_node_attributes.txt, FZ_edge_labels.txt
// The folder is read with and without node attributes.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/error.h"
#include "engine/io/tu.h"
#include "tests/fuzz/fuzz_common.h"

namespace {
constexpr const char* kFiles[] = {"A",           "graph_indicator", "graph_labels",
                                  "node_labels", "node_attributes", "edge_labels"};
constexpr size_t kNumFiles = sizeof(kFiles) / sizeof(kFiles[0]);
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts =
      gkd_fuzz::split_parts(gkd_fuzz::as_view(data, size), std::string_view("\0", 1), kNumFiles);
  gkd_fuzz::TempDir dir;
  const std::string folder = dir.path() + "/FZ";
  std::filesystem::create_directory(folder);
  for (size_t i = 0; i < kNumFiles; ++i) {
    if (!parts[i].empty()) {
      gkd_fuzz::write_file(folder + "/FZ_" + kFiles[i] + ".txt", parts[i]);
    }
  }
  for (const bool attributes : {true, false}) {
    try {
      gkd::io::TuOptions options;
      options.node_attributes = attributes;
      (void)gkd::io::load_tu(folder, options);
    } catch (const gkd::Error&) {
    }
  }
  return 0;
}
