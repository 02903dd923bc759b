#include "cli/run_dir.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "engine/error.h"

namespace gkd::cli {

namespace fs = std::filesystem;

RunDir::RunDir(std::string path, Mode mode) : path_(std::move(path)), partial_(path_ + ".partial") {
  std::error_code ec;
  if (mode == Mode::kResume) {
    GKD_CHECK(!fs::exists(path_), path_, ": the run finished already (nothing to resume)");
    GKD_CHECK(fs::is_directory(partial_), partial_,
              ": no unfinished run there (expected the directory a killed gkd train left)");
    // A killed process leaves its temporaries ("*.tmp", "*.tmp-<pid>") beside the files they
    // were about to replace; those files are intact, the temporaries are garbage.
    for (const fs::directory_entry& e : fs::directory_iterator(partial_, ec)) {
      if (e.path().filename().string().find(".tmp") != std::string::npos) fs::remove(e, ec);
    }
    keep_on_failure_ = true;
  } else {
    GKD_CHECK(!fs::exists(path_), path_,
              ": the run directory exists already (expected a new path)");
    fs::remove_all(partial_, ec);
    fs::create_directories(partial_, ec);
    GKD_CHECK(!ec, partial_, ": cannot create the run directory (", ec.message(), ")");
  }
  metrics_.open(partial_ + "/metrics.jsonl", std::ios::trunc);
  GKD_CHECK(metrics_.good(), partial_, "/metrics.jsonl: cannot be written");
}

RunDir::~RunDir() {
  if (committed_) return;
  metrics_.close();
  if (keep_on_failure_) {
    std::fprintf(stderr,
                 "gkd: the unfinished run stays in %s; continue it with gkd train --resume %s\n",
                 partial_.c_str(), path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(partial_, ec);  // best effort: a destructor must not throw
}

void RunDir::write_json(const std::string& name, const nlohmann::json& value) {
  const std::string final_name = partial_ + "/" + name, tmp = final_name + ".tmp";
  {
    std::ofstream out(tmp);
    out << value.dump(2) << '\n';
    out.flush();
    GKD_CHECK(out.good(), tmp, ": write failed");
  }
  std::error_code ec;
  fs::rename(tmp, final_name, ec);
  GKD_CHECK(!ec, final_name, ": cannot be written (", ec.message(), ")");
}

void RunDir::append_metrics(const nlohmann::json& line) {
  metrics_ << line.dump() << '\n';
  metrics_.flush();
  GKD_CHECK(metrics_.good(), partial_, "/metrics.jsonl: write failed");
}

void RunDir::commit() {
  metrics_.close();
  std::error_code ec;
  fs::rename(partial_, path_, ec);
  GKD_CHECK(!ec, path_, ": cannot finish the run directory (", ec.message(), ")");
  committed_ = true;
}

std::string run_path_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string suffix = ".partial";
  if (path.size() > suffix.size() && path.ends_with(suffix))
    path.resize(path.size() - suffix.size());
  return path;
}

std::string default_run_path(const std::string& dataset, const std::string& model) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + dataset + "-" + model + "-" + stamp;
}

}  // namespace gkd::cli
