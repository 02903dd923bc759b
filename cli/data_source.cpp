#include "cli/data_source.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "cli/commands.h"
#include "engine/error.h"
#include "engine/io/ogb.h"
#include "engine/io/synthetic.h"
#include "engine/io/tu.h"
#include "engine/memory_budget.h"
#include "models/footprint.h"

namespace gkd::cli {
namespace {

namespace fs = std::filesystem;

// synthetic[:key=value,...] -> CsbmOptions; unknown keys and bad numbers are usage errors.
io::CsbmOptions parse_synthetic(const std::string& spec) {
  io::CsbmOptions o;
  if (spec == "synthetic") return o;
  std::string rest = spec.substr(std::string("synthetic:").size());
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw UsageError("--data " + spec + ": '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') {
      throw UsageError("--data " + spec + ": " + key + "=" + text + " is not a number");
    }
    // Counts and the seed are cast to integers: keep them where the cast is exact.
    if (!std::isfinite(v) || v < 0 || v > 9e15) {
      throw UsageError("--data " + spec + ": " + key + "=" + text +
                       " is out of range (expected 0 .. 9e15)");
    }
    if (key == "nodes") {
      o.num_nodes = static_cast<int64_t>(v);
    } else if (key == "classes") {
      o.num_classes = static_cast<int64_t>(v);
    } else if (key == "features") {
      o.num_features = static_cast<int64_t>(v);
    } else if (key == "degree") {
      o.avg_degree = v;
    } else if (key == "homophily") {
      o.homophily = v;
    } else if (key == "signal") {
      o.signal = v;
    } else if (key == "seed") {
      o.seed = static_cast<uint64_t>(v);
    } else {
      throw UsageError("--data " + spec + ": unknown key '" + key +
                       "' (expected nodes, classes, features, degree, homophily, signal, seed)");
    }
  }
  return o;
}

}  // namespace

std::string resolve_data_path(const std::string& spec) {
  if (fs::exists(spec) || fs::path(spec).is_absolute()) return spec;
  const char* env = std::getenv("GKD_DATA_DIR");
  const fs::path under = fs::path(env && *env ? env : "../shared/data") / spec;
  return fs::exists(under) ? under.string() : spec;
}

bool is_synthetic(const std::string& spec) {
  return spec == "synthetic" || spec.rfind("synthetic:", 0) == 0;
}

bool is_ppi_data(const std::string& spec) {
  return !is_synthetic(spec) && fs::exists(fs::path(resolve_data_path(spec)) / "train_graph.json");
}

bool is_graph_data(const std::string& spec) {
  return !is_synthetic(spec) && fs::is_directory(resolve_data_path(spec)) && !is_ppi_data(spec);
}

io::PpiDataset load_ppi_data(const DataOptions& o) {
  const std::string path = resolve_data_path(o.spec);
  check_fits(Device::kCPU, "loading " + path, models::estimate_folder_load_bytes(path));
  return io::load_ppi(path);
}

io::GraphDataset load_graph_data(const DataOptions& o) {
  const fs::path path = resolve_data_path(o.spec);
  check_fits(Device::kCPU, "loading " + path.string(),
             models::estimate_folder_load_bytes(path.string()));
  if (fs::exists(path / "raw" / "num-node-list.csv.gz")) return io::load_ogb_graph(path.string());
  const std::string name =
      path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
  GKD_CHECK(fs::exists(path / (name + "_A.txt")), path.string(),
            ": not a dataset folder (expected TU's ", name,
            "_A.txt or OGB's raw/num-node-list.csv.gz)");
  return io::load_tu(path.string(), {.node_attributes = o.node_attributes});
}

io::NodeDataset load_node_data(const DataOptions& o, uint64_t split_seed) {
  if (is_synthetic(o.spec)) {
    if (o.features != "as-stored" || o.split != "auto") {
      throw UsageError("--data " + o.spec +
                       ": the synthetic graph has dense features and its own split (expected "
                       "--features as-stored --split auto)");
    }
    const io::CsbmOptions csbm = parse_synthetic(o.spec);
    // The generator holds its edge lists besides the dataset it builds: about twice the dataset.
    const double edges = std::min(static_cast<double>(csbm.num_nodes) * csbm.avg_degree, 9e15);
    const int64_t dataset = models::estimate_dataset_bytes({.nodes = csbm.num_nodes,
                                                            .edges = static_cast<int64_t>(edges),
                                                            .features = csbm.num_features,
                                                            .classes = csbm.num_classes});
    check_fits(Device::kCPU, "generating --data " + o.spec,
               dataset > std::numeric_limits<int64_t>::max() / 2 ? dataset : 2 * dataset);
    return io::make_csbm(csbm);
  }
  const std::string path = resolve_data_path(o.spec);
  GKD_CHECK(fs::is_regular_file(path), path,
            ": no such file (expected a .npz dataset, or synthetic[:key=value,...]; relative paths "
            "are also looked up under $GKD_DATA_DIR, default ../shared/data)");
  io::NodeNpzOptions n;
  n.features = o.features == "row-normalize" ? io::FeatureTransform::kRowNormalize
               : o.features == "binarize"    ? io::FeatureTransform::kBinarize
                                             : io::FeatureTransform::kNone;
  n.split = o.split == "public"      ? io::SplitKind::kPublic
            : o.split == "per-class" ? io::SplitKind::kPerClass
                                     : io::SplitKind::kAuto;
  n.per_class.train_per_class = o.train_per_class;
  n.per_class.val_per_class = o.val_per_class;
  n.per_class.seed = split_seed;
  return io::load_node_npz(path, n);
}

}  // namespace gkd::cli
