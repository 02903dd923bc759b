#!/usr/bin/env python3
"""Plain-PyTorch reference for an online cohort of K GCN students (DML or Alignahead).

The peer of gkd's cohort throughput benchmark (bench/cohort_throughput.sh): the same data, models
and objective as `gkd distill --method dml` (configs/distill_dml_cora.json: 2-layer GCNs, hidden
16) or `--method alignahead` (configs/distill_alignahead_cora.json: 3-layer GCNs, hidden 64).
Each student minimises CE on the training nodes + (1/(K-1)) sum over peers of
  dml:        KL(p_peer || p_self) over every node
  alignahead: sum over hidden layers t of KL(P(h_peer^(t+1 mod L)) || P(h_self^(t))), P the LSP
              local structure (edge softmax over in-edges of exp(-|h_u - h_v|_1 / 100)), written
              the way the official code computes it: per-edge tensors of the feature width
peers detached, one joint backward, one Adam step per student. Only the training step of the
whole cohort is timed.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from node_torch import (GCN, dropout_any, gcn_norm_adj, load_npz, matmul_any,
                        row_normalised_features, with_self_loops)


class DeepGCN(torch.nn.Module):
    """GCN with `layers` layers that also returns every hidden layer's pre-activation state."""

    def __init__(self, in_dim, hidden, out_dim, layers, adj, p):
        super().__init__()
        self.adj, self.p = adj, p
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.w = torch.nn.ParameterList()
        self.b = torch.nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            w = torch.nn.Parameter(torch.empty(a, b))
            torch.nn.init.xavier_uniform_(w)
            self.w.append(w)
            self.b.append(torch.nn.Parameter(torch.zeros(b)))

    def forward(self, x):
        hidden = []
        h = x
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = dropout_any(h, self.p, self.training)
            h = torch.sparse.mm(self.adj, matmul_any(h, w)) + b
            if i + 1 < len(self.w):
                hidden.append(h)
                h = F.relu(h)
        return h, hidden


def log_structure(h, src, dst, n):
    """log P over each node's in-edges of exp(-|h_src - h_dst|_1 / 100): [E]."""
    a = torch.exp(-(h[src] - h[dst]).abs().sum(1) / 100.0)
    m = torch.full((n,), -float("inf")).scatter_reduce(0, dst, a, reduce="amax")
    z = a - m[dst]
    s = torch.zeros(n).index_add(0, dst, torch.exp(z))
    return z - torch.log(s[dst])


def structure_kl(h_self, h_peer, src, dst, n):
    """Mean over nodes of KL(P_peer || P_self), the peer detached."""
    ls = log_structure(h_self, src, dst, n)
    lt = log_structure(h_peer.detach(), src, dst, n)
    return torch.zeros(n).index_add(0, dst, torch.exp(lt) * (lt - ls)).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="planetoid-layout .npz file")
    ap.add_argument("--students", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=110)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", choices=["dml", "alignahead"], default="dml")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d = load_npz(args.data)
    x = row_normalised_features(d)
    n = x.shape[0]
    y = torch.from_numpy(d["y"]).long()
    train = torch.from_numpy(d["train_mask"]).bool()
    src, dst = with_self_loops(d["edge_index"], n)
    adj = gcn_norm_adj(src, dst, n)
    k = args.students
    classes = int(y.max()) + 1
    edges = torch.from_numpy(d["edge_index"]).long()  # the structure: the graph as stored
    e_src, e_dst = edges[0], edges[1]
    if args.method == "dml":
        models = [GCN(x.shape[1], 16, classes, adj, 0.5) for _ in range(k)]
    else:
        models = [DeepGCN(x.shape[1], 64, classes, 3, adj, 0.5) for _ in range(k)]
    opts = [torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=5e-4) for m in models]
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        outs = [m(x) for m in models]
        logits = [o[0] if isinstance(o, tuple) else o for o in outs]
        total = 0
        for i in range(k):
            loss = F.cross_entropy(logits[i][train], y[train])
            for j in range(k):
                if j == i:
                    continue
                if args.method == "dml":
                    loss = loss + F.kl_div(F.log_softmax(logits[i], 1),
                                           F.softmax(logits[j].detach(), 1),
                                           reduction="batchmean") / (k - 1)
                else:
                    hi, hj = outs[i][1], outs[j][1]
                    layers = len(hi)
                    for t in range(layers):
                        loss = loss + structure_kl(hi[t], hj[(t + 1) % layers], e_src, e_dst,
                                                   n) / (k - 1)
            total = total + loss
        for o in opts:
            o.zero_grad()
        total.backward()
        for o in opts:
            o.step()
        times.append(1000.0 * (time.perf_counter() - t0))
    print(json.dumps({"impl": "pytorch", "method": args.method, "students": k,
                      "threads": args.threads,
                      "epoch_ms_median": statistics.median(times[args.warmup:]),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
