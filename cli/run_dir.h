// A run directory, written crash-safely: files go into "<dir>.partial/" and commit() renames it to
// "<dir>" once the run has finished, so a directory without the suffix is always complete. If the
// run fails (an exception unwinds past the RunDir), the partial directory is removed and nothing
// is left behind.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace gkd::cli {

class RunDir {
 public:
  // Refuses an existing `path` (never overwrites a finished run); replaces a stale partial one.
  explicit RunDir(std::string path);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  // Whole files: written to a temporary name, flushed, then renamed (never torn).
  void write_json(const std::string& name, const nlohmann::json& value);
  // One JSON object per line of metrics.jsonl, flushed per line.
  void append_metrics(const nlohmann::json& line);
  // Where a file named `name` goes now (inside the partial directory until commit()).
  std::string file(const std::string& name) const { return partial_ + "/" + name; }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, partial_;
  std::ofstream metrics_;
  bool committed_ = false;
};

// "runs/<dataset>-<model>-<YYYYmmdd-HHMMSS>" in local time.
std::string default_run_path(const std::string& dataset, const std::string& model);

}  // namespace gkd::cli
