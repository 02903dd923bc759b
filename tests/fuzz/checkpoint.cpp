// Fuzz target checkpoint: gkd::io::load_checkpoint over a file, then, when it loads, the metadata
// check of `gkd eval` (cli::read_checkpoint_info).
//
// The first byte selects the mode; the rest is the file. Even: written as is. Odd: the header's
// payload length and CRC-32 are recomputed first (when the rest holds the 28-byte header), so that
// mutations reach the payload parser and the metadata instead of dying at the checksum.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/commands.h"
#include "cli/train_common.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kHeader = 28;
  if ((data[0] & 1) && file.size() >= kHeader) {
    const uint64_t payload = file.size() - kHeader;
    for (size_t i = 0; i < 8; ++i) file[16 + i] = static_cast<char>(payload >> (8 * i));
    const uint32_t crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(file.data() + kHeader),
              static_cast<uInt>(payload)));
    for (size_t i = 0; i < 4; ++i) file[24 + i] = static_cast<char>(crc >> (8 * i));
  }
  gkd_fuzz::TempDir dir;
  const std::string path = dir.path() + "/fuzz.ckpt";
  gkd_fuzz::write_file(path, file);
  try {
    (void)gkd::io::load_checkpoint(path);
  } catch (const gkd::Error&) {
    return 0;
  }
  try {
    (void)gkd::cli::read_checkpoint_info(path);
  } catch (const gkd::Error&) {
  } catch (const gkd::cli::UsageError&) {
  }
  return 0;
}
