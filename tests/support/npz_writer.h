// Byte-exact writers of .npy files and .npz (zip) archives as numpy.save / savez write them, for
// fixture tests that need no numpy: valid files, and malformed variants built from the same parts.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace gkd::test {

using Bytes = std::vector<uint8_t>;

// The raw little-endian bytes of `values`.
template <class T>
Bytes raw(const std::vector<T>& values) {
  Bytes out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

void put16(Bytes& b, uint32_t v);
void put32(Bytes& b, uint32_t v);
void put64(Bytes& b, uint64_t v);

// A .npy file: descr such as "<f4", shape such as "(2, 3)" or "(5,)"; the dict padded with spaces
// so the data is 64-byte aligned, as numpy does.
Bytes npy(const std::string& descr, const std::string& shape, const Bytes& data,
          const std::string& fortran = "False", int version = 1);
// Any header text, for malformed-header cases.
Bytes npy_with_header(const std::string& dict, const Bytes& data = {});

// Raw deflate (zip method 8) of `in`.
Bytes deflate_raw(const Bytes& in);

struct Member {
  std::string name;
  Bytes data;            // the uncompressed .npy bytes
  bool deflate = false;  // method 8 instead of 0
  bool zip64 = true;     // numpy's 20-byte zip64 extra field in the local header
};
// A zip archive: local headers with correct 32-bit sizes (plus a zip64 extra field), a central
// directory and the end record.
Bytes zip(const std::vector<Member>& members);

// Writes bytes to <tmp>/gkd_test_npy/<name> and returns the path.
std::string write_temp(const std::string& name, const Bytes& bytes);

}  // namespace gkd::test
