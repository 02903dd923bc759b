#include "engine/ops_graph.h"

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

// The graph lives on the context's device.
void check_graph(const Context& ctx, const char* op, const Graph& g) {
  GKD_CHECK(g.device() == ctx.device(), "[", op, "] the graph is on ", device_name(g.device()),
            " but the context is ", device_name(ctx.device()));
}

}  // namespace

void spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w, Tensor& y,
          const SpmmOptions& options) {
  check_graph(ctx, "spmm", g);
  check_on(ctx, "spmm", "x", x);
  check_on(ctx, "spmm", "y", y);
  GKD_CHECK(x.rows() == g.num_nodes(), "[spmm] x has ", x.rows(), " rows but the graph has ",
            g.num_nodes(), " nodes");
  check_dtype("spmm", "y", y, x.dtype());
  check_shape("spmm", "y", y, g.num_nodes(), x.cols());
  int64_t heads = 1;
  if (edge_w.defined()) {
    check_on(ctx, "spmm", "edge_w", edge_w);
    check_dtype("spmm", "edge_w", edge_w, x.dtype());
    GKD_CHECK(edge_w.rows() == g.num_edges(), "[spmm] edge_w has ", edge_w.rows(),
              " rows but the graph has ", g.num_edges(), " edges");
    GKD_CHECK(edge_w.is_contiguous(), "[spmm] edge_w must be contiguous (got a strided view)");
    heads = edge_w.cols();
    GKD_CHECK(heads >= 1 && x.cols() % heads == 0, "[spmm] x has ", x.cols(),
              " columns, not a multiple of the ", heads, " heads of edge_w");
  }
  dispatch_float(ctx, "spmm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SpmmArgs<T> a{options.transpose ? g.out_csr() : g.in_csr(),
                           edge_w.defined() ? edge_w.data<T>() : nullptr,
                           heads,
                           options.mean,
                           x.cview<T>(),
                           y.view<T>(),
                           options.accumulate};
    launch(ctx, a, kernels::cpu::spmm<T>, kernels::cuda::spmm);
  });
}

void sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
           const Tensor& v, Tensor& out, bool accumulate) {
  check_graph(ctx, "sddmm", g);
  check_on(ctx, "sddmm", "u", u);
  check_on(ctx, "sddmm", "v", v);
  check_on(ctx, "sddmm", "out", out);
  GKD_CHECK(u.rows() == g.num_nodes(), "[sddmm] u has ", u.rows(), " rows but the graph has ",
            g.num_nodes(), " nodes");
  check_dtype("sddmm", "v", v, u.dtype());
  check_dtype("sddmm", "out", out, u.dtype());
  check_shape("sddmm", "v", v, g.num_nodes(), u.cols());
  const int64_t heads = out.cols();
  GKD_CHECK(heads >= 1 && u.cols() % heads == 0, "[sddmm] u has ", u.cols(),
            " columns, not a multiple of the ", heads, " heads of out");
  check_shape("sddmm", "out", out, g.num_edges(), heads);
  dispatch_float(ctx, "sddmm", u.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SddmmArgs<T> a{g.in_csr(), op, heads, u.cview<T>(), v.cview<T>(), out.view<T>(),
                            accumulate};
    launch(ctx, a, kernels::cpu::sddmm<T>, kernels::cuda::sddmm);
  });
}

Tensor spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w, bool mean) {
  Tensor y = Tensor::empty(g.num_nodes(), x.cols(), x.dtype(), ctx.device());  // [N, H*F]
  spmm(ctx, g, x, edge_w, y, {.mean = mean});
  return y;
}

}  // namespace gkd::ops
