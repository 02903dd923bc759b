// Tests of the checkpoint format (engine/io/checkpoint.h): bit-exact round trips, the documented
// byte layout, atomic replacement, and rejection of every flipped byte, every truncation and
// crafted sizes, each with a gkd::Error that names the file (never another exception, never an
// allocation sized by the file's claims).
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "tests/support/checks.h"
#include "tests/support/npz_writer.h"

using namespace gkd;
using namespace gkd::test;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("gkd_test_checkpoint_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
};

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// A tensor's values as contiguous bytes: compares NaN payloads and -0.0 bit for bit.
Bytes bytes_of(const Tensor& t) {
  const Tensor c = t.clone();
  Bytes out(static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
  if (!out.empty()) std::memcpy(out.data(), c.raw_data(), out.size());
  return out;
}

// The message of the gkd::Error a load raises; any other exception is reported as such.
std::string load_error(const std::string& path) {
  try {
    io::load_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a gkd::Error: ") + e.what();
  }
  return "";
}

uint32_t crc_of(const Bytes& b, size_t from) {
  return static_cast<uint32_t>(crc32(0L, b.data() + from, static_cast<uInt>(b.size() - from)));
}

void set_le(Bytes& b, size_t offset, uint64_t value, size_t n) {
  for (size_t i = 0; i < n; ++i) b[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

// Makes the header agree with an edited payload again (length and CRC), so that the parser
// itself has to catch the edit.
void reseal(Bytes& b) {
  set_le(b, 16, b.size() - 28, 8);
  set_le(b, 24, crc_of(b, 28), 4);
}

// Two f32 tensors behind 2 bytes of metadata. File offsets: metadata length 28, metadata 36,
// tensor count 38; "w": name length 46, name 50, dtype 51, rows 52, cols 60, values 68 (24 bytes);
// "b": name length 92, name 96, dtype 97, rows 98, cols 106, values 114 (12 bytes); end 126.
io::Checkpoint small() {
  return {"{}",
          {{"w", Tensor::from_vector<float>(2, 3, {1, 2, 3, 4, 5, 6})},
           {"b", Tensor::from_vector<float>(1, 3, {0.5f, -0.5f, 0})}}};
}

}  // namespace

TEST_CASE("checkpoint: every dtype, a column view and an empty tensor round-trip bit for bit") {
  const float nan_payload = std::bit_cast<float>(uint32_t{0x7fc12345});
  const Tensor base = Tensor::from_vector<float>(
      3, 5, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});  // [3, 5]
  io::Checkpoint ck;
  ck.metadata = std::string("{\"model\": \"gcn\",\n \"epoch\": 7}\0tail", 35);  // a NUL inside
  ck.tensors = {
      {"z.f32",
       Tensor::from_vector<float>(2, 3,
                                  {-0.0f, nan_payload, std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::denorm_min(), 1e-30f, 3.5f})},
      {"a.f64", Tensor::from_vector<double>(3, 1, {0.1, -1e300, std::nan("7")})},
      {"m.i32", Tensor::from_vector<int32_t>(1, 4,
                                             {std::numeric_limits<int32_t>::min(), -1, 0,
                                              std::numeric_limits<int32_t>::max()})},
      {"b.i64",
       Tensor::from_vector<int64_t>(2, 2,
                                    {std::numeric_limits<int64_t>::min(), -1, int64_t{1} << 40,
                                     std::numeric_limits<int64_t>::max()})},
      {"mask", Tensor::from_vector<uint8_t>(5, 1, {0, 1, 255, 7, 128})},
      {"view", base.slice_cols(1, 4)},  // [3, 3] with ld 5
      {"rows", base.slice_rows(1, 3).slice_cols(2, 5)},
      {"empty", Tensor::empty(0, 7, DType::kI64)},
  };
  REQUIRE(ck.tensors[5].second.ld() == 5);
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  io::save_checkpoint(path, ck);
  const io::Checkpoint back = io::load_checkpoint(path);

  CHECK(back.metadata == ck.metadata);
  REQUIRE(back.tensors.size() == ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    const std::string& name = ck.tensors[i].first;
    const Tensor& want = ck.tensors[i].second;
    const std::string& got_name = back.tensors[i].first;
    const Tensor& got = back.tensors[i].second;
    INFO("tensor ", i, " ", name);
    CHECK(got_name == name);  // insertion order, not sorted
    CHECK(got.dtype() == want.dtype());
    CHECK((got.rows() == want.rows() && got.cols() == want.cols()));
    CHECK(got.device() == Device::kCPU);
    CHECK(got.ld() == got.cols());
    CHECK(bytes_of(got) == bytes_of(want));
  }
  CHECK(back.tensor("view").to_vector<float>() == std::vector<float>{2, 3, 4, 7, 8, 9, 12, 13, 14});
  CHECK(back.tensor("rows").to_vector<float>() == std::vector<float>{8, 9, 10, 13, 14, 15});

  io::save_checkpoint(path, {});  // nothing at all is a checkpoint too
  const io::Checkpoint none = io::load_checkpoint(path);
  CHECK((none.metadata.empty() && none.tensors.empty()));
}

TEST_CASE("checkpoint: the file is the documented little-endian layout") {
  TempDir dir;
  const std::string path = dir.file("small.ckpt");
  io::save_checkpoint(path, small());
  Bytes payload;
  put64(payload, 2);
  payload.push_back('{');
  payload.push_back('}');
  put64(payload, 2);
  for (const auto& [name, values] :
       {std::pair<char, std::vector<float>>{'w', {1, 2, 3, 4, 5, 6}}, {'b', {0.5f, -0.5f, 0}}}) {
    put32(payload, 1);
    payload.push_back(static_cast<uint8_t>(name));
    payload.push_back(1);  // f32
    put64(payload, name == 'w' ? 2 : 1);
    put64(payload, 3);
    const Bytes v = raw(values);
    payload.insert(payload.end(), v.begin(), v.end());
  }
  Bytes want = {'G', 'K', 'D', 'C', 'K', 'P', 'T', 0};
  put32(want, 1);
  put32(want, 0);
  put64(want, payload.size());
  put32(want, static_cast<uint32_t>(crc32(0L, payload.data(), static_cast<uInt>(payload.size()))));
  want.insert(want.end(), payload.begin(), payload.end());
  CHECK(want.size() == 126);
  CHECK(read_bytes(path) == want);

  // The on-disk dtype codes are fixed: 1 f32, 2 f64, 3 i32, 4 i64, 5 u8.
  io::save_checkpoint(path, {"",
                             {{"a", Tensor::empty(0, 1, DType::kF32)},
                              {"b", Tensor::empty(0, 1, DType::kF64)},
                              {"c", Tensor::empty(0, 1, DType::kI32)},
                              {"d", Tensor::empty(0, 1, DType::kI64)},
                              {"e", Tensor::empty(0, 1, DType::kU8)}}});
  const Bytes codes = read_bytes(path);
  for (size_t i = 0; i < 5; ++i) CHECK(codes[28 + 8 + 8 + i * 22 + 5] == i + 1);
}

TEST_CASE("checkpoint: saving replaces the previous file atomically and leaves no temporary") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  io::save_checkpoint(path, small());
  io::Checkpoint next = small();
  next.metadata = "{\"epoch\": 2}";
  next.tensors.emplace_back("extra", Tensor::from_vector<int32_t>(1, 1, {42}));
  io::save_checkpoint(path, next);
  CHECK(dir.listing() == std::set<std::string>{"model.ckpt"});
  const io::Checkpoint back = io::load_checkpoint(path);
  CHECK(back.metadata == next.metadata);
  CHECK(back.tensor("extra").item<int32_t>() == 42);

  // Invalid input fails before any file is touched; the previous checkpoint survives.
  const Bytes before = read_bytes(path);
  const Tensor one = Tensor::zeros(1, 1, DType::kF32);
  CHECK(error_of([&] {
          io::save_checkpoint(path, {"", {{"w", one}, {"w", one}}});
        }) == path + ": tensor[1] is named 'w' like tensor[0]");
  CHECK(error_of([&] {
          io::save_checkpoint(path, {"", {{"", one}}});
        }) == path + ": tensor[0]'s name has 0 bytes (expected 1 to 4096)");
  CHECK(error_of([&] {
          io::save_checkpoint(path, {"", {{std::string(4097, 'n'), one}}});
        }) == path + ": tensor[0]'s name has 4097 bytes (expected 1 to 4096)");
  CHECK(error_of([&] {
          io::save_checkpoint(path, {"", {{"u", Tensor()}}});
        }) == path + ": tensor[0] 'u' is undefined");
  CHECK(read_bytes(path) == before);
  CHECK(dir.listing() == std::set<std::string>{"model.ckpt"});

  // A failure after the temporary is written (here: the target is a non-empty directory, so the
  // rename fails) removes the temporary.
  const std::string blocked = dir.file("blocked");
  fs::create_directories(fs::path(blocked) / "inside");
  const std::string msg = error_of([&] { io::save_checkpoint(blocked, small()); });
  CHECK(msg.starts_with(blocked + ": cannot rename " + blocked + ".tmp-" +
                        std::to_string(::getpid()) + " over it ("));
  CHECK(dir.listing() == std::set<std::string>{"model.ckpt", "blocked"});
}

