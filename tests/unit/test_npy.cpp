// Fixture tests of the .npy/.npz reader (engine/io/npy.h). The files are built byte by byte here
// (npy headers, zip local/central headers with zlib CRCs, raw-deflated members), so the tests need
// no numpy and no data folder; malformed variants must each raise a gkd::Error naming the field.
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "tests/support/checks.h"
#include "tests/support/fixtures.h"
#include "tests/support/npz_writer.h"

using namespace gkd;
using namespace gkd::test;

namespace {

const std::vector<float> kF32 = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
const std::vector<int64_t> kI64 = {0, 1, 1, 2, 2, 0, -5, int64_t{1} << 40};

// A small archive covering stored, deflated and zip64-extra-free members.
std::vector<Member> sample_members() {
  return {{"x.npy", npy("<f4", "(2, 3)", raw(kF32))},
          {"edge_index.npy", npy("<i8", "(2, 4)", raw(kI64)), true},
          {"mask.npy", npy("|b1", "(3,)", Bytes{1, 0, 1}), false, false}};
}

}  // namespace

TEST_CASE("npy: every supported dtype and rank round-trips from a file") {
  const auto f32 = io::read_npy(write_temp("f32.npy", npy("<f4", "(2, 3)", raw(kF32))));
  CHECK(f32.dtype() == DType::kF32);
  CHECK((f32.rows() == 2 && f32.cols() == 3));
  CHECK(f32.to_vector<float>() == kF32);

  const std::vector<double> f64 = {0.1, -0.2, 1e300, 4.0};
  const auto v = io::parse_npy(npy("<f8", "(4,)", raw(f64)), "v.npy");  // 1-D becomes [n, 1]
  CHECK((v.rows() == 4 && v.cols() == 1 && v.dtype() == DType::kF64));
  CHECK(v.to_vector<double>() == f64);

  const auto scalar = io::parse_npy(npy("<i4", "()", raw(std::vector<int32_t>{-7})), "s.npy");
  CHECK((scalar.rows() == 1 && scalar.cols() == 1 && scalar.item<int32_t>() == -7));

  const auto i64 = io::parse_npy(npy("<i8", "(4, 2)", raw(kI64), "False", 2), "v2.npy");
  CHECK((i64.rows() == 4 && i64.cols() == 2 && i64.to_vector<int64_t>() == kI64));

  const auto mask = io::parse_npy(npy("|b1", "(5,)", Bytes{1, 0, 0, 1, 1}), "m.npy");
  CHECK(mask.dtype() == DType::kU8);
  CHECK(mask.to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 0, 1, 1});

  const auto empty = io::parse_npy(npy("<f4", "(0, 5)", {}), "e.npy");
  CHECK((empty.rows() == 0 && empty.cols() == 5));
}

TEST_CASE("npz: stored, deflated and zip64-extra members are read and CRC-checked") {
  const auto a = io::read_npz(write_temp("sample.npz", zip(sample_members())));
  REQUIRE(a.size() == 3);
  CHECK(a.at("x").to_vector<float>() == kF32);
  CHECK((a.at("edge_index").rows() == 2 && a.at("edge_index").cols() == 4));
  CHECK(a.at("edge_index").to_vector<int64_t>() == kI64);
  CHECK(a.at("mask").to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1});
  CHECK(io::parse_npz(zip({}), "empty.npz").empty());
}

TEST_CASE("npz: a file truncated at any offset is an error, never a read past its end") {
  const Bytes whole = zip(sample_members());
  int silent = 0;
  for (size_t n = 0; n < whole.size(); ++n) {
    const std::string msg =
        test::error_of([&] { io::parse_npz(std::span<const uint8_t>(whole).first(n), "t.npz"); });
    silent += msg.rfind("t.npz: ", 0) != 0;  // must throw, naming the file first
  }
  CHECK(silent == 0);
  const Bytes one = npy("<f4", "(2, 3)", raw(kF32));
  silent = 0;
  for (size_t n = 0; n < one.size(); ++n) {
    silent += test::error_of([&] {
                io::parse_npy(std::span<const uint8_t>(one).first(n), "t.npy");
              }).rfind("t.npy: ", 0) != 0;
  }
  CHECK(silent == 0);
  // x.npy takes 30 + 5 + 20 header bytes and 128 + 24 data bytes; edge_index.npy's data starts
  // after its own 30 + 14 + 20 header bytes.
  const size_t second_data = (30 + 5 + 20 + 128 + 24) + 30 + 14 + 20;
  const size_t deflated = deflate_raw(npy("<i8", "(2, 4)", raw(kI64))).size();
  CHECK(test::error_of([&] {
          io::parse_npz(std::span<const uint8_t>(whole).first(second_data + 5), "t.npz");
        }) == "t.npz: member edge_index.npy: truncated: its data claims " +
                  std::to_string(deflated) + " bytes but 5 remain in the file");
}

