#include "engine/graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "engine/error.h"

namespace gkd {
namespace detail {

struct GraphHost {
  int64_t num_nodes = 0;
  std::vector<int64_t> in_indptr{0};   // [N + 1]
  std::vector<int32_t> in_indices;     // [E] source of each canonical edge
  std::vector<int64_t> out_indptr{0};  // [N + 1]
  std::vector<int32_t> out_indices;    // [E] destination of each out-CSR position
  std::vector<int32_t> out_edge_ids;   // [E] canonical id of each out-CSR position
  std::vector<int64_t> node_offsets{0, 0};
  std::vector<int64_t> edge_offsets{0, 0};
};

struct GraphDevice {
  Tensor in_indptr, in_indices, out_indptr, out_indices, out_edge_ids;  // [N+1]/[E], i64/i32
  Tensor edge_src, edge_dst, in_degrees, out_degrees, node_offsets;
  std::mutex mutex;  // guards the caches below
  std::map<std::pair<EdgeNorm, DType>, Tensor> norms;
  std::unique_ptr<Graph> self_loops;
};

}  // namespace detail

namespace {

using detail::GraphHost;

template <class T>
Tensor column(const std::vector<T>& v, Device device) {
  return Tensor::from_vector<T>(static_cast<int64_t>(v.size()), 1, v).to(device);
}

void check_sizes(int64_t num_nodes, size_t num_edges, const char* op) {
  GKD_CHECK(num_nodes >= 0 && num_nodes <= std::numeric_limits<int32_t>::max(), "[", op,
            "] num_nodes is ", num_nodes, " (expected 0 <= num_nodes <= 2^31 - 1)");
  GKD_CHECK(num_edges <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "[", op, "] ",
            num_edges, " edges (expected at most 2^31 - 1: edge ids are int32)");
}

// The transposed CSR by counting sort on the source. Stable in canonical order, which is sorted by
// destination, so each out-row lists its destinations in increasing order.
void build_transpose(GraphHost& h) {
  const int64_t n = h.num_nodes;
  const size_t e = h.in_indices.size();
  h.out_indptr.assign(n + 1, 0);
  for (int32_t src : h.in_indices) h.out_indptr[src + 1]++;
  for (int64_t v = 0; v < n; ++v) h.out_indptr[v + 1] += h.out_indptr[v];
  std::vector<int64_t> next(h.out_indptr.begin(), h.out_indptr.end() - 1);
  h.out_indices.resize(e);
  h.out_edge_ids.resize(e);
  for (int64_t v = 0; v < n; ++v) {
    for (int64_t p = h.in_indptr[v]; p < h.in_indptr[v + 1]; ++p) {
      const int64_t q = next[h.in_indices[p]]++;
      h.out_indices[q] = static_cast<int32_t>(v);
      h.out_edge_ids[q] = static_cast<int32_t>(p);
    }
  }
}

}  // namespace

Graph::Graph() : Graph(std::make_shared<GraphHost>(), Device::kCPU) {}

Graph::Graph(std::shared_ptr<const GraphHost> host, Device device)
    : host_(std::move(host)), dev_(std::make_shared<detail::GraphDevice>()) {
  const GraphHost& h = *host_;
  auto& d = *dev_;
  d.in_indptr = column(h.in_indptr, device);
  d.in_indices = column(h.in_indices, device);
  d.out_indptr = column(h.out_indptr, device);
  d.out_indices = column(h.out_indices, device);
  d.out_edge_ids = column(h.out_edge_ids, device);
  d.node_offsets = column(h.node_offsets, device);
  std::vector<int32_t> dst(h.in_indices.size()), in_deg(h.num_nodes), out_deg(h.num_nodes);
  for (int64_t v = 0; v < h.num_nodes; ++v) {
    in_deg[v] = static_cast<int32_t>(h.in_indptr[v + 1] - h.in_indptr[v]);
    out_deg[v] = static_cast<int32_t>(h.out_indptr[v + 1] - h.out_indptr[v]);
    std::fill(dst.begin() + h.in_indptr[v], dst.begin() + h.in_indptr[v + 1],
              static_cast<int32_t>(v));
  }
  d.edge_src = d.in_indices;
  d.edge_dst = column(dst, device);
  d.in_degrees = column(in_deg, device);
  d.out_degrees = column(out_deg, device);
}

Graph Graph::from_csr(int64_t num_nodes, std::vector<int64_t> indptr,
                      std::vector<int32_t> indices) {
  check_sizes(num_nodes, indices.size(), "Graph::from_csr");
  GKD_CHECK(static_cast<int64_t>(indptr.size()) == num_nodes + 1, "[Graph::from_csr] indptr has ",
            indptr.size(), " entries (expected num_nodes + 1 = ", num_nodes + 1, ")");
  GKD_CHECK(indptr[0] == 0, "[Graph::from_csr] indptr[0] is ", indptr[0], " (expected 0)");
  GKD_CHECK(indptr[num_nodes] == static_cast<int64_t>(indices.size()),
            "[Graph::from_csr] indptr[num_nodes] is ", indptr[num_nodes],
            " (expected nnz = ", indices.size(), ")");
  // indptr first, completely: the index loop below reads indices[indptr[v]..indptr[v+1]).
  for (int64_t v = 0; v < num_nodes; ++v) {
    GKD_CHECK(indptr[v] <= indptr[v + 1], "[Graph::from_csr] indptr decreases at row ", v, " (",
              indptr[v], " > ", indptr[v + 1], ")");
  }
  for (int64_t v = 0; v < num_nodes; ++v) {
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      GKD_CHECK(indices[p] >= 0 && indices[p] < num_nodes, "[Graph::from_csr] indices[", p, "] is ",
                indices[p], " (expected a node id in [0, ", num_nodes, "))");
      GKD_CHECK(p == indptr[v] || indices[p - 1] < indices[p], "[Graph::from_csr] row ", v,
                " is not strictly increasing at indices[", p, "] (", indices[p - 1], " then ",
                indices[p], "): CSR rows must be sorted without duplicates");
    }
  }
  auto h = std::make_shared<GraphHost>();
  h->num_nodes = num_nodes;
  h->in_indptr = std::move(indptr);
  h->in_indices = std::move(indices);
  h->node_offsets = {0, num_nodes};
  h->edge_offsets = {0, static_cast<int64_t>(h->in_indices.size())};
  build_transpose(*h);
  return Graph(std::move(h), Device::kCPU);
}

