// Graph: a directed graph on N nodes stored twice, as CSR by destination (in-edges; the canonical
// edge order, edge id = position) and as the transposed CSR by source (out-edges) with an edge-id
// map back to canonical order. Forward aggregation walks the in-CSR row-parallel with no atomics;
// backward walks the out-CSR, so both are deterministic. Edge values ([E, H] tensors) are always
// stored in canonical order.
//
// A Graph is immutable and cheap to copy (shared state). Normalisations are computed once and
// cached. Block-diagonal batches keep per-graph node and edge offsets for readout.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/dtype.h"
#include "engine/tensor.h"
#include "kernels/common.h"

namespace gkd {

namespace detail {
struct GraphHost;
struct GraphDevice;
}  // namespace detail

enum class EdgeNorm {
  kGcnSymmetric,  // w_uv = 1 / sqrt(out_deg(u) * in_deg(v))  (DGL GraphConv norm="both")
  kMean,          // w_uv = 1 / in_deg(v)
};

class Graph {
 public:
  Graph();  // the empty graph on 0 nodes

  // Edges src[e] -> dst[e]. Rejects indices outside [0, num_nodes) and duplicate edges. When
  // `canonical_of_input` is given it receives, for each input edge, its canonical edge id, so
  // per-edge data given in input order can be permuted.
  static Graph from_edges(int64_t num_nodes, const std::vector<int32_t>& src,
                          const std::vector<int32_t>& dst,
                          std::vector<int64_t>* canonical_of_input = nullptr);
  // An in-CSR: row v lists the sources of v's in-edges, strictly increasing. Fully validated.
  static Graph from_csr(int64_t num_nodes, std::vector<int64_t> indptr,
                        std::vector<int32_t> indices);
  // The block-diagonal union; node ids of graph b are shifted by node_offsets()[b].
  static Graph batch(const std::vector<Graph>& graphs);

  int64_t num_nodes() const;
  int64_t num_edges() const;
  Device device() const;
  Graph to(Device device) const;  // shares the cached host arrays

  kernels::CsrView in_csr() const;   // rows = destinations, canonical order
  kernels::CsrView out_csr() const;  // rows = sources, edge_ids -> canonical id
  // Canonical edge e goes from edge_src()[e] to edge_dst()[e] (i32 [E, 1], on device()).
  const Tensor& edge_src() const;
  const Tensor& edge_dst() const;
  // Degrees as i32 [N, 1] on device(), and as host vectors.
  const Tensor& in_degrees() const;
  const Tensor& out_degrees() const;
  const std::vector<int64_t>& host_in_indptr() const;
  const std::vector<int32_t>& host_in_indices() const;
  const std::vector<int64_t>& host_out_indptr() const;
  const std::vector<int32_t>& host_out_indices() const;
  const std::vector<int32_t>& host_out_edge_ids() const;

  // Per-edge normalisation weights [E, 1] in canonical order, cached per (kind, dtype).
  const Tensor& norm(EdgeNorm kind, DType dtype = DType::kF32) const;
  bool has_all_self_loops() const;
  // The same graph with a self loop added to every node that lacks one (cached).
  const Graph& with_self_loops() const;

  // Batching: num_graphs() == 1 for an unbatched graph. Offsets have num_graphs() + 1 entries.
  int64_t num_graphs() const;
  const std::vector<int64_t>& node_offsets() const;
  const std::vector<int64_t>& edge_offsets() const;
  const Tensor& node_offsets_tensor() const;  // i64 [B + 1, 1] on device()

 private:
  Graph(std::shared_ptr<const detail::GraphHost> host, Device device);
  std::shared_ptr<const detail::GraphHost> host_;  // validated host arrays (source of truth)
  std::shared_ptr<detail::GraphDevice> dev_;       // tensors on device(), plus caches
};

}  // namespace gkd
