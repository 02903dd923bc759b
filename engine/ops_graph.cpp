#include "engine/ops_graph.h"

#include <algorithm>
#include <vector>

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

// An edge tensor [E, H] whose dtype and head count set those of the op; returns H.
int64_t check_edge_values(const Context& ctx, const char* op, const char* name, const Tensor& t,
                          const Graph& g) {
  check_on(ctx, op, name, t);
  GKD_CHECK(t.cols() >= 1, "[", op, "] ", name, " has no columns (expected [E, H], H >= 1)");
  check_shape(op, name, t, g.num_edges(), t.cols());
  return t.cols();
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
                           options.accumulate,
                           options.variant};
    launch(ctx, a, kernels::cpu::spmm<T>, kernels::cuda::spmm);
  });
}

void sparse_matmul(const Context& ctx, const SparseMatrix& a, const Tensor& x, Tensor& y,
                   const SparseMatmulOptions& options) {
  GKD_CHECK(a.device() == ctx.device(), "[sparse_matmul] the matrix is on ",
            device_name(a.device()), " but the context is ", device_name(ctx.device()));
  const int64_t out_rows = options.transpose ? a.cols() : a.rows();
  const int64_t in_rows = options.transpose ? a.rows() : a.cols();
  check_on(ctx, "sparse_matmul", "x", x);
  check_dtype("sparse_matmul", "x", x, a.dtype());
  GKD_CHECK(x.rows() == in_rows, "[sparse_matmul] x has ", x.rows(), " rows (expected ", in_rows,
            " for a ", options.transpose ? "transposed " : "", "[", a.rows(), ", ", a.cols(),
            "] matrix)");
  check_tensor(ctx, "sparse_matmul", "y", y, out_rows, x.cols(), a.dtype());
  dispatch_float(ctx, "sparse_matmul", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SpmmArgs<T> args{options.transpose ? a.csr_transposed() : a.csr(),
                              a.values().data<T>(),
                              1,
                              false,
                              x.cview<T>(),
                              y.view<T>(),
                              options.accumulate};
    launch(ctx, args, kernels::cpu::spmm<T>, kernels::cuda::spmm);
  });
}

Tensor sparse_matmul(const Context& ctx, const SparseMatrix& a, const Tensor& x) {
  Tensor y = Tensor::empty(a.rows(), x.cols(), x.dtype(), ctx.device());
  sparse_matmul(ctx, a, x, y);
  return y;
}

void sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
           const Tensor& v, Tensor& out, bool accumulate, const char* variant) {
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
    kernels::SddmmArgs<T> a{g.in_csr(),    op,         heads,  u.cview<T>(), v.cview<T>(),
                            out.view<T>(), accumulate, variant};
    launch(ctx, a, kernels::cpu::sddmm<T>, kernels::cuda::sddmm);
  });
}

Tensor spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w, bool mean) {
  Tensor y = Tensor::empty(g.num_nodes(), x.cols(), x.dtype(), ctx.device());  // [N, H*F]
  spmm(ctx, g, x, edge_w, y, {.mean = mean});
  return y;
}

Tensor sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
             const Tensor& v, int64_t heads) {
  Tensor out = Tensor::empty(g.num_edges(), heads, u.dtype(), ctx.device());  // [E, H]
  sddmm(ctx, g, op, u, v, out);
  return out;
}

void sddmm_backward(const Context& ctx, const Graph& g, kernels::SddmmOp op, kernels::SddmmSide wrt,
                    const Tensor& u, const Tensor& v, const Tensor& grad, Tensor& d,
                    bool accumulate) {
  const char* name = "sddmm_backward";
  check_graph(ctx, name, g);
  check_on(ctx, name, "u", u);
  GKD_CHECK(u.rows() == g.num_nodes(), "[", name, "] u has ", u.rows(), " rows but the graph has ",
            g.num_nodes(), " nodes");
  check_tensor(ctx, name, "v", v, g.num_nodes(), u.cols(), u.dtype());
  check_tensor(ctx, name, "d", d, g.num_nodes(), u.cols(), u.dtype());
  const int64_t heads = check_edge_values(ctx, name, "grad", grad, g);
  check_dtype(name, "grad", grad, u.dtype());
  GKD_CHECK(u.cols() % heads == 0, "[", name, "] u has ", u.cols(),
            " columns, not a multiple of the ", heads, " heads of grad");
  dispatch_float(ctx, name, u.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SddmmBackwardArgs<T> a{.a = wrt == kernels::SddmmSide::kU ? g.out_csr() : g.in_csr(),
                                    .op = op,
                                    .wrt = wrt,
                                    .heads = heads,
                                    .u = u.cview<T>(),
                                    .v = v.cview<T>(),
                                    .grad = grad.cview<T>(),
                                    .d = d.view<T>(),
                                    .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::sddmm_backward<T>, kernels::cuda::sddmm_backward);
  });
}

