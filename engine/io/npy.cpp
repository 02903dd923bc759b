// .npy / .npz readers. A zip archive is walked through its local headers from offset 0 (numpy
// writes no data descriptors, so each header holds the member's sizes), then the central directory
// and end record are checked against what was read, so truncation anywhere is detected.
#include "engine/io/npy.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string_view>
#include <vector>

#include "engine/error.h"

namespace gkd::io {

static_assert(std::endian::native == std::endian::little, "the readers copy little-endian data");

namespace {

// n bytes starting at `offset` lie inside a buffer of `size` bytes (no overflow).
bool fits(uint64_t offset, uint64_t n, uint64_t size) {
  return offset <= size && n <= size - offset;
}

template <class U>
U load_le(std::span<const uint8_t> b, uint64_t offset) {  // caller checked fits(offset, sizeof U)
  U value = 0;
  for (size_t i = 0; i < sizeof(U); ++i) value |= static_cast<U>(b[offset + i]) << (8 * i);
  return value;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// ---- .npy header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2708, 1433), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

  Header parse() {
    Header h;
    bool seen[3] = {false, false, false};
    skip_ws();
    expect('{', "the header is not a dict");
    skip_ws();
    while (!consume('}')) {
      const std::string key = parse_string("a dict key");
      skip_ws();
      expect(':', "expected ':' after key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        GKD_CHECK(peek() == '\'' || peek() == '"', where_,
                  ": header field 'descr' is not a simple type string (structured dtypes are "
                  "not supported)");
        h.descr = parse_string("descr");
        mark(seen[0], key);
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
        mark(seen[1], key);
      } else if (key == "shape") {
        h.shape = parse_shape();
        mark(seen[2], key);
      } else {
        GKD_FAIL(where_, ": header has unexpected key '", key,
                 "' (expected descr, fortran_order, shape)");
      }
      skip_ws();
      if (!consume(',')) {
        skip_ws();
        expect('}', "expected ',' or '}' after the value of '" + key + "'");
        break;
      }
      skip_ws();
    }
    skip_ws();
    GKD_CHECK(pos_ == s_.size(), where_, ": header has trailing characters after the dict");
    GKD_CHECK(seen[0] && seen[1] && seen[2], where_,
              ": header lacks a key (expected descr, fortran_order and shape)");
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool consume(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const std::string& what) {
    GKD_CHECK(consume(c), where_, ": header: ", what, " (at character ", pos_, ")");
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void mark(bool& seen, const std::string& key) {
    GKD_CHECK(!seen, where_, ": header repeats key '", key, "'");
    seen = true;
  }
  std::string parse_string(const char* what) {
    const char quote = peek();
    GKD_CHECK(quote == '\'' || quote == '"', where_, ": header: expected a quoted string for ",
              what, " (at character ", pos_, ")");
    const size_t end = s_.find(quote, pos_ + 1);
    GKD_CHECK(end != std::string_view::npos, where_, ": header: unterminated string for ", what);
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    for (char c : out) {
      GKD_CHECK(c >= 0x20 && c < 0x7f && c != '\\', where_, ": header: unsupported character in ",
                what);
    }
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    for (const bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (s_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    GKD_FAIL(where_, ": header field 'fortran_order' is not True or False");
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(', "header field 'shape' is not a tuple");
    skip_ws();
    bool trailing_comma = false;
    while (!consume(')')) {
      GKD_CHECK(peek() >= '0' && peek() <= '9', where_,
                ": header field 'shape' holds something other than non-negative integers");
      int64_t dim = 0;
      int digits = 0;
      while (peek() >= '0' && peek() <= '9') {
        GKD_CHECK(++digits <= 18, where_, ": header field 'shape' has a dimension over 10^18");
        dim = dim * 10 + (s_[pos_++] - '0');
      }
      shape.push_back(dim);
      skip_ws();
      trailing_comma = consume(',');
      skip_ws();
      if (!trailing_comma) {
        expect(')', "expected ',' or ')' in 'shape'");
        break;
      }
    }
    GKD_CHECK(shape.size() != 1 || trailing_comma, where_,
              ": header field 'shape' is not a tuple (a 1-tuple needs a trailing comma)");
    return shape;
  }

  std::string_view s_;
  const std::string& where_;
  size_t pos_ = 0;
};

struct ElementType {
  DType dtype;
  uint64_t size;
  bool is_bool;
};

ElementType element_type(const std::string& descr, const std::string& where) {
  if (descr == "<f4") return {DType::kF32, 4, false};
  if (descr == "<f8") return {DType::kF64, 8, false};
  if (descr == "<i4") return {DType::kI32, 4, false};
  if (descr == "<i8") return {DType::kI64, 8, false};
  if (descr == "|b1") return {DType::kU8, 1, true};
  if (descr == "|u1") return {DType::kU8, 1, false};
  GKD_CHECK(descr.empty() || descr[0] != '>', where, ": descr '", descr,
            "' is big-endian (only little-endian data is supported; save with astype('<",
            descr.substr(1), "'))");
  GKD_FAIL(where, ": unknown descr '", descr, "' (expected one of <f4, <f8, <i4, <i8, |b1, |u1)");
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  }
  return out + ")";
}

// ---- zip records (APPNOTE.TXT 4.3)
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kEnd = 0x06054b50;
constexpr uint32_t kSizeInZip64 = 0xffffffffu;  // the real size is in the zip64 extra field
constexpr uint64_t kMaxDeflateRatio = 1032;     // deflate cannot expand more than ~1032:1

// Replaces 0xffffffff sizes with the zip64 extra field's values (id 0x0001: uncompressed size,
// then compressed size, each present only when its 32-bit field is 0xffffffff).
void apply_zip64(std::span<const uint8_t> extra, uint64_t& usize, uint64_t& csize,
                 const std::string& where) {
  uint64_t off = 0;
  while (off < extra.size()) {
    GKD_CHECK(fits(off, 4, extra.size()), where, ": extra field header truncated");
    const uint16_t id = load_le<uint16_t>(extra, off), len = load_le<uint16_t>(extra, off + 2);
    GKD_CHECK(fits(off + 4, len, extra.size()), where, ": extra field 0x", hex(id).substr(6),
              " claims ", len, " bytes, past the end of the extra data");
    if (id == 0x0001) {
      uint64_t field = off + 4;
      for (uint64_t* size : {&usize, &csize}) {
        if (*size != kSizeInZip64) continue;
        GKD_CHECK(fits(field, 8, off + 4 + len), where, ": zip64 extra field is too short");
        *size = load_le<uint64_t>(extra, field);
        field += 8;
      }
    }
    off += 4 + len;
  }
}

// Raw deflate (zip method 8) into exactly `usize` bytes.
std::vector<uint8_t> inflate_member(std::span<const uint8_t> in, uint64_t usize,
                                    const std::string& where) {
  GKD_CHECK(usize <= in.size() * kMaxDeflateRatio + 64, where, ": claims ", usize,
            " uncompressed bytes from ", in.size(), " deflated ones (more than deflate expands)");
  GKD_CHECK(
      usize < std::numeric_limits<uInt>::max() && in.size() < std::numeric_limits<uInt>::max(),
      where, ": deflated members of 4 GiB or more are not supported");
  std::vector<uint8_t> out(usize);
  z_stream zs{};
  GKD_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, where, ": zlib inflateInit2 failed");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  uint8_t spare = 0;  // a 1-byte window past the end reveals streams longer than claimed
  zs.next_out = usize > 0 ? out.data() : &spare;
  zs.avail_out = usize > 0 ? static_cast<uInt>(usize) : 1;
  const int ret = inflate(&zs, Z_FINISH);
  const std::string msg = zs.msg ? zs.msg : "";
  const uint64_t produced = zs.total_out, left_in = zs.avail_in, room = zs.avail_out;
  inflateEnd(&zs);
  GKD_CHECK(ret != Z_DATA_ERROR, where, ": corrupt deflate data (", msg, ")");
  GKD_CHECK(ret == Z_STREAM_END || room != 0, where, ": inflates to more than the ", usize,
            " bytes its header claims");
  GKD_CHECK(ret == Z_STREAM_END, where, ": deflate stream ends early (truncated member?)");
  GKD_CHECK(produced == usize, where, ": inflates to ", produced, " bytes (header claims ", usize,
            ")");
  GKD_CHECK(left_in == 0, where, ": ", left_in, " bytes follow the end of the deflate stream");
  return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  GKD_CHECK(std::filesystem::is_regular_file(path, ec), path, ": not a readable file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  GKD_CHECK(!ec, path, ": cannot read its size (", ec.message(), ")");
  std::vector<uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  GKD_CHECK(in.good(), path, ": cannot open");
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  GKD_CHECK(static_cast<uint64_t>(in.gcount()) == size, path, ": read ", in.gcount(), " of ", size,
            " bytes");
  return bytes;
}

}  // namespace

Tensor parse_npy(std::span<const uint8_t> b, const std::string& where) {
  static constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  GKD_CHECK(b.size() >= 10, where, ": truncated: ", b.size(),
            " bytes is shorter than the 10-byte .npy preamble");
  GKD_CHECK(std::memcmp(b.data(), kMagic, 6) == 0, where, ": bad magic (not a .npy file)");
  const int major = b[6];
  GKD_CHECK(major >= 1 && major <= 3, where, ": unsupported .npy version ", major, ".", int(b[7]));
  const uint64_t start = major == 1 ? 10 : 12;
  GKD_CHECK(fits(0, start, b.size()), where, ": truncated in the .npy preamble");
  const uint64_t header_len = major == 1 ? load_le<uint16_t>(b, 8) : load_le<uint32_t>(b, 8);
  GKD_CHECK(fits(start, header_len, b.size()), where, ": truncated: the header claims ", header_len,
            " bytes but ", b.size() - start, " remain");
  const std::string_view text(reinterpret_cast<const char*>(b.data() + start), header_len);
  const Header h = HeaderParser(text, where).parse();
  const ElementType type = element_type(h.descr, where);
  GKD_CHECK(!h.fortran_order, where,
            ": fortran_order is True (only C order is supported; save np.ascontiguousarray(a))");
  GKD_CHECK(h.shape.size() <= 2, where, ": shape ", shape_string(h.shape), " has ", h.shape.size(),
            " dimensions (at most 2 are supported)");
  const uint64_t data_bytes = b.size() - start - header_len;
  // The element count is compared with what the file holds before anything is allocated.
  uint64_t numel = 1, expected = 0;
  bool overflow = false;
  for (int64_t d : h.shape) overflow |= __builtin_mul_overflow(numel, uint64_t(d), &numel);
  overflow |= __builtin_mul_overflow(numel, type.size, &expected);
  GKD_CHECK(!overflow, where, ": shape ", shape_string(h.shape),
            " needs more than 2^64 bytes (the data has ", data_bytes, ")");
  GKD_CHECK(expected == data_bytes, where, ": data has ", data_bytes, " bytes (expected ",
            type.size, " * ", numel, " = ", expected, ")");
  const int64_t rows = h.shape.empty() ? 1 : h.shape[0];
  const int64_t cols = h.shape.size() == 2 ? h.shape[1] : 1;
  Tensor t = Tensor::empty(rows, cols, type.dtype);  // [rows, cols]; 1-D [n] → [n, 1]
  const uint8_t* data = b.data() + start + header_len;
  if (type.is_bool) {
    for (uint64_t i = 0; i < numel; ++i) {
      GKD_CHECK(data[i] <= 1, where, ": bool element ", i, " holds byte ", int(data[i]),
                " (expected 0 or 1)");
    }
  }
  if (data_bytes > 0) std::memcpy(t.raw_data(), data, data_bytes);
  return t;
}

std::map<std::string, Tensor> parse_npz(std::span<const uint8_t> b, const std::string& where) {
  const uint64_t size = b.size();
  GKD_CHECK(size >= 4, where, ": truncated: ", size, " bytes is too short for a zip archive");
  const uint32_t magic = load_le<uint32_t>(b, 0);
  GKD_CHECK(magic == kLocalHeader || magic == kEnd, where, ": bad magic ", hex(magic),
            " (not a zip archive)");
  std::map<std::string, Tensor> out;
  std::vector<std::string> names;  // in archive order
  uint64_t off = 0;
  while (true) {
    GKD_CHECK(fits(off, 4, size), where, ": truncated at offset ", off,
              " (expected another member or the central directory)");
    const uint32_t sig = load_le<uint32_t>(b, off);
    if (sig == kCentralHeader || sig == kEnd) break;
    GKD_CHECK(sig == kLocalHeader, where, ": bad signature ", hex(sig), " at offset ", off,
              " (expected a local file header)");
    GKD_CHECK(fits(off, 30, size), where, ": truncated local header at offset ", off);
    const uint16_t flags = load_le<uint16_t>(b, off + 6), method = load_le<uint16_t>(b, off + 8);
    const uint32_t crc = load_le<uint32_t>(b, off + 14);
    uint64_t csize = load_le<uint32_t>(b, off + 18), usize = load_le<uint32_t>(b, off + 22);
    const uint16_t name_len = load_le<uint16_t>(b, off + 26),
                   extra_len = load_le<uint16_t>(b, off + 28);
    GKD_CHECK(fits(off + 30, uint64_t(name_len) + extra_len, size), where,
              ": truncated member name or extra field at offset ", off);
    const std::string name(reinterpret_cast<const char*>(b.data() + off + 30), name_len);
    const std::string m = where + ": member " + name;
    for (char c : name) {
      GKD_CHECK(c >= 0x20 && c < 0x7f, where, ": member at offset ", off,
                " has a name with a non-printable byte");
    }
    GKD_CHECK(name.size() > 4 && name.ends_with(".npy"), m, ": name does not end in .npy");
    const std::string key = name.substr(0, name.size() - 4);
    GKD_CHECK(!out.contains(key), m, ": appears twice in the archive");
    GKD_CHECK((flags & 0x1) == 0, m, ": encrypted members are not supported");
    GKD_CHECK((flags & 0x8) == 0, m,
              ": sizes deferred to a data descriptor (flag bit 3) are not supported");
    apply_zip64(b.subspan(off + 30 + name_len, extra_len), usize, csize, m);
    const uint64_t data_off = off + 30 + name_len + extra_len;
    GKD_CHECK(fits(data_off, csize, size), m, ": truncated: its data claims ", csize, " bytes but ",
              size - data_off, " remain in the file");
    const std::span<const uint8_t> stored = b.subspan(data_off, csize);
    std::vector<uint8_t> inflated;
    std::span<const uint8_t> member = stored;
    if (method == 0) {
      GKD_CHECK(csize == usize, m, ": stored member has compressed size ", csize,
                " but uncompressed size ", usize);
    } else if (method == 8) {
      inflated = inflate_member(stored, usize, m);
      member = inflated;
    } else {
      GKD_FAIL(m, ": compression method ", method,
               " is not supported (expected 0 stored or 8 deflate)");
    }
    uLong actual = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < member.size();) {  // crc32 takes at most a uInt per call
      const uInt n = static_cast<uInt>(std::min<uint64_t>(member.size() - done, 1u << 30));
      actual = crc32(actual, member.data() + done, n);
      done += n;
    }
    GKD_CHECK(actual == crc, m, ": CRC-32 mismatch (header ", hex(crc), ", data ",
              hex(static_cast<uint32_t>(actual)), ")");
    out.emplace(key, parse_npy(member, m));
    names.push_back(name);
    off = data_off + csize;
  }
  // The central directory must list the same members, then the end record must close the file.
  const uint64_t cd_start = off;
  size_t count = 0;
  while (fits(off, 4, size) && load_le<uint32_t>(b, off) == kCentralHeader) {
    GKD_CHECK(fits(off, 46, size), where, ": truncated central directory entry at offset ", off);
    const uint64_t n = load_le<uint16_t>(b, off + 28), x = load_le<uint16_t>(b, off + 30),
                   c = load_le<uint16_t>(b, off + 32);
    GKD_CHECK(fits(off + 46, n + x + c, size), where,
              ": truncated central directory entry at offset ", off);
    const std::string_view name(reinterpret_cast<const char*>(b.data() + off + 46), n);
    GKD_CHECK(count < names.size() && name == names[count], where, ": central directory entry ",
              count, " names '", name, "', which does not match the local headers");
    off += 46 + n + x + c;
    ++count;
  }
  GKD_CHECK(count == names.size(), where, ": the central directory lists ", count,
            " members but the archive holds ", names.size());
  const uint64_t cd_end = off;
  if (fits(off, 4, size) && load_le<uint32_t>(b, off) == kZip64End) {
    GKD_CHECK(fits(off, 12, size), where, ": truncated zip64 end record at offset ", off);
    const uint64_t rest = load_le<uint64_t>(b, off + 4);
    GKD_CHECK(fits(off + 12, rest, size), where, ": truncated zip64 end record at offset ", off);
    off += 12 + rest;
    GKD_CHECK(fits(off, 20, size) && load_le<uint32_t>(b, off) == kZip64Locator, where,
              ": zip64 end record without its locator at offset ", off);
    off += 20;
  }
  GKD_CHECK(fits(off, 22, size) && load_le<uint32_t>(b, off) == kEnd, where,
            ": truncated: no end of central directory record at offset ", off);
  const uint16_t total = load_le<uint16_t>(b, off + 10);
  const uint32_t cd_size = load_le<uint32_t>(b, off + 12), cd_off = load_le<uint32_t>(b, off + 16);
  GKD_CHECK(total == 0xffff || total == count, where, ": end record counts ", total,
            " members (central directory: ", count, ")");
  GKD_CHECK(cd_off == kSizeInZip64 || cd_off == cd_start, where,
            ": end record places the central directory at ", cd_off, " (found at ", cd_start, ")");
  GKD_CHECK(cd_size == kSizeInZip64 || cd_size == cd_end - cd_start, where,
            ": end record gives the central directory ", cd_size, " bytes (found ",
            cd_end - cd_start, ")");
  const uint64_t comment = load_le<uint16_t>(b, off + 20);
  GKD_CHECK(off + 22 + comment == size, where, ": the end record's ", comment,
            "-byte comment does not end the file (", size - off - 22, " bytes follow the record)");
  return out;
}

Tensor read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

std::map<std::string, Tensor> read_npz(const std::string& path) {
  return parse_npz(read_file(path), path);
}

}  // namespace gkd::io
