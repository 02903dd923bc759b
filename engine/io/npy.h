// Readers for NumPy's .npy arrays and .npz archives (numpy.save / savez / savez_compressed), the
// container of the converted datasets under shared/data (see data/README.md).
//
// Supported: .npy versions 1-3, C order, little-endian (or byte-order-free) descr '<f4', '<f8',
// '<i4', '<i8', '|b1' (bool, read as u8 0/1) and '|u1', with at most 2 dimensions: a 1-D array [n]
// becomes an [n, 1] tensor and a 0-D scalar a [1, 1] tensor. .npz members may be stored (method 0)
// or deflated (method 8); zip64 extra fields are honoured.
//
// Every field is validated before anything is allocated: no read leaves the file, and a tensor is
// allocated only once the bytes it will hold are known to be in the file (a header claiming 10^12
// elements in a 1 KB file is an error, not an allocation). Errors are gkd::Error naming the file,
// the member and the field, e.g.
//   "cora.npz: member x_indices.npy: data has 1000 bytes (expected 4 * 10138 = 40552)".
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "engine/tensor.h"

namespace gkd::io {

// One .npy file, as a CPU tensor.
Tensor read_npy(const std::string& path);

// Every member of a .npz archive, keyed by its name without the ".npy" suffix ("edge_index").
// Each member's CRC-32 is checked and the central directory must agree with the local headers.
std::map<std::string, Tensor> read_npz(const std::string& path);

// The same from bytes in memory; `where` opens every error message (a path, or "x.npz: member y").
Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& where);
std::map<std::string, Tensor> parse_npz(std::span<const uint8_t> bytes, const std::string& where);

}  // namespace gkd::io
