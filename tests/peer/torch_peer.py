#!/usr/bin/env python3
"""PyTorch peer for gkd's layers and losses (GUIDE §6, step 3).

Writes, for each case, the inputs, PyTorch's outputs and PyTorch's gradients of L = <R, out>
(R random) into OUT_DIR/<case>.txt; tests/peer/test_peer.cpp recomputes every case with gkd and
compares. Everything here is an independent *dense* formulation (adjacency matrices, masked
softmax), so a shared misunderstanding of CSR order, softmax direction, residual or KL direction
shows up as a mismatch.

File format, one array per line: `name rows cols v0 v1 ...` (row-major, repr of float64).
Exit code 77 (ctest: skipped) when torch is not importable.
"""
import os
import sys

try:
    import torch
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"python3-torch is not installed ({e}): skipping the PyTorch peer check")
    sys.exit(77)

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20261122)


def rand(*shape, scale=1.0):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * scale


def directed_graph(n, avg_degree, isolated, self_loops):
    """Random directed graph without duplicates; node `isolated` has no edges at all."""
    a = (torch.rand(n, n, generator=gen) < avg_degree / n).double()  # a[v, u] = 1: edge u -> v
    if not self_loops:
        a.fill_diagonal_(0)
    a[isolated, :] = 0
    a[:, isolated] = 0
    return a


def edges_of(a):
    """Edge list (src, dst) in gkd's canonical order: sorted by destination, then source."""
    dst, src = torch.nonzero(a, as_tuple=True)  # row-major over a[v, u] = sorted by (v, u)
    return src, dst


def masked_softmax_in_edges(scores, a):
    """scores[v, u] over the in-edges u -> v of each v; rows with no in-edges give zeros."""
    s = scores.masked_fill(a == 0, float("-inf"))
    p = torch.softmax(s, dim=1)
    return torch.nan_to_num(p, nan=0.0) * a


