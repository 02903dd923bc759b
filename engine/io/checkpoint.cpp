// Checkpoint writer and reader (format in checkpoint.h). Both hold the whole file in memory once:
// the writer needs the payload's CRC before its header, the reader verifies it before parsing.
#include "engine/io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <unordered_map>

#include "engine/error.h"

namespace gkd::io {

static_assert(std::endian::native == std::endian::little, "tensor values are copied as stored");

namespace {

constexpr std::array<uint8_t, 8> kMagic = {'G', 'K', 'D', 'C', 'K', 'P', 'T', '\0'};
constexpr uint64_t kHeaderBytes = 28;
constexpr uint64_t kCrcOffset = 24;
constexpr uint64_t kMaxNameBytes = 4096;
// The smallest tensor record: name length, a 1-byte name, dtype code, rows, cols and no values.
constexpr uint64_t kMinTensorBytes = 4 + 1 + 1 + 8 + 8;

struct DTypeCode {
  DType dtype;
  uint8_t code;
};
constexpr std::array<DTypeCode, 5> kDTypeCodes = {
    {{DType::kF32, 1}, {DType::kF64, 2}, {DType::kI32, 3}, {DType::kI64, 4}, {DType::kU8, 5}}};

uint8_t code_of(DType dtype) {
  for (const DTypeCode& c : kDTypeCodes) {
    if (c.dtype == dtype) return c.code;
  }
  GKD_FAIL("checkpoint: dtype ", dtype_name(dtype), " has no on-disk code");
}

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < bytes.size();) {  // crc32 takes at most a uInt per call
    const uInt n = static_cast<uInt>(std::min<uint64_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, bytes.data() + done, n);
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Bytes as they would be written in C, so a wrong magic is readable: 'PK\x03\x04...'.
std::string escaped(std::span<const uint8_t> bytes) {
  std::string out;
  for (const uint8_t c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

template <class U>
void put(std::vector<uint8_t>& out, U value) {
  for (size_t i = 0; i < sizeof(U); ++i) {
    out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
  }
}

void put_bytes(std::vector<uint8_t>& out, const void* data, size_t n) {
  if (n == 0) return;
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, data, n);
}

// The whole file: header (CRC filled in last), then the payload.
std::vector<uint8_t> encode(const std::string& path, const Checkpoint& ck) {
  std::unordered_map<std::string_view, size_t> seen;
  uint64_t size = kHeaderBytes + 8 + ck.metadata.size() + 8;
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    const auto& [name, t] = ck.tensors[i];
    GKD_CHECK(!name.empty() && name.size() <= kMaxNameBytes, path, ": tensor[", i, "]'s name has ",
              name.size(), " bytes (expected 1 to ", kMaxNameBytes, ")");
    const auto [it, fresh] = seen.emplace(name, i);
    GKD_CHECK(fresh, path, ": tensor[", i, "] is named '", name, "' like tensor[", it->second, "]");
    GKD_CHECK(t.defined(), path, ": tensor[", i, "] '", name, "' is undefined");
    size += kMinTensorBytes - 1 + name.size() + t.numel() * dtype_size(t.dtype());
  }
  std::vector<uint8_t> out;
  out.reserve(size);
  put_bytes(out, kMagic.data(), kMagic.size());
  put<uint32_t>(out, kCheckpointVersion);
  put<uint32_t>(out, 0);  // flags
  put<uint64_t>(out, size - kHeaderBytes);
  put<uint32_t>(out, 0);  // CRC, below
  put<uint64_t>(out, ck.metadata.size());
  put_bytes(out, ck.metadata.data(), ck.metadata.size());
  put<uint64_t>(out, ck.tensors.size());
  for (const auto& [name, t] : ck.tensors) {
    put<uint32_t>(out, static_cast<uint32_t>(name.size()));
    put_bytes(out, name.data(), name.size());
    put<uint8_t>(out, code_of(t.dtype()));
    put<int64_t>(out, t.rows());
    put<int64_t>(out, t.cols());
    const Tensor host = t.to(Device::kCPU);  // shares the storage of a CPU tensor
    const size_t es = dtype_size(t.dtype());
    const auto* base = static_cast<const uint8_t*>(host.raw_data());
    for (int64_t r = 0; r < host.rows(); ++r) {  // a view's rows are ld apart
      put_bytes(out, base + r * host.ld() * es, host.cols() * es);
    }
  }
  const uint32_t crc = crc32_of(std::span<const uint8_t>(out).subspan(kHeaderBytes));
  for (size_t i = 0; i < 4; ++i) out[kCrcOffset + i] = static_cast<uint8_t>(crc >> (8 * i));
  return out;
}

// The temporary file until it is renamed over the target: any early exit closes and removes it.
struct Temporary {
  std::string path;
  int fd = -1;
  bool owned = false;  // created by us and not yet renamed
  ~Temporary() {
    if (fd >= 0) ::close(fd);
    if (owned) ::unlink(path.c_str());
  }
};

[[noreturn]] void fail(const std::string& path, const std::string& step, int err,
                       const std::string& consequence = "") {
  GKD_FAIL(path, ": cannot ", step, " (", std::strerror(err), ")", consequence);
}

// Bounds-checked little-endian reads from the payload; each names its field when it runs short.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& path) : b_(bytes), path_(path) {}

  uint64_t remaining() const { return b_.size() - pos_; }

  template <class U>
  U read(const std::string& field) {
    GKD_CHECK(sizeof(U) <= remaining(), path_, ": field ", field, ": truncated (needs ", sizeof(U),
              " bytes, ", remaining(), " remain in the payload)");
    uint64_t value = 0;
    for (size_t i = 0; i < sizeof(U); ++i) value |= uint64_t{b_[pos_ + i]} << (8 * i);
    pos_ += sizeof(U);
    return static_cast<U>(value);
  }

  std::span<const uint8_t> take(uint64_t n) {  // the caller checked n <= remaining()
    const auto out = b_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> b_;
  const std::string& path_;
  uint64_t pos_ = 0;
};

Tensor read_tensor(Reader& r, const std::string& f, const std::string& path) {
  const uint8_t code = r.read<uint8_t>(f + ".dtype");
  const auto type = std::find_if(kDTypeCodes.begin(), kDTypeCodes.end(),
                                 [&](const DTypeCode& c) { return c.code == code; });
  GKD_CHECK(type != kDTypeCodes.end(), path, ": field ", f, ".dtype: code ", int(code),
            " (expected 1 f32, 2 f64, 3 i32, 4 i64 or 5 u8)");
  const DType dtype = type->dtype;
  const int64_t rows = r.read<int64_t>(f + ".rows"), cols = r.read<int64_t>(f + ".cols");
  GKD_CHECK(rows >= 0, path, ": field ", f, ".rows: ", rows, " (expected >= 0)");
  GKD_CHECK(cols >= 0, path, ": field ", f, ".cols: ", cols, " (expected >= 0)");
  // The values must fit in what remains, checked without overflow before the tensor exists. A
  // tensor without rows holds no values, whatever its width.
  const uint64_t es = dtype_size(dtype), left = r.remaining();
  uint64_t row_bytes = 0;
  const bool cols_fit =
      !__builtin_mul_overflow(uint64_t(cols), es, &row_bytes) && (rows == 0 || row_bytes <= left);
  GKD_CHECK(cols_fit, path, ": field ", f, ".cols: ", cols, " (expected at most ", left / es,
            ": a row of ", dtype_name(dtype), " values must fit in the ", left,
            " payload bytes that remain)");
  GKD_CHECK(row_bytes == 0 || uint64_t(rows) <= left / row_bytes, path, ": field ", f,
            ".rows: ", rows, " (expected at most ", row_bytes == 0 ? 0 : left / row_bytes,
            ": [rows, ", cols, "] ", dtype_name(dtype), " must fit in the ", left,
            " payload bytes that remain)");
  Tensor t = Tensor::empty(rows, cols, dtype);  // [rows, cols]
  const uint64_t bytes = uint64_t(rows) * row_bytes;
  if (bytes > 0) std::memcpy(t.raw_data(), r.take(bytes).data(), bytes);
  return t;
}

Checkpoint parse(std::span<const uint8_t> payload, const std::string& path) {
  Reader r(payload, path);
  Checkpoint ck;
  const uint64_t meta = r.read<uint64_t>("metadata.bytes");
  GKD_CHECK(meta <= r.remaining(), path, ": field metadata.bytes: ", meta, " (expected at most ",
            r.remaining(), ", the payload bytes that remain)");
  const auto text = r.take(meta);
  ck.metadata.assign(text.begin(), text.end());
  const uint64_t count = r.read<uint64_t>("tensor_count");
  GKD_CHECK(count <= r.remaining() / kMinTensorBytes, path, ": field tensor_count: ", count,
            " (expected at most ", r.remaining() / kMinTensorBytes, ": a tensor takes at least ",
            kMinTensorBytes, " of the ", r.remaining(), " payload bytes that remain)");
  ck.tensors.reserve(count);
  std::unordered_map<std::string, uint64_t> seen;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string f = "tensor[" + std::to_string(i) + "]";
    const uint32_t len = r.read<uint32_t>(f + ".name_bytes");
    GKD_CHECK(len >= 1 && len <= kMaxNameBytes, path, ": field ", f, ".name_bytes: ", len,
              " (expected 1 to ", kMaxNameBytes, ")");
    GKD_CHECK(len <= r.remaining(), path, ": field ", f, ".name_bytes: ", len,
              " (expected at most ", r.remaining(), ", the payload bytes that remain)");
    const auto bytes = r.take(len);
    std::string name(bytes.begin(), bytes.end());
    const auto [it, fresh] = seen.emplace(name, i);
    GKD_CHECK(fresh, path, ": field ", f, ".name: '", name, "' (expected a unique name: tensor[",
              it->second, "] has it too)");
    Tensor t = read_tensor(r, f, path);
    ck.tensors.emplace_back(std::move(name), std::move(t));
  }
  GKD_CHECK(r.remaining() == 0, path, ": ", r.remaining(),
            " trailing bytes after the last tensor (the payload has ", payload.size(), ")");
  return ck;
}

}  // namespace

const Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  std::string names;
  for (const auto& entry : tensors) names += (names.empty() ? "" : ", ") + entry.first;
  GKD_FAIL("checkpoint: no tensor named '", name, "' (has: ", names.empty() ? "none" : names, ")");
}

bool Checkpoint::has(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(),
                     [&](const auto& e) { return e.first == name; });
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::vector<uint8_t> bytes = encode(path, checkpoint);  // bad input fails before any I/O
  Temporary tmp{path + ".tmp-" + std::to_string(::getpid())};
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd < 0) fail(path, "create " + tmp.path, errno);
  tmp.owned = true;
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(tmp.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, "write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(tmp.fd) != 0) fail(path, "fsync", errno);
  const int closed = ::close(tmp.fd);  // may report a deferred write error (NFS)
  tmp.fd = -1;
  if (closed != 0) fail(path, "close", errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0)
    fail(path, "rename " + tmp.path + " over it", errno);
  tmp.owned = false;
  // The rename itself is durable only once the directory entry is on disk.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int synced = dfd < 0 ? -1 : ::fsync(dfd);
  const int err = errno;
  if (dfd >= 0) ::close(dfd);
  // EINVAL: the file system cannot sync directories at all (some FUSE and network mounts).
  if (synced != 0 && !(dfd >= 0 && err == EINVAL)) {
    fail(path, "fsync its directory " + dir, err,
         ": the new checkpoint is in place but may not survive a crash");
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  std::error_code ec;
  GKD_CHECK(std::filesystem::is_regular_file(path, ec), path, ": not a readable file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  GKD_CHECK(!ec, path, ": cannot read its size (", ec.message(), ")");
  std::ifstream in(path, std::ios::binary);
  GKD_CHECK(in.good(), path, ": cannot open");
  std::array<uint8_t, kHeaderBytes> h{};
  const uint64_t got = std::min(size, kHeaderBytes);
  in.read(reinterpret_cast<char*>(h.data()), static_cast<std::streamsize>(got));
  GKD_CHECK(static_cast<uint64_t>(in.gcount()) == got, path, ": cannot read its header");
  // The magic first, so that a short file of another kind is named as such, not as truncated.
  const uint64_t magic_got = std::min<uint64_t>(got, kMagic.size());
  GKD_CHECK(std::equal(h.begin(), h.begin() + magic_got, kMagic.begin()), path,
            ": field header.magic: got '", escaped(std::span(h).first(magic_got)), "' (expected '",
            escaped(kMagic), "')");
  GKD_CHECK(size >= kHeaderBytes, path, ": truncated: ", size, " bytes is shorter than the ",
            kHeaderBytes, "-byte header");
  const auto field = [&](uint64_t offset, size_t n) {
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= uint64_t{h[offset + i]} << (8 * i);
    return value;
  };
  const uint64_t version = field(8, 4), flags = field(12, 4), payload_bytes = field(16, 8);
  const auto stored = static_cast<uint32_t>(field(kCrcOffset, 4));
  GKD_CHECK(version == kCheckpointVersion, path, ": field header.version: format version ", version,
            " is not supported (this build reads version ", kCheckpointVersion, ")");
  GKD_CHECK(flags == 0, path, ": field header.flags: ", hex(static_cast<uint32_t>(flags)),
            " (expected 0: version ", kCheckpointVersion, " defines no flags)");
  GKD_CHECK(payload_bytes == size - kHeaderBytes, path,
            ": field header.payload_bytes: ", payload_bytes, " (expected ", size - kHeaderBytes,
            " = file size ", size, " - ", kHeaderBytes, "-byte header)");
  std::vector<uint8_t> payload(payload_bytes);  // bounded by the file's actual size
  in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(payload_bytes));
  GKD_CHECK(static_cast<uint64_t>(in.gcount()) == payload_bytes, path, ": read ", in.gcount(),
            " of the ", payload_bytes, " payload bytes");
  const uint32_t computed = crc32_of(payload);
  GKD_CHECK(computed == stored, path, ": checksum mismatch (stored ", hex(stored), ", computed ",
            hex(computed), "): the file is corrupt");
  return parse(payload, path);
}

}  // namespace gkd::io