void u_add_v(const Context& ctx, const Graph& g, const Tensor& a_src, const Tensor& a_dst,
             Tensor& out, const UAddVOptions& options) {
  const char* name = "u_add_v";
  check_graph(ctx, name, g);
  check_on(ctx, name, "a_src", a_src);
  GKD_CHECK(a_src.rows() == g.num_nodes(), "[", name, "] a_src has ", a_src.rows(),
            " rows but the graph has ", g.num_nodes(), " nodes");
  check_tensor(ctx, name, "a_dst", a_dst, g.num_nodes(), a_src.cols(), a_src.dtype());
  check_tensor(ctx, name, "out", out, g.num_edges(), a_src.cols(), a_src.dtype());
  GKD_CHECK(!options.leaky_relu || options.negative_slope >= 0, "[", name, "] negative_slope is ",
            options.negative_slope, " (expected >= 0)");
  dispatch_float(ctx, name, a_src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::UAddVArgs<T> a{.a = g.in_csr(),
                            .a_src = a_src.cview<T>(),
                            .a_dst = a_dst.cview<T>(),
                            .leaky_relu = options.leaky_relu,
                            .negative_slope = static_cast<T>(options.negative_slope),
                            .out = out.view<T>(),
                            .accumulate = options.accumulate};
    launch(ctx, a, kernels::cpu::u_add_v<T>, kernels::cuda::u_add_v);
  });
}

Tensor u_add_v(const Context& ctx, const Graph& g, const Tensor& a_src, const Tensor& a_dst,
               const UAddVOptions& options) {
  Tensor out = Tensor::empty(g.num_edges(), a_src.cols(), a_src.dtype(), ctx.device());  // [E, H]
  UAddVOptions o = options;
  o.accumulate = false;
  u_add_v(ctx, g, a_src, a_dst, out, o);
  return out;
}

void edge_reduce(const Context& ctx, const Graph& g, const Tensor& w, Tensor& out,
                 const EdgeReduceOptions& options) {
  const char* name = "edge_reduce";
  check_graph(ctx, name, g);
  const int64_t heads = check_edge_values(ctx, name, "w", w, g);
  check_tensor(ctx, name, "out", out, g.num_nodes(), heads, w.dtype());
  if (options.leaky_gate)
    check_tensor(ctx, name, "leaky_gate", *options.leaky_gate, g.num_edges(), heads, w.dtype());
  dispatch_float(ctx, name, w.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeReduceArgs<T> a{
        .a = options.transpose ? g.out_csr() : g.in_csr(),
        .w = w.cview<T>(),
        .gate = options.leaky_gate ? options.leaky_gate->cview<T>() : kernels::ConstMatView<T>{},
        .negative_slope = static_cast<T>(options.negative_slope),
        .out = out.view<T>(),
        .accumulate = options.accumulate};
    launch(ctx, a, kernels::cpu::edge_reduce<T>, kernels::cuda::edge_reduce);
  });
}

Tensor edge_reduce(const Context& ctx, const Graph& g, const Tensor& w, bool transpose) {
  Tensor out = Tensor::empty(g.num_nodes(), w.cols(), w.dtype(), ctx.device());  // [N, H]
  edge_reduce(ctx, g, w, out, {.transpose = transpose});
  return out;
}

void edge_map(const Context& ctx, const EdgeMap& map, const Tensor& x, Tensor& y, bool accumulate) {
  check_on(ctx, "edge_map", "x", x);
  check_tensor(ctx, "edge_map", "y", y, x.rows(), x.cols(), x.dtype());
  dispatch_float(ctx, "edge_map", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeMapArgs<T> a{.op = map.op,
                              .scale = static_cast<T>(map.scale),
                              .shift = static_cast<T>(map.shift),
                              .degree = static_cast<T>(map.degree),
                              .x = x.cview<T>(),
                              .y = y.view<T>(),
                              .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::edge_map<T>, kernels::cuda::edge_map);
  });
}

void edge_map_backward(const Context& ctx, const EdgeMap& map, const Tensor& x, const Tensor& dy,
                       Tensor& dx, bool accumulate) {
  const char* name = "edge_map_backward";
  check_on(ctx, name, "x", x);
  check_tensor(ctx, name, "dy", dy, x.rows(), x.cols(), x.dtype());
  check_tensor(ctx, name, "dx", dx, x.rows(), x.cols(), x.dtype());
  dispatch_float(ctx, name, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeMapBackwardArgs<T> a{.op = map.op,
                                      .scale = static_cast<T>(map.scale),
                                      .shift = static_cast<T>(map.shift),
                                      .degree = static_cast<T>(map.degree),
                                      .x = x.cview<T>(),
                                      .dy = dy.cview<T>(),
                                      .dx = dx.view<T>(),
                                      .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::edge_map_backward<T>, kernels::cuda::edge_map_backward);
  });
}

