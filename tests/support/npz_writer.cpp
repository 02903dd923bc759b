#include "tests/support/npz_writer.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace gkd::test {

void put16(Bytes& b, uint32_t v) {
  for (int i = 0; i < 2; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
namespace {
void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}
void append(Bytes& b, const std::string& more) {
  b.insert(b.end(), more.begin(), more.end());
}
}  // namespace

// A .npy file as numpy.save writes it: the dict padded with spaces so the data is 64-byte aligned.
Bytes npy(const std::string& descr, const std::string& shape, const Bytes& data,
          const std::string& fortran, int version) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  const size_t preamble = version == 1 ? 10 : 12;
  while ((preamble + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(version), 0};
  if (version == 1) {
    put16(b, static_cast<uint32_t>(dict.size()));
  } else {
    put32(b, static_cast<uint32_t>(dict.size()));
  }
  append(b, dict);
  append(b, data);
  return b;
}

// Any header text, for malformed-header cases.
Bytes npy_with_header(const std::string& dict, const Bytes& data) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(b, static_cast<uint32_t>(dict.size()));
  append(b, dict);
  append(b, data);
  return b;
}

Bytes deflate_raw(const Bytes& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&zs, in.size()));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

uint32_t crc_of(const Bytes& b) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), b.data(), static_cast<uInt>(b.size())));
}

// A zip archive as numpy.savez / savez_compressed write it: local headers with correct 32-bit
// sizes (plus a zip64 extra field), a central directory and the end record.
Bytes zip(const std::vector<Member>& members) {
  Bytes b, central;
  for (const Member& m : members) {
    const Bytes stored = m.deflate ? deflate_raw(m.data) : m.data;
    const uint32_t offset = static_cast<uint32_t>(b.size()), crc = crc_of(m.data);
    put32(b, 0x04034b50);
    put16(b, 20);                 // version needed
    put16(b, 0);                  // flags
    put16(b, m.deflate ? 8 : 0);  // method
    put32(b, 0x00210000);         // 1980-01-01 00:00
    put32(b, crc);
    put32(b, static_cast<uint32_t>(stored.size()));
    put32(b, static_cast<uint32_t>(m.data.size()));
    put16(b, static_cast<uint32_t>(m.name.size()));
    put16(b, m.zip64 ? 20 : 0);
    append(b, m.name);
    if (m.zip64) {
      put16(b, 1);
      put16(b, 16);
      put64(b, m.data.size());
      put64(b, stored.size());
    }
    append(b, stored);
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, m.deflate ? 8 : 0);
    put32(central, 0x00210000);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(stored.size()));
    put32(central, static_cast<uint32_t>(m.data.size()));
    put16(central, static_cast<uint32_t>(m.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    append(central, m.name);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(b.size());
  append(b, central);
  put32(b, 0x06054b50);
  put16(b, 0);
  put16(b, 0);
  put16(b, static_cast<uint32_t>(members.size()));
  put16(b, static_cast<uint32_t>(members.size()));
  put32(b, static_cast<uint32_t>(central.size()));
  put32(b, cd_offset);
  put16(b, 0);
  return b;
}

std::string write_temp(const std::string& name, const Bytes& bytes) {
  const auto dir = std::filesystem::temp_directory_path() / "gkd_test_npy";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace gkd::test
