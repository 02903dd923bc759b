// What the gkd-bench commands share: flag parsing, the benchmark graphs and medians.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"

namespace gkd::bench {

// The value after `name` on the command line, or `fallback`.
std::string flag(int argc, char** argv, const std::string& name, const std::string& fallback);
// A positive integer flag; a malformed value is an error naming the flag.
int64_t int_flag(int argc, char** argv, const std::string& name, int64_t fallback);
// A comma-separated list flag, e.g. --feat 16,32,64.
std::vector<std::string> list_flag(int argc, char** argv, const std::string& name,
                                   const std::string& fallback);
std::vector<int64_t> int_list_flag(int argc, char** argv, const std::string& name,
                                   const std::string& fallback);

// A benchmark graph by name: csbm (--nodes, --degree), rmat (--scale, --edge-factor), the R-MAT
// graphs at the scale of ogbn-arxiv, Reddit and ogbn-products (arxiv | reddit | products), or the
// graph of a node-classification .npz (a path ending in .npz, e.g.
// ../shared/data/planetoid/cora.npz).
Graph make_graph(const std::string& name, int argc, char** argv);

// The median of `values` (reordered).
double median(std::vector<double>& values);

}  // namespace gkd::bench
