// Fuzz target npz: gkd::io::parse_npz over the input bytes, then the node-dataset loader
// (load_node_npz) over the same bytes written to a temporary file, with two option sets.
//
// The first byte selects the mode; the rest is the archive. Even: used as is. Odd: the CRC-32 in
// each local header of a stored member is recomputed first (walking the headers from offset 0 as
// the reader does), so that mutations of the .npy members reach the .npy parser and the dataset
// checks instead of dying at the checksum.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/error.h"
#include "engine/io/node_dataset.h"
#include "engine/io/npy.h"
#include "tests/fuzz/fuzz_common.h"

namespace {
uint64_t le(const std::string& b, size_t off, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(b[off + i])} << (8 * i);
  return v;
}

void fix_crcs(std::string& b) {
  size_t off = 0;
  while (off + 30 <= b.size() && le(b, off, 4) == 0x04034b50) {
    const uint64_t method = le(b, off + 8, 2), csize = le(b, off + 18, 4);
    const uint64_t name_len = le(b, off + 26, 2), extra_len = le(b, off + 28, 2);
    const uint64_t data = off + 30 + name_len + extra_len;
    if (data > b.size() || csize > b.size() - data) return;
    if (method == 0) {
      const auto crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                                   reinterpret_cast<const Bytef*>(b.data() + data),
                                                   static_cast<uInt>(csize)));
      for (int i = 0; i < 4; ++i) b[off + 14 + i] = static_cast<char>(crc >> (8 * i));
    }
    off = data + csize;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) fix_crcs(bytes);
  try {
    (void)gkd::io::parse_npz(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        "fuzz.npz");
  } catch (const gkd::Error&) {
    return 0;  // the file loader reads the same bytes: it would fail the same way
  }
  gkd_fuzz::TempDir dir;
  const std::string path = dir.path() + "/fuzz.npz";
  gkd_fuzz::write_file(path, bytes);
  try {
    (void)gkd::io::load_node_npz(path);
  } catch (const gkd::Error&) {
  }
  try {
    gkd::io::NodeNpzOptions options;
    options.features = gkd::io::FeatureTransform::kRowNormalize;
    options.split = gkd::io::SplitKind::kPerClass;
    options.per_class.train_per_class = 1;
    options.per_class.val_per_class = 1;
    (void)gkd::io::load_node_npz(path, options);
  } catch (const gkd::Error&) {
  }
  return 0;
}