TEST_CASE("npz: corrupted data, CRC, names and records name the member and the field") {
  auto members = sample_members();
  Bytes bad = zip(members);
  bad[30 + 5 + 20 + 128 + 2] ^= 0x40;  // one bit of x.npy's data (header: 10 + 118 bytes)
  CHECK(test::error_of([&] {
          io::parse_npz(bad, "c.npz");
        }).starts_with("c.npz: member x.npy: CRC-32 mismatch (header 0x"));

  bad = zip(members);
  bad[30 + 5 + 20 + 128 + 24 + 30 + 14 + 20 + 3] ^= 0xff;  // inside the deflate stream
  const std::string deflate_msg = test::error_of([&] { io::parse_npz(bad, "c.npz"); });
  CHECK(deflate_msg.starts_with("c.npz: member edge_index.npy: "));

  // The brief's example: a member whose data is shorter than its shape.
  const Bytes short_member = zip({{"x_indices.npy", npy("<i4", "(10138,)", Bytes(1000, 0))}});
  CHECK(test::error_of([&] { io::parse_npz(short_member, "cora.npz"); }) ==
        "cora.npz: member x_indices.npy: data has 1000 bytes (expected 4 * 10138 = 40552)");

  CHECK(test::error_of([&] {
          io::parse_npz(zip({{"x.txt", npy("<f4", "(0,)", {})}}), "n.npz");
        }) == "n.npz: member x.txt: name does not end in .npy");
  CHECK(test::error_of([&] {
          io::parse_npz(zip({{"a.npy", npy("<f4", "(0,)", {})}, {"a.npy", npy("<f4", "(0,)", {})}}),
                        "d.npz");
        }) == "d.npz: member a.npy: appears twice in the archive");

  const Bytes good = zip({{"a.npy", npy("<f4", "(0,)", {})}});
  bad = good;
  bad[8] = 12;  // method 12 (bzip2)
  CHECK(test::error_of([&] { io::parse_npz(bad, "m.npz"); }) ==
        "m.npz: member a.npy: compression method 12 is not supported (expected 0 stored or 8 "
        "deflate)");
  bad = good;
  bad[6] = 0x08;  // data descriptor flag
  CHECK(test::error_of([&] {
          io::parse_npz(bad, "m.npz");
        }).starts_with("m.npz: member a.npy: sizes deferred to a data descriptor"));
  bad = good;
  bad[22] ^= 1;  // uncompressed size != compressed size for a stored member
  CHECK(test::error_of([&] {
          io::parse_npz(bad, "m.npz");
        }).starts_with("m.npz: member a.npy: stored member has compressed size"));
  bad = good;
  bad.push_back(0);
  CHECK(test::error_of([&] {
          io::parse_npz(bad, "m.npz");
        }).ends_with("(1 bytes follow the record)"));
  bad = good;
  bad[bad.size() - 22 + 10] = 2;  // the end record counts 2 members
  CHECK(test::error_of([&] { io::parse_npz(bad, "m.npz"); }) ==
        "m.npz: end record counts 2 members (central directory: 1)");
  CHECK(test::error_of([&] { io::parse_npz(npy("<f4", "(0,)", {}), "m.npz"); }) ==
        "m.npz: bad magic 0x4d554e93 (not a zip archive)");
  CHECK(test::error_of([&] { io::read_npz("/nonexistent/gkd.npz"); }) ==
        "/nonexistent/gkd.npz: not a readable file");
}