class Case:
    def __init__(self, name):
        self.name, self.lines = name, []

    def put(self, key, t):
        t = t.detach().to(torch.float64)
        if t.dim() == 1:
            t = t.reshape(-1, 1)
        rows, cols = t.shape
        vals = " ".join(repr(float(v)) for v in t.reshape(-1).tolist())
        self.lines.append(f"{key} {rows} {cols} {vals}".rstrip())

    def put_graph(self, a):
        src, dst = edges_of(a)
        self.put("num_nodes", torch.tensor([float(a.shape[0])]))
        self.put("src", src.double())
        self.put("dst", dst.double())

    def backward_with_projection(self, out, inputs):
        """Seeds R, writes R and d<R, out>/d input for every (name, tensor) in inputs."""
        r = rand(*out.shape)
        self.put("R", r)
        (out * r).sum().backward()
        for key, t in inputs:
            self.put("grad_" + key, t.grad if t.grad is not None else torch.zeros_like(t))

    def write(self, out_dir):
        with open(os.path.join(out_dir, self.name + ".txt"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def gcn_layer(out_dir):
    """DGL GraphConv(norm='both') on A + I: relu(D_in^-1/2 (A+I) D_out^-1/2 X W + b)."""
    n, fin, fout = 13, 5, 4
    a = directed_graph(n, 3.0, isolated=n - 1, self_loops=False)
    c = Case("gcn_layer")
    c.put_graph(a)
    x, w, b = rand(n, fin).requires_grad_(), rand(fin, fout).requires_grad_(), rand(fout).requires_grad_()
    a_hat = a + torch.eye(n)
    d_in, d_out = a_hat.sum(1), a_hat.sum(0)
    norm = d_in.rsqrt().reshape(-1, 1) * a_hat * d_out.rsqrt().reshape(1, -1)
    out = torch.relu(norm @ (x @ w) + b)
    for key, t in (("x", x), ("w", w), ("b", b)):
        c.put(key, t)
    c.put("out", out)
    c.backward_with_projection(out, [("x", x), ("w", w), ("b", b)])
    c.write(out_dir)


def gat_layer(out_dir):
    """DGL-0.4 GATConv: per-head attention vectors, LeakyReLU(0.2), softmax over in-edges,
    linear residual without bias, no output bias; isolated destinations aggregate to 0."""
    n, fin, heads, f = 12, 6, 3, 4
    a = directed_graph(n, 3.0, isolated=4, self_loops=True)
    c = Case("gat_layer")
    c.put_graph(a)
    x = rand(n, fin).requires_grad_()
    w = rand(fin, heads * f).requires_grad_()
    attn_l = rand(heads, f).requires_grad_()  # source side
    attn_r = rand(heads, f).requires_grad_()  # destination side
    w_res = rand(fin, heads * f).requires_grad_()
    z = (x @ w).reshape(n, heads, f)
    el = (z * attn_l).sum(-1)  # [N, H] per source
    er = (z * attn_r).sum(-1)  # [N, H] per destination
    outs = []
    for h in range(heads):
        e = torch.nn.functional.leaky_relu(er[:, h].reshape(-1, 1) + el[:, h].reshape(1, -1), 0.2)
        alpha = masked_softmax_in_edges(e, a)  # alpha[v, u]
        outs.append(alpha @ z[:, h, :])
    out = torch.cat(outs, dim=1) + x @ w_res
    for key, t in (("x", x), ("w", w), ("attn_l", attn_l), ("attn_r", attn_r), ("w_res", w_res)):
        c.put(key, t)
    c.put("out", out)
    c.backward_with_projection(out, [("x", x), ("w", w), ("attn_l", attn_l), ("attn_r", attn_r),
                                     ("w_res", w_res)])
    c.write(out_dir)


def edge_softmax(out_dir):
    """Softmax of per-edge, per-head scores over each destination's in-edges."""
    n, heads = 15, 2
    a = directed_graph(n, 4.0, isolated=0, self_loops=True)
    src, dst = edges_of(a)
    c = Case("edge_softmax")
    c.put_graph(a)
    scores = rand(len(src), heads, scale=3.0).requires_grad_()
    cols = []
    for h in range(heads):
        dense = torch.zeros(n, n).index_put((dst, src), scores[:, h])
        cols.append(masked_softmax_in_edges(dense, a)[dst, src])
    p = torch.stack(cols, dim=1)
    c.put("scores", scores)
    c.put("out", p)
    c.backward_with_projection(p, [("scores", scores)])
    c.write(out_dir)


def structure_kl(out_dir):
    """LSP local-structure KL (methods.md §1.3): a_e = exp(-||h_u - h_v||_1 / 100), P = softmax of
    a over in-edges, loss = mean over all N nodes of KL(P_teacher || P_student)."""
    n, ds, dt = 14, 6, 9
    a = directed_graph(n, 3.0, isolated=7, self_loops=False)
    c = Case("structure_kl")
    c.put_graph(a)
    hs = rand(n, ds, scale=10.0).requires_grad_()
    ht = rand(n, dt, scale=10.0).requires_grad_()

    def distribution(h):
        dist = (h.unsqueeze(0) - h.unsqueeze(1)).abs().sum(-1)  # dist[v, u] = ||h_u - h_v||_1
        return masked_softmax_in_edges(torch.exp(-dist / 100.0), a)

    ps, pt = distribution(hs), distribution(ht)
    log_ratio = torch.where(a > 0, torch.log(pt.clamp_min(1e-300)) - torch.log(ps.clamp_min(1e-300)),
                            torch.zeros_like(pt))
    loss = (pt * log_ratio).sum() / n
    c.put("h_student", hs)
    c.put("h_teacher", ht)
    c.put("out", loss.reshape(1, 1))
    c.backward_with_projection(loss.reshape(1, 1), [("h_student", hs), ("h_teacher", ht)])
    c.write(out_dir)


def cohort_kl(out_dir):
    """Deep mutual learning for K = 3 students at once (kernels/cohort.h): row m of the output is
    T^2/(K-1) * sum over peers p of the mean over rows of KL(softmax(z_p/T) || softmax(z_m/T)),
    the peers detached in student m's row (no gradient into a peer through another's term)."""
    n, classes, k, t = 11, 5, 3, 2.0
    c = Case("cohort_kl")
    z = [rand(n, classes, scale=3.0).requires_grad_() for _ in range(k)]
    rows = []
    for m in range(k):
        log_q_m = torch.log_softmax(z[m] / t, dim=1)
        total = 0
        for p in range(k):
            if p == m:
                continue
            q_p = torch.softmax(z[p].detach() / t, dim=1)
            total = total + (q_p * (torch.log(q_p) - log_q_m)).sum(1).mean()
        rows.append(t * t * total / (k - 1))
    out = torch.stack(rows).reshape(k, 1)
    for m in range(k):
        c.put(f"z{m}", z[m])
    c.put("out", out)
    c.backward_with_projection(out, [(f"z{m}", z[m]) for m in range(k)])
    c.write(out_dir)


def binary_kd(out_dir):
    """Multi-label KD (distill/offline.h): T^2 * the mean over nodes and labels of the binary KL
    of sigmoid(z_t / T) to sigmoid(z_s / T), the teacher constant."""
    n, labels, t = 9, 6, 2.5
    c = Case("binary_kd")
    zs = rand(n, labels, scale=4.0).requires_grad_()
    zt = rand(n, labels, scale=4.0)
    ps, pt = torch.sigmoid(zs / t), torch.sigmoid(zt / t)
    kl = pt * (torch.log(pt) - torch.log(ps)) + (1 - pt) * (torch.log1p(-pt) - torch.log1p(-ps))
    out = (t * t * kl.mean()).reshape(1, 1)
    c.put("z_student", zs)
    c.put("z_teacher", zt)
    c.put("out", out)
    c.backward_with_projection(out, [("z_student", zs)])
    c.write(out_dir)


def named_params(case, shapes):
    """Random leaf tensors named as gkd's named_parameters(), written as param:<name>."""
    params = {}
    for name, shape in shapes:
        params[name] = rand(*shape).requires_grad_()
        case.put("param:" + name, params[name])
    return params


def gat_model(out_dir):
    """models::Model, GAT, 3 layers (DGL 0.4 semantics): every layer over A + I; hidden layers
    concatenate 2 heads, then ELU; the output layer averages 2 heads; layers after the first add a
    learned linear residual (per head, before the mean); every layer has a bias."""
    n, fin, f, heads, classes = 11, 5, 4, 2, 3
    a = directed_graph(n, 3.0, isolated=3, self_loops=False)
    c = Case("gat_model")
    c.put_graph(a)
    a_hat = a + torch.eye(n)
    x = rand(n, fin)
    c.put("x", x)
    shapes = [("layer0.weight", (fin, heads * f)), ("layer0.attn_src", (1, heads * f)),
              ("layer0.attn_dst", (1, heads * f)), ("layer0.bias", (1, heads * f)),
              ("layer1.weight", (heads * f, heads * f)), ("layer1.attn_src", (1, heads * f)),
              ("layer1.attn_dst", (1, heads * f)), ("layer1.res_weight", (heads * f, heads * f)),
              ("layer1.bias", (1, heads * f)),
              ("layer2.weight", (heads * f, heads * classes)),
              ("layer2.attn_src", (1, heads * classes)), ("layer2.attn_dst", (1, heads * classes)),
              ("layer2.res_weight", (heads * f, heads * classes)), ("layer2.bias", (1, classes))]
    p = named_params(c, shapes)

    def layer(h, k, width, residual, mean):
        z = (h @ p[f"layer{k}.weight"]).reshape(n, heads, width)
        el = (z * p[f"layer{k}.attn_src"].reshape(heads, width)).sum(-1)
        er = (z * p[f"layer{k}.attn_dst"].reshape(heads, width)).sum(-1)
        outs = []
        for hd in range(heads):
            e = torch.nn.functional.leaky_relu(er[:, hd].reshape(-1, 1) + el[:, hd].reshape(1, -1), 0.2)
            outs.append(masked_softmax_in_edges(e, a_hat) @ z[:, hd, :])
        out = torch.stack(outs, dim=1)  # [N, H, F]
        if residual:
            out = out + (h @ p[f"layer{k}.res_weight"]).reshape(n, heads, width)
        out = out.mean(1) if mean else out.reshape(n, heads * width)
        return out + p[f"layer{k}.bias"]

    h = torch.nn.functional.elu(layer(x, 0, f, False, False))
    h = torch.nn.functional.elu(layer(h, 1, f, True, False))
    out = layer(h, 2, classes, True, True)
    c.put("out", out)
    c.backward_with_projection(out, [("param:" + k, v) for k, v in p.items()])
    c.write(out_dir)


def gin_graph_model(out_dir):
    """models::GraphModel with Xu et al.'s GIN in training mode: per layer
    z = W2 relu(BN(W1 ((A + I) h) + b1)) + b2, h = relu(BN(z)); logits = sum over the input and
    every layer of Linear(sum readout per graph). BatchNorm1d with batch statistics; the running
    statistics after the step are compared too."""
    sizes, fin, hid, classes = [4, 6, 5], 3, 4, 2
    c = Case("gin_graph_model")
    blocks = []
    for k, nk in enumerate(sizes):
        ak = directed_graph(nk, 2.0, isolated=nk - 1, self_loops=False)
        src, dst = edges_of(ak)
        c.put(f"n{k}", torch.tensor([float(nk)]))
        c.put(f"src{k}", src.double())
        c.put(f"dst{k}", dst.double())
        blocks.append(ak)
    a = torch.block_diag(*blocks)
    n = a.shape[0]
    member = torch.zeros(len(sizes), n)  # member[b, v] = 1: node v is in graph b
    at = 0
    for k, nk in enumerate(sizes):
        member[k, at:at + nk] = 1
        at += nk
    x = rand(n, fin)
    c.put("x", x)
    shapes = []
    for l, width_in in ((1, fin), (2, hid)):
        shapes += [(f"layer{l}.mlp_weight1", (width_in, hid)), (f"layer{l}.mlp_bias1", (1, hid)),
                   (f"layer{l}.mlp_weight2", (hid, hid)), (f"layer{l}.mlp_bias2", (1, hid)),
                   (f"layer{l}.mlp_bn_weight", (1, hid)), (f"layer{l}.mlp_bn_bias", (1, hid))]
    shapes += [(f"norm{l}.{w}", (1, hid)) for l in (1, 2) for w in ("weight", "bias")]
    shapes += [("head0.weight", (fin, classes)), ("head0.bias", (1, classes))]
    shapes += [(f"head{l}.{w}", (hid, classes) if w == "weight" else (1, classes))
               for l in (1, 2) for w in ("weight", "bias")]
    p = named_params(c, shapes)
    running = {}

    def bn(t, prefix):
        rm, rv = torch.zeros(hid), torch.ones(hid)
        y = torch.nn.functional.batch_norm(t, rm, rv, p[prefix + "weight"].reshape(-1),
                                           p[prefix + "bias"].reshape(-1), training=True,
                                           momentum=0.1, eps=1e-5)
        running[prefix + "running_mean"], running[prefix + "running_var"] = rm, rv
        return y

    logits = member @ x @ p["head0.weight"] + p["head0.bias"]
    h = x
    for l in (1, 2):
        agg = (a + torch.eye(n)) @ h @ p[f"layer{l}.mlp_weight1"] + p[f"layer{l}.mlp_bias1"]
        z = torch.relu(bn(agg, f"layer{l}.mlp_bn_")) @ p[f"layer{l}.mlp_weight2"] + p[f"layer{l}.mlp_bias2"]
        h = torch.relu(bn(z, f"norm{l}."))
        logits = logits + member @ h @ p[f"head{l}.weight"] + p[f"head{l}.bias"]
    for k, v in running.items():
        c.put("buffer:" + k, v.reshape(1, -1))
    c.put("out", logits)
    c.backward_with_projection(logits, [("param:" + k, v) for k, v in p.items()])
    c.write(out_dir)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    cases = (gcn_layer, gat_layer, edge_softmax, structure_kl, cohort_kl, binary_kd, gat_model,
             gin_graph_model)
    for make in cases:
        make(out_dir)
    print(f"torch {torch.__version__}: wrote {len(cases)} peer cases to {out_dir}")


if __name__ == "__main__":
    main()