Graph Graph::from_edges(int64_t num_nodes, const std::vector<int32_t>& src,
                        const std::vector<int32_t>& dst, std::vector<int64_t>* canonical_of_input) {
  check_sizes(num_nodes, src.size(), "Graph::from_edges");
  GKD_CHECK(src.size() == dst.size(), "[Graph::from_edges] src has ", src.size(),
            " entries, dst has ", dst.size(), " (expected equal lengths)");
  for (size_t e = 0; e < src.size(); ++e) {
    GKD_CHECK(src[e] >= 0 && src[e] < num_nodes, "[Graph::from_edges] src[", e, "] is ", src[e],
              " (expected a node id in [0, ", num_nodes, "))");
    GKD_CHECK(dst[e] >= 0 && dst[e] < num_nodes, "[Graph::from_edges] dst[", e, "] is ", dst[e],
              " (expected a node id in [0, ", num_nodes, "))");
  }
  std::vector<int64_t> order(src.size());
  for (size_t e = 0; e < order.size(); ++e) order[e] = static_cast<int64_t>(e);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return dst[a] != dst[b] ? dst[a] < dst[b] : src[a] < src[b];
  });
  std::vector<int64_t> indptr(num_nodes + 1, 0);
  std::vector<int32_t> indices(src.size());
  for (size_t p = 0; p < order.size(); ++p) {
    const int64_t e = order[p];
    if (p > 0 && dst[order[p - 1]] == dst[e] && src[order[p - 1]] == src[e]) {
      GKD_FAIL("[Graph::from_edges] duplicate edge ", src[e], " -> ", dst[e], " (input edges ",
               order[p - 1], " and ", e, "); remove duplicates first");
    }
    indptr[dst[e] + 1]++;
    indices[p] = src[e];
  }
  for (int64_t v = 0; v < num_nodes; ++v) indptr[v + 1] += indptr[v];
  if (canonical_of_input) {
    canonical_of_input->assign(src.size(), 0);
    for (size_t p = 0; p < order.size(); ++p) (*canonical_of_input)[order[p]] = p;
  }
  return from_csr(num_nodes, std::move(indptr), std::move(indices));
}

Graph Graph::batch(const std::vector<Graph>& graphs) {
  auto h = std::make_shared<GraphHost>();
  h->node_offsets = {0};
  h->edge_offsets = {0};
  for (const Graph& g : graphs) {
    GKD_CHECK(g.num_graphs() == 1, "[Graph::batch] input is itself a batch of ", g.num_graphs(),
              " graphs (expected single graphs)");
    const int64_t node_base = h->num_nodes, edge_base = h->in_indptr.back();
    const GraphHost& gh = *g.host_;
    for (int64_t v = 0; v < gh.num_nodes; ++v)
      h->in_indptr.push_back(edge_base + gh.in_indptr[v + 1]);
    for (int32_t u : gh.in_indices) h->in_indices.push_back(static_cast<int32_t>(u + node_base));
    h->num_nodes += gh.num_nodes;
    check_sizes(h->num_nodes, h->in_indices.size(), "Graph::batch");
    h->node_offsets.push_back(h->num_nodes);
    h->edge_offsets.push_back(static_cast<int64_t>(h->in_indices.size()));
  }
  build_transpose(*h);
  return Graph(std::move(h), Device::kCPU);
}

int64_t Graph::num_nodes() const {
  return host_->num_nodes;
}
int64_t Graph::num_edges() const {
  return static_cast<int64_t>(host_->in_indices.size());
}
Device Graph::device() const {
  return dev_->in_indptr.device();
}

