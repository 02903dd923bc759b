#include "bench/bench_common.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "engine/error.h"
#include "engine/io/node_dataset.h"
#include "engine/io/synthetic.h"

namespace gkd::bench {

std::string flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

namespace {
int64_t positive(const std::string& name, const std::string& text) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  GKD_CHECK(!text.empty() && end && *end == '\0' && v > 0, "gkd-bench: ", name,
            " expects positive integers (got '", text, "')");
  return v;
}
}  // namespace

int64_t int_flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  const std::string text = flag(argc, argv, name, "");
  return text.empty() ? fallback : positive(name, text);
}

std::vector<std::string> list_flag(int argc, char** argv, const std::string& name,
                                   const std::string& fallback) {
  std::vector<std::string> items;
  std::stringstream in(flag(argc, argv, name, fallback));
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  GKD_CHECK(!items.empty(), "gkd-bench: ", name, " is empty");
  return items;
}

std::vector<int64_t> int_list_flag(int argc, char** argv, const std::string& name,
                                   const std::string& fallback) {
  std::vector<int64_t> values;
  for (const std::string& item : list_flag(argc, argv, name, fallback)) {
    values.push_back(positive(name, item));
  }
  return values;
}

Graph make_graph(const std::string& name, int argc, char** argv) {
  if (name.size() > 4 && name.ends_with(".npz")) return io::load_node_npz(name).graph;
  if (name == "csbm") {
    io::CsbmOptions o;
    o.num_nodes = int_flag(argc, argv, "--nodes", 100000);
    o.avg_degree = static_cast<double>(int_flag(argc, argv, "--degree", 16));
    o.num_features = 4;
    return io::make_csbm(o).graph;
  }
  io::RmatOptions r;
  if (name == "rmat") {
    r.scale = int_flag(argc, argv, "--scale", 16);
    r.edge_factor = int_flag(argc, argv, "--edge-factor", 16);
  } else if (name == "arxiv") {
    r.scale = 17, r.edge_factor = 8;
  } else if (name == "reddit") {
    r.scale = 18, r.edge_factor = 200;
  } else if (name == "products") {
    r.scale = 21, r.edge_factor = 16;
  } else {
    GKD_FAIL("gkd-bench: --graph ", name,
             " (expected csbm, rmat, arxiv, reddit, products or a path to a .npz)");
  }
  return io::make_rmat(r);
}

double median(std::vector<double>& values) {
  GKD_CHECK(!values.empty(), "gkd-bench: no timings");
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

}  // namespace gkd::bench
