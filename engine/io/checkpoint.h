// Checkpoints: caller-defined metadata text and named tensors in one file, written atomically and
// read back with every field validated.
//
// Format version 1, little-endian:
//   header, 28 bytes
//      0  8  magic "GKDCKPT\0"
//      8  4  u32 format version (1)
//     12  4  u32 flags (0: none are defined; a reader rejects any other value)
//     16  8  u64 payload length (the file size minus 28)
//     24  4  u32 CRC-32 of the payload (zlib's crc32)
//   payload
//     u64 metadata length, then the metadata bytes
//     u64 tensor count, then per tensor, in insertion order:
//       u32 name length (1 to 4096), then the name bytes (unique within the file)
//       u8  dtype code: 1 f32, 2 f64, 3 i32, 4 i64, 5 u8 (fixed on disk, whatever DType's values)
//       i64 rows, i64 cols
//       rows * cols * element size bytes: the values, row-major and contiguous
//
// The reader checks the header, then the checksum, then parses, comparing every length, count and
// shape with the payload bytes that remain before allocating anything: a corrupt or crafted file
// raises gkd::Error naming the file and the field, e.g.
//   "m.ckpt: field tensor[3].rows: 4611686018427387904 (expected at most 12: ...)",
// never a huge allocation or a read past the end.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace gkd::io {

inline constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string metadata;  // caller-defined, typically JSON (model config, epoch, options)
  // Any dtype and device; a loaded checkpoint holds contiguous CPU tensors.
  std::vector<std::pair<std::string, Tensor>> tensors;

  // The tensor named `name`; throws gkd::Error listing the names present when there is none.
  const Tensor& tensor(const std::string& name) const;
  bool has(const std::string& name) const;
};

// Writes "<path>.tmp-<pid>" in the same directory, fsyncs it, renames it over `path` and fsyncs
// the directory, so a crash or an error leaves either the previous file or the new one, never a
// mix. On failure the temporary is removed and gkd::Error names the path and the failing step,
// e.g. "run/model.ckpt: cannot write (No space left on device)".
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

Checkpoint load_checkpoint(const std::string& path);

}  // namespace gkd::io
