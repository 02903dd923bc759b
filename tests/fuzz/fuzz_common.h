// Shared helpers of the fuzz harnesses (tests/fuzz/*.cpp): a per-input temporary folder and the
// multi-file container format. Header-only so that each harness stays one translation unit.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gkd_fuzz {

// A fresh folder under $TMPDIR (or /tmp), unique per process and input, removed on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gkd-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("gkd fuzz: mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(("gkd fuzz: " + path).c_str());
    std::abort();
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    std::perror(("gkd fuzz: " + path).c_str());
    std::abort();
  }
  std::fclose(f);
}

// The container: parts separated by `sep`, at most `max_parts` of them (the last part keeps any
// further separators). Missing trailing parts are empty.
inline std::vector<std::string_view> split_parts(std::string_view in, std::string_view sep,
                                                 size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = in.find(sep);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + sep.size());
  }
  parts.push_back(in);
  parts.resize(max_parts);
  return parts;
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace gkd_fuzz