void edge_softmax(const Context& ctx, const Graph& g, const Tensor& z, Tensor& p, bool log,
                  const char* variant) {
  const char* name = "edge_softmax";
  check_graph(ctx, name, g);
  const int64_t heads = check_edge_values(ctx, name, "z", z, g);
  check_tensor(ctx, name, "p", p, g.num_edges(), heads, z.dtype());
  dispatch_float(ctx, name, z.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeSoftmaxArgs<T> a{
        .a = g.in_csr(), .z = z.cview<T>(), .p = p.view<T>(), .log = log, .variant = variant};
    launch(ctx, a, kernels::cpu::edge_softmax<T>, kernels::cuda::edge_softmax);
  });
}

Tensor edge_softmax(const Context& ctx, const Graph& g, const Tensor& z, bool log) {
  Tensor p = Tensor::empty(g.num_edges(), z.cols(), z.dtype(), ctx.device());  // [E, H]
  edge_softmax(ctx, g, z, p, log);
  return p;
}

void edge_softmax_backward(const Context& ctx, const Graph& g, const Tensor& y, const Tensor& dy,
                           Tensor& dz, bool log, bool accumulate) {
  const char* name = "edge_softmax_backward";
  check_graph(ctx, name, g);
  const int64_t heads = check_edge_values(ctx, name, "y", y, g);
  check_tensor(ctx, name, "dy", dy, g.num_edges(), heads, y.dtype());
  check_tensor(ctx, name, "dz", dz, g.num_edges(), heads, y.dtype());
  dispatch_float(ctx, name, y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeSoftmaxBackwardArgs<T> a{.a = g.in_csr(),
                                          .y = y.cview<T>(),
                                          .dy = dy.cview<T>(),
                                          .dz = dz.view<T>(),
                                          .log = log,
                                          .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::edge_softmax_backward<T>, kernels::cuda::edge_softmax_backward);
  });
}

void edge_kl(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq, Tensor& kl,
             bool accumulate) {
  const char* name = "edge_kl";
  check_graph(ctx, name, g);
  const int64_t heads = check_edge_values(ctx, name, "lp", lp, g);
  check_tensor(ctx, name, "lq", lq, g.num_edges(), heads, lp.dtype());
  check_tensor(ctx, name, "kl", kl, g.num_nodes(), heads, lp.dtype());
  dispatch_float(ctx, name, lp.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeKlArgs<T> a{.a = g.in_csr(),
                             .lp = lp.cview<T>(),
                             .lq = lq.cview<T>(),
                             .kl = kl.view<T>(),
                             .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::edge_kl<T>, kernels::cuda::edge_kl);
  });
}

Tensor edge_kl(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq) {
  Tensor kl = Tensor::empty(g.num_nodes(), lp.cols(), lp.dtype(), ctx.device());  // [N, H]
  edge_kl(ctx, g, lp, lq, kl);
  return kl;
}

void edge_kl_backward(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq,
                      const Tensor& dkl, Tensor* dlp, Tensor* dlq, bool accumulate) {
  const char* name = "edge_kl_backward";
  check_graph(ctx, name, g);
  const int64_t heads = check_edge_values(ctx, name, "lp", lp, g);
  check_tensor(ctx, name, "lq", lq, g.num_edges(), heads, lp.dtype());
  check_tensor(ctx, name, "dkl", dkl, g.num_nodes(), heads, lp.dtype());
  if (dlp) check_tensor(ctx, name, "dlp", *dlp, g.num_edges(), heads, lp.dtype());
  if (dlq) check_tensor(ctx, name, "dlq", *dlq, g.num_edges(), heads, lp.dtype());
  if (!dlp && !dlq) return;
  dispatch_float(ctx, name, lp.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::EdgeKlBackwardArgs<T> a{.a = g.in_csr(),
                                     .lp = lp.cview<T>(),
                                     .lq = lq.cview<T>(),
                                     .dkl = dkl.cview<T>(),
                                     .dlp = dlp ? dlp->view<T>() : kernels::MatView<T>{},
                                     .dlq = dlq ? dlq->view<T>() : kernels::MatView<T>{},
                                     .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::edge_kl_backward<T>, kernels::cuda::edge_kl_backward);
  });
}

}  // namespace gkd::ops
