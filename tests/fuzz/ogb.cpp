// Fuzz target ogb: gkd::io::load_ogb_graph over a dataset folder built from the input.
//
// The first byte selects the mode:
//  - even: the rest is a container of the nine CSV files separated by the byte '\0', in the order
//    of kFiles below; each part is written gzip-compressed (an empty part: the file is absent), so
//    the fuzzer mutates the CSV text.
//  - odd: the second byte picks one of the nine files (modulo 9) and the rest of the input is
//    written to it as is (the raw .gz bytes: this fuzzes the gzip layer); the other eight files
//    hold a small valid dataset.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/error.h"
#include "engine/io/ogb.h"
#include "tests/fuzz/fuzz_common.h"

namespace {
constexpr const char* kFiles[] = {"raw/num-node-list.csv.gz",    "raw/num-edge-list.csv.gz",
                                  "raw/node-feat.csv.gz",        "raw/edge.csv.gz",
                                  "raw/edge-feat.csv.gz",        "raw/graph-label.csv.gz",
                                  "split/scaffold/train.csv.gz", "split/scaffold/valid.csv.gz",
                                  "split/scaffold/test.csv.gz"};
constexpr size_t kNumFiles = sizeof(kFiles) / sizeof(kFiles[0]);

// Two molecules (3 and 2 atoms, 2 and 1 bonds), one per split entry.
constexpr const char* kValid[kNumFiles] = {
    "3\n2\n",
    "2\n1\n",
    "6,0,4,5,3,0,2,0,0\n8,0,2,5,0,0,1,0,0\n7,0,3,5,1,0,2,1,1\n"
    "6,0,4,5,3,0,2,0,0\n6,0,4,5,2,0,2,0,0\n",
    "0,1\n1,2\n0,1\n",
    "0,0,0\n1,0,1\n0,0,0\n",
    "1\n0\n",
    "0\n",
    "1\n",
    ""};

void write_gz(const std::string& path, std::string_view text) {
  gzFile f = gzopen(path.c_str(), "wb1");
  if (!f) std::abort();
  if (!text.empty() && gzwrite(f, text.data(), static_cast<unsigned>(text.size())) <= 0) {
    std::abort();
  }
  gzclose(f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool raw_mode = data[0] & 1;
  gkd_fuzz::TempDir dir;
  const std::string folder = dir.path() + "/ogbg_fuzz";
  std::filesystem::create_directories(folder + "/raw");
  std::filesystem::create_directories(folder + "/split/scaffold");
  if (!raw_mode) {
    const auto parts = gkd_fuzz::split_parts(gkd_fuzz::as_view(data + 1, size - 1),
                                             std::string_view("\0", 1), kNumFiles);
    for (size_t i = 0; i < kNumFiles; ++i) {
      if (!parts[i].empty()) write_gz(folder + "/" + kFiles[i], parts[i]);
    }
  } else {
    if (size < 2) return 0;
    const size_t pick = data[1] % kNumFiles;
    for (size_t i = 0; i < kNumFiles; ++i) {
      if (i == pick) {
        gkd_fuzz::write_file(folder + "/" + kFiles[i], gkd_fuzz::as_view(data + 2, size - 2));
      } else {
        write_gz(folder + "/" + kFiles[i], kValid[i]);
      }
    }
  }
  try {
    (void)gkd::io::load_ogb_graph(folder);
  } catch (const gkd::Error&) {
  }
  return 0;
}