TEST_CASE("npz: randomly corrupted archives either parse or raise gkd::Error") {
  const Bytes whole = zip(sample_members());
  uint64_t state = test::fresh_seed();
  CAPTURE(state);
  int other_exceptions = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes b = whole;
    for (int flips = 0; flips < 1 + trial % 3; ++flips) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;  // LCG
      b[(state >> 33) % b.size()] ^= static_cast<uint8_t>(1u << ((state >> 20) % 8));
    }
    try {
      io::parse_npz(b, "r.npz");
    } catch (const Error&) {
    } catch (...) {
      ++other_exceptions;
    }
  }
  CHECK(other_exceptions == 0);
}

TEST_CASE("npz: a deflated member claiming more bytes than deflate can produce is refused") {
  // Header says 2^31 bytes from a few compressed ones: an error before any allocation.
  Bytes b = zip({{"a.npy", npy("<f4", "(1,)", raw(std::vector<float>{1.0f})), true, false}});
  b[22] = 0;
  b[23] = 0;
  b[24] = 0;
  b[25] = 0x80;
  CHECK(test::error_of([&] { io::parse_npz(b, "z.npz"); }).find("more than deflate expands") !=
        std::string::npos);
}

TEST_CASE("npy: malformed headers and data raise errors that name the field") {
  const Bytes four = raw(std::vector<float>{1, 2, 3, 4});
  auto msg = [](const Bytes& b) { return test::error_of([&] { io::parse_npy(b, "h.npy"); }); };
  Bytes bad_magic = npy("<f4", "(4,)", four);
  bad_magic[1] = 'X';
  CHECK(msg(bad_magic) == "h.npy: bad magic (not a .npy file)");
  CHECK(msg(npy_with_header("['descr', '<f4']\n"))
            .starts_with("h.npy: header: the header is not a dict"));
  CHECK(msg(npy("<c8", "(4,)", four)) ==
        "h.npy: unknown descr '<c8' (expected one of <f4, <f8, <i4, <i8, |b1, |u1)");
  CHECK(msg(npy(">f4", "(4,)", four)).starts_with("h.npy: descr '>f4' is big-endian"));
  CHECK(msg(npy("<f4", "(2, 2)", four, "True")).starts_with("h.npy: fortran_order is True"));
  CHECK(msg(npy("<f4", "(1, 2, 2)", four)) ==
        "h.npy: shape (1, 2, 2) has 3 dimensions (at most 2 are supported)");
  CHECK(msg(npy("<f4", "(3,)", four)) == "h.npy: data has 16 bytes (expected 4 * 3 = 12)");
  CHECK(msg(npy("<f4", "(4)", four)).starts_with("h.npy: header field 'shape' is not a tuple"));
  CHECK(msg(npy("<f4", "(-4,)", four)).starts_with("h.npy: header field 'shape' holds"));
  // A header claiming 10^12 elements in a tiny file: an error, not a 4 TB allocation.
  CHECK(msg(npy("<f4", "(1000000, 1000000)", four)) ==
        "h.npy: data has 16 bytes (expected 4 * 1000000000000 = 4000000000000)");
  CHECK(msg(npy("<f8", "(999999999999999999, 999999999999999999)", four))
            .starts_with("h.npy: shape (999999999999999999, 999999999999999999) needs more than"));
  CHECK(msg(npy_with_header("{'descr': '<f4', 'shape': (1,), }\n", raw(std::vector<float>{1})))
            .starts_with("h.npy: header lacks a key"));
  CHECK(msg(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n"))
            .starts_with("h.npy: header has unexpected key 'x'"));
  CHECK(msg(npy_with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}"))
            .starts_with("h.npy: header field 'descr' is not a simple type string"));
  CHECK(msg(npy("|b1", "(2,)", Bytes{1, 2})) ==
        "h.npy: bool element 1 holds byte 2 (expected 0 or 1)");
  Bytes long_header = npy("<f4", "(4,)", four);
  long_header[8] = 0xff;  // header length past the end of the file
  long_header[9] = 0xff;
  CHECK(msg(long_header).starts_with("h.npy: truncated: the header claims 65535 bytes"));
}