TEST_CASE("checkpoint: saving into a missing directory names the path and leaves nothing") {
  TempDir dir;
  const std::string path = dir.file("missing/model.ckpt");
  const std::string msg = error_of([&] { io::save_checkpoint(path, small()); });
  CHECK(msg == path + ": cannot create " + path + ".tmp-" + std::to_string(::getpid()) +
                   " (No such file or directory)");
  CHECK(dir.listing().empty());
}

TEST_CASE("checkpoint: every single-byte flip is rejected, naming the field or the checksum") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), path = dir.file("flip.ckpt");
  io::save_checkpoint(good, small());
  const Bytes whole = read_bytes(good);
  REQUIRE(whole.size() == 126);
  int wrong = 0;
  for (size_t pos = 0; pos < whole.size(); ++pos) {
    for (const uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = whole;
      bad[pos] ^= mask;
      write_bytes(path, bad);
      const std::string msg = load_error(path);
      const std::string expected = pos < 8    ? ": field header.magic: "
                                   : pos < 12 ? ": field header.version: "
                                   : pos < 16 ? ": field header.flags: "
                                   : pos < 24 ? ": field header.payload_bytes: "
                                              : ": checksum mismatch (";
      if (!msg.starts_with(path + expected)) {
        ++wrong;
        INFO("byte ", pos, " ^ ", int(mask), ": ", msg);
        CHECK(false);
      }
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("checkpoint: truncation at every length and appended bytes are rejected") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), path = dir.file("cut.ckpt");
  io::save_checkpoint(good, small());
  const Bytes whole = read_bytes(good);
  int wrong = 0;
  for (size_t n = 0; n < whole.size(); ++n) {
    write_bytes(path, Bytes(whole.begin(), whole.begin() + static_cast<ptrdiff_t>(n)));
    const std::string msg = load_error(path);
    const std::string expected =
        n < 28 ? ": truncated: " + std::to_string(n) + " bytes is shorter than the 28-byte header"
               : ": field header.payload_bytes: 98 (expected " + std::to_string(n - 28) +
                     " = file size " + std::to_string(n) + " - 28-byte header)";
    if (msg != path + expected) {
      ++wrong;
      INFO("length ", n, ": ", msg);
      CHECK(false);
    }
  }
  CHECK(wrong == 0);
  Bytes longer = whole;
  longer.push_back(0);
  write_bytes(path, longer);
  CHECK(load_error(path) ==
        path + ": field header.payload_bytes: 98 (expected 99 = file size 127 - 28-byte header)");
}

