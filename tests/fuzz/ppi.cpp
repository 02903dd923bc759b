// Fuzz target ppi: gkd::io::load_ppi over a folder built from the input. The .npy members hold
// zero bytes, so the container's parts are separated by the 13-byte line "\n==GKDPART==\n" (see
// fuzz.dict) instead of '\0'. Twelve parts, an empty one meaning that file is absent:
//   train_graph.json, train_feats.npy, train_labels.npy, train_graph_id.npy, then the same four
//   for valid and for test.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"
#include "engine/io/ppi.h"
#include "tests/fuzz/fuzz_common.h"

namespace {
constexpr const char* kSplits[] = {"train", "valid", "test"};
constexpr const char* kSuffixes[] = {"_graph.json", "_feats.npy", "_labels.npy", "_graph_id.npy"};
constexpr std::string_view kSeparator = "\n==GKDPART==\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = gkd_fuzz::split_parts(gkd_fuzz::as_view(data, size), kSeparator, 12);
  gkd_fuzz::TempDir dir;
  size_t i = 0;
  for (const char* split : kSplits) {
    for (const char* suffix : kSuffixes) {
      if (!parts[i].empty()) {
        gkd_fuzz::write_file(dir.path() + "/" + split + suffix, parts[i]);
      }
      ++i;
    }
  }
  try {
    (void)gkd::io::load_ppi(dir.path());
  } catch (const gkd::Error&) {
  }
  return 0;
}
