// A run directory, written crash-safely: files go into "<dir>.partial/" and commit() renames it to
// "<dir>" once the run has finished, so a directory without the suffix is always complete. If the
// run fails (an exception unwinds past the RunDir), the partial directory is removed and nothing
// is left behind, unless keep_on_failure() was called: then it stays for `gkd train --resume`.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace gkd::cli {

class RunDir {
 public:
  enum class Mode { kCreate, kResume };
  // kCreate refuses an existing `path` (never overwrites a finished run) and replaces a stale
  // partial one. kResume reopens "<path>.partial" (refusing a finished `path`), removes the
  // temporaries a killed process left there, and truncates metrics.jsonl (a resumed trainer
  // replays its recorded epochs); it implies keep_on_failure().
  explicit RunDir(std::string path, Mode mode = Mode::kCreate);
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
  // From now on a failure leaves "<path>.partial" in place (and says so on stderr): it holds
  // resumable training state.
  void keep_on_failure() { keep_on_failure_ = true; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, partial_;
  std::ofstream metrics_;
  bool committed_ = false;
  bool keep_on_failure_ = false;
};

// The run directory named by a user: "<dir>" or "<dir>.partial", with any trailing '/', as "<dir>".
std::string run_path_of(std::string path);

// "runs/<dataset>-<model>-<YYYYmmdd-HHMMSS>" in local time.
std::string default_run_path(const std::string& dataset, const std::string& model);

}  // namespace gkd::cli
