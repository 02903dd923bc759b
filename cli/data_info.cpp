// gkd data info PATH: loads and validates a dataset (node .npz, TU or OGB folder), prints its
// statistics.
#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/data_source.h"

namespace gkd::cli {

namespace {

int print_graph_info(const io::GraphDataset& d) {
  int64_t nodes = 0, edges = 0, max_nodes = 0;
  std::vector<int64_t> counts(d.num_classes, 0);
  for (const io::GraphSample& s : d.samples) {
    nodes += s.graph.num_nodes();
    edges += s.graph.num_edges();
    max_nodes = std::max(max_nodes, s.graph.num_nodes());
    counts[s.label]++;
  }
  const double n = static_cast<double>(std::max<size_t>(1, d.samples.size()));
  fmt::print("dataset: {}\ngraphs: {}\n", d.name, d.samples.size());
  fmt::print("nodes: {} ({:.1f} per graph, at most {})\n", nodes, double(nodes) / n, max_nodes);
  fmt::print("edges: {} directed ({:.1f} per graph)\n", edges, double(edges) / n);
  const io::GraphSample* first = d.samples.empty() ? nullptr : &d.samples.front();
  const bool ids = first && first->x.dtype() == DType::kI64;
  fmt::print("node features: {} {}\n", d.num_node_features,
             ids ? "integer id columns (embedded)" : "dense");
  if (first && first->edge_attr.defined()) {
    fmt::print("edge features: {} integer id columns\n", first->edge_attr.cols());
  }
  std::string cc;
  for (int64_t c : counts) cc += (cc.empty() ? "" : ", ") + std::to_string(c);
  fmt::print("classes: {} (graphs per class: {})\n", d.num_classes, cc);
  if (d.train.empty()) {
    fmt::print("split: none shipped (gkd train uses stratified k-fold CV)\n");
  } else {
    fmt::print("split: train {}, val {}, test {}\n", d.train.size(), d.valid.size(), d.test.size());
  }
  return 0;
}

}  // namespace

int run_data(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: gkd data info PATH|synthetic[:key=value,...]\n"
      "  loads a dataset (a node-classification .npz, a TU or OGB folder), validating every\n"
      "  field, and prints its statistics\n";
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "--help" || sub == "-h") {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (sub != "info" || argc != 3) throw UsageError(std::string("expected `info PATH`\n") + kUsage);
  DataOptions o;
  o.spec = argv[2];
  if (is_graph_data(o.spec)) return print_graph_info(load_graph_data(o));
  const io::NodeDataset d = load_node_data(o, 0);
  const Graph& g = d.graph;
  int64_t isolated = 0, self_loops = 0, reciprocal = 0;
  const auto& indptr = g.host_in_indptr();
  const auto& src = g.host_in_indices();
  for (int64_t v = 0; v < g.num_nodes(); ++v) {
    isolated += indptr[v] == indptr[v + 1] && g.host_out_indptr()[v] == g.host_out_indptr()[v + 1];
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      const int32_t u = src[p];
      self_loops += u == v;
      // Is v -> u stored too? (in-row of u lists its sources, sorted)
      const auto b = src.begin() + indptr[u], e = src.begin() + indptr[u + 1];
      reciprocal += std::binary_search(b, e, static_cast<int32_t>(v));
    }
  }
  std::vector<int64_t> counts(d.num_classes, 0);
  for (int64_t y : d.y.to_vector<int64_t>()) counts[y]++;
  const auto count = [](const Tensor& m) {
    int64_t n = 0;
    for (uint8_t b : m.to_vector<uint8_t>()) n += b != 0;
    return n;
  };
  fmt::print("dataset: {}\n", d.name);
  fmt::print("nodes: {}\nedges: {} directed ({} with a reverse edge, {} self loops)\n",
             g.num_nodes(), g.num_edges(), reciprocal, self_loops);
  fmt::print("isolated nodes: {}\n", isolated);
  if (d.x.is_sparse()) {
    fmt::print("features: {} sparse, {} nonzeros ({:.2f}%)\n", d.x.cols(), d.x.sparse.nnz(),
               100.0 * static_cast<double>(d.x.sparse.nnz()) /
                   static_cast<double>(std::max<int64_t>(1, d.x.rows() * d.x.cols())));
  } else {
    fmt::print("features: {} dense\n", d.x.cols());
  }
  std::string cc;
  for (int64_t n : counts) cc += (cc.empty() ? "" : ", ") + std::to_string(n);
  fmt::print("classes: {} (nodes per class: {})\n", d.num_classes, cc);
  fmt::print("split: train {}, val {}, test {}\n", count(d.train_mask), count(d.val_mask),
             count(d.test_mask));
  return 0;
}

}  // namespace gkd::cli