Graph Graph::to(Device device) const {
  if (device == this->device()) return *this;
  return Graph(host_, device);
}

kernels::CsrView Graph::in_csr() const {
  return {num_nodes(),
          num_nodes(),
          num_edges(),
          dev_->in_indptr.data<int64_t>(),
          dev_->in_indices.data<int32_t>(),
          nullptr};
}

kernels::CsrView Graph::out_csr() const {
  return {num_nodes(),
          num_nodes(),
          num_edges(),
          dev_->out_indptr.data<int64_t>(),
          dev_->out_indices.data<int32_t>(),
          dev_->out_edge_ids.data<int32_t>()};
}

const Tensor& Graph::edge_src() const {
  return dev_->edge_src;
}
const Tensor& Graph::edge_dst() const {
  return dev_->edge_dst;
}
const Tensor& Graph::in_degrees() const {
  return dev_->in_degrees;
}
const Tensor& Graph::out_degrees() const {
  return dev_->out_degrees;
}
const std::vector<int64_t>& Graph::host_in_indptr() const {
  return host_->in_indptr;
}
const std::vector<int32_t>& Graph::host_in_indices() const {
  return host_->in_indices;
}
const std::vector<int64_t>& Graph::host_out_indptr() const {
  return host_->out_indptr;
}
const std::vector<int32_t>& Graph::host_out_indices() const {
  return host_->out_indices;
}
const std::vector<int32_t>& Graph::host_out_edge_ids() const {
  return host_->out_edge_ids;
}

const Tensor& Graph::norm(EdgeNorm kind, DType dtype) const {
  GKD_CHECK(is_floating(dtype), "[Graph::norm] dtype ", dtype_name(dtype),
            " (expected f32 or f64)");
  std::lock_guard<std::mutex> lock(dev_->mutex);
  auto& slot = dev_->norms[{kind, dtype}];
  if (slot.defined()) return slot;
  const GraphHost& h = *host_;
  std::vector<double> w(h.in_indices.size());
  for (int64_t v = 0; v < h.num_nodes; ++v) {
    const double in_deg = static_cast<double>(h.in_indptr[v + 1] - h.in_indptr[v]);
    for (int64_t p = h.in_indptr[v]; p < h.in_indptr[v + 1]; ++p) {
      const int32_t u = h.in_indices[p];
      const double out_deg = static_cast<double>(h.out_indptr[u + 1] - h.out_indptr[u]);
      // Both degrees are >= 1 here: the edge itself counts in each.
      w[p] = kind == EdgeNorm::kMean ? 1.0 / in_deg : 1.0 / std::sqrt(out_deg * in_deg);
    }
  }
  slot = Tensor::from_vector<double>(static_cast<int64_t>(w.size()), 1, w)
             .to_dtype(dtype)
             .to(device());
  return slot;
}

bool Graph::has_all_self_loops() const {
  const GraphHost& h = *host_;
  for (int64_t v = 0; v < h.num_nodes; ++v) {
    auto begin = h.in_indices.begin() + h.in_indptr[v],
         end = h.in_indices.begin() + h.in_indptr[v + 1];
    if (!std::binary_search(begin, end, static_cast<int32_t>(v))) return false;
  }
  return true;
}

const Graph& Graph::with_self_loops() const {
  std::lock_guard<std::mutex> lock(dev_->mutex);
  if (dev_->self_loops) return *dev_->self_loops;
  const GraphHost& h = *host_;
  auto out = std::make_shared<GraphHost>(h);
  out->in_indptr.assign(1, 0);
  out->in_indices.clear();
  for (int64_t v = 0; v < h.num_nodes; ++v) {
    auto begin = h.in_indices.begin() + h.in_indptr[v];
    auto end = h.in_indices.begin() + h.in_indptr[v + 1];
    auto at = std::lower_bound(begin, end, static_cast<int32_t>(v));
    out->in_indices.insert(out->in_indices.end(), begin, at);
    if (at == end || *at != v) out->in_indices.push_back(static_cast<int32_t>(v));
    out->in_indices.insert(out->in_indices.end(), at, end);
    out->in_indptr.push_back(static_cast<int64_t>(out->in_indices.size()));
  }
  for (size_t b = 0; b < h.node_offsets.size(); ++b) {
    out->edge_offsets[b] = out->in_indptr[h.node_offsets[b]];
  }
  check_sizes(out->num_nodes, out->in_indices.size(), "Graph::with_self_loops");
  build_transpose(*out);
  dev_->self_loops = std::make_unique<Graph>(Graph(std::move(out), device()));
  return *dev_->self_loops;
}

int64_t Graph::num_graphs() const {
  return static_cast<int64_t>(host_->node_offsets.size()) - 1;
}
const std::vector<int64_t>& Graph::node_offsets() const {
  return host_->node_offsets;
}
const std::vector<int64_t>& Graph::edge_offsets() const {
  return host_->edge_offsets;
}
const Tensor& Graph::node_offsets_tensor() const {
  return dev_->node_offsets;
}

}  // namespace gkd