TEST_CASE("checkpoint: sizes claimed by a crafted file are checked before any allocation") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), path = dir.file("m.ckpt");
  io::save_checkpoint(good, small());
  const Bytes whole = read_bytes(good);
  // Each edit keeps a valid header and CRC, so only the payload checks stand between the claimed
  // size and an allocation (a std::bad_alloc or a crash would fail the test).
  const auto edited = [&](size_t offset, uint64_t value, size_t n) {
    Bytes b = whole;
    set_le(b, offset, value, n);
    reseal(b);
    write_bytes(path, b);
    return load_error(path);
  };
  const uint64_t huge = uint64_t{1} << 62;
  Bytes claims = whole;
  set_le(claims, 16, huge, 8);
  write_bytes(path, claims);
  CHECK(load_error(path) == path +
                                ": field header.payload_bytes: 4611686018427387904 (expected 98 "
                                "= file size 126 - 28-byte header)");

  CHECK(edited(28, huge, 8) == path +
                                   ": field metadata.bytes: 4611686018427387904 (expected at "
                                   "most 90, the payload bytes that remain)");
  CHECK(edited(38, huge, 8) == path +
                                   ": field tensor_count: 4611686018427387904 (expected at most "
                                   "3: a tensor takes at least 22 of the 80 payload bytes that "
                                   "remain)");
  CHECK(edited(38, 3, 8) == path +
                                ": field tensor[2].name_bytes: truncated (needs 4 bytes, 0 "
                                "remain in the payload)");
  CHECK(edited(46, 0xffffffff, 4) ==
        path + ": field tensor[0].name_bytes: 4294967295 (expected 1 to 4096)");
  CHECK(edited(46, 0, 4) == path + ": field tensor[0].name_bytes: 0 (expected 1 to 4096)");
  CHECK(edited(92, 4000, 4) == path +
                                   ": field tensor[1].name_bytes: 4000 (expected at most 30, "
                                   "the payload bytes that remain)");
  CHECK(edited(51, 9, 1) == path +
                                ": field tensor[0].dtype: code 9 (expected 1 f32, 2 f64, 3 i32, "
                                "4 i64 or 5 u8)");
  CHECK(edited(52, huge, 8) == path +
                                   ": field tensor[0].rows: 4611686018427387904 (expected at "
                                   "most 4: [rows, 3] f32 must fit in the 58 payload bytes "
                                   "that remain)");
  CHECK(edited(52, uint64_t(-1), 8) == path + ": field tensor[0].rows: -1 (expected >= 0)");
  CHECK(edited(60, huge, 8) == path +
                                   ": field tensor[0].cols: 4611686018427387904 (expected at "
                                   "most 14: a row of f32 values must fit in the 58 payload "
                                   "bytes that remain)");
  CHECK(edited(60, uint64_t(-5), 8) == path + ": field tensor[0].cols: -5 (expected >= 0)");
  CHECK(edited(96, 'w', 1) == path +
                                  ": field tensor[1].name: 'w' (expected a unique name: "
                                  "tensor[0] has it too)");
  CHECK(edited(38, 1, 8) ==
        path + ": 34 trailing bytes after the last tensor (the payload has 98)");
  // A tensor without rows holds no values, whatever its width: [0, 2^60] is read, not allocated.
  Bytes wide = whole;
  set_le(wide, 98, 0, 8);
  set_le(wide, 106, uint64_t{1} << 60, 8);
  wide.resize(114);
  reseal(wide);
  write_bytes(path, wide);
  const io::Checkpoint ck = io::load_checkpoint(path);
  CHECK((ck.tensor("b").rows() == 0 && ck.tensor("b").cols() == int64_t{1} << 60));
}

TEST_CASE("checkpoint: bad magic, unsupported version, flags and checksum have exact messages") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), path = dir.file("m.ckpt");
  io::save_checkpoint(good, small());
  const Bytes whole = read_bytes(good);

  Bytes zip = {'P', 'K', 3, 4};
  zip.resize(200, 0);
  write_bytes(path, zip);
  CHECK(load_error(path) == path +
                                ": field header.magic: got 'PK\\x03\\x04\\x00\\x00\\x00\\x00' "
                                "(expected 'GKDCKPT\\x00')");
  write_bytes(path, {'h', 'i'});
  CHECK(load_error(path) == path + ": field header.magic: got 'hi' (expected 'GKDCKPT\\x00')");
  write_bytes(path, {});
  CHECK(load_error(path) == path + ": truncated: 0 bytes is shorter than the 28-byte header");

  Bytes b = whole;
  set_le(b, 8, 2, 4);
  write_bytes(path, b);
  CHECK(load_error(path) ==
        path +
            ": field header.version: format version 2 is not supported (this build reads "
            "version 1)");
  b = whole;
  set_le(b, 12, 4, 4);
  write_bytes(path, b);
  CHECK(load_error(path) ==
        path + ": field header.flags: 0x00000004 (expected 0: version 1 defines no flags)");

  b = whole;
  b[70] ^= 0x10;  // one bit of w's values
  write_bytes(path, b);
  char want[96];
  std::snprintf(want, sizeof want, ": checksum mismatch (stored 0x%08x, computed 0x%08x)",
                crc_of(whole, 28), crc_of(b, 28));
  CHECK(load_error(path) == path + want + ": the file is corrupt");

  CHECK(load_error(dir.file("absent.ckpt")) == dir.file("absent.ckpt") + ": not a readable file");
  CHECK(load_error(dir.path.string()) == dir.path.string() + ": not a readable file");
}

TEST_CASE("checkpoint: tensor() and has() look names up") {
  const io::Checkpoint ck = small();
  CHECK(ck.has("w"));
  CHECK(ck.has("b"));
  CHECK_FALSE(ck.has("W"));
  CHECK_FALSE(ck.has(""));
  CHECK(ck.tensor("b").to_vector<float>() == std::vector<float>{0.5f, -0.5f, 0});
  CHECK(&ck.tensor("w") == &ck.tensors[0].second);
  CHECK(error_of([&] { ck.tensor("x"); }) == "checkpoint: no tensor named 'x' (has: w, b)");
  CHECK(error_of([&] { io::Checkpoint{}.tensor("x"); }) ==
        "checkpoint: no tensor named 'x' (has: none)");
}
