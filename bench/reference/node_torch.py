#!/usr/bin/env python3
"""Plain-PyTorch reference for full-batch node classification (GCN, GAT).

This is the peer that gkd's CPU speed benchmark compares against: the same
data, preprocessing, model and optimiser as the engine, written with nothing
but torch + numpy (no torch_geometric / torch_scatter / DGL) so that it runs
on Debian's python3-torch.  Only the training step (forward, loss, backward,
optimiser step) is timed; evaluation happens outside the timed region.
"""
import argparse
import json
import statistics
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# scatter_reduce is flagged "beta" in torch 1.13; the warning would pollute the
# benchmark's stderr on every run.
warnings.filterwarnings("ignore", message="scatter_reduce")

REQUIRED_KEYS = ("edge_index", "x_indptr", "x_indices", "x_data", "x_shape",
                 "y", "train_mask", "val_mask", "test_mask")


def fail(msg):
    print(f"node_torch.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def load_npz(path):
    """Read the planetoid .npz layout (see shared/data/README.md)."""
    try:
        with np.load(path) as z:
            missing = [k for k in REQUIRED_KEYS if k not in z.files]
            if missing:
                fail(f"{path}: missing key(s) {', '.join(missing)}")
            return {k: z[k] for k in REQUIRED_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        fail(f"cannot read {path}: {e}")


def row_normalised_features(d):
    """Sparse X with each row divided by its sum, as the engine does.  Done on
    the CSR arrays so X is never dense; all-zero rows have no entries, stay 0."""
    n, f = (int(v) for v in d["x_shape"])
    indptr = d["x_indptr"].astype(np.int64)
    data = d["x_data"].astype(np.float32)
    row = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    row_sum = np.bincount(row, weights=data, minlength=n).astype(np.float32)
    data = data / row_sum[row]
    idx = torch.from_numpy(np.stack([row, d["x_indices"].astype(np.int64)]))
    return torch.sparse_coo_tensor(idx, torch.from_numpy(data), (n, f)).coalesce()


def with_self_loops(edge_index, n):
    """(src, dst) of A + I; the raw edge list has no self loops."""
    loops = torch.arange(n, dtype=torch.int64)
    ei = torch.from_numpy(edge_index).long()
    return torch.cat([ei[0], loops]), torch.cat([ei[1], loops])


def gcn_norm_adj(src, dst, n):
    """Â = D^-1/2 (A+I) D^-1/2 as a sparse [N, N] tensor (row = destination)."""
    deg = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))
    dinv = deg.pow(-0.5)  # deg >= 1 thanks to the self loop
    vals = dinv[src] * dinv[dst]
    return torch.sparse_coo_tensor(torch.stack([dst, src]), vals, (n, n)).coalesce()


def sparse_dropout(x, p, training):
    """Dropout on a sparse tensor's stored values (inverted scaling): same as
    dense dropout, since dropping a zero changes nothing, but X stays sparse."""
    if not training or p == 0.0:
        return x
    vals = F.dropout(x.values(), p, True)
    # x's indices are already coalesced; say so, or torch re-sorts them every
    # epoch (torch 1.13 has no is_coalesced= argument on sparse_coo_tensor).
    return torch.sparse_coo_tensor(x.indices(), vals, x.shape)._coalesced_(True)


def dropout_any(x, p, training):  # X is sparse for layer 1, dense after
    return sparse_dropout(x, p, training) if x.is_sparse else F.dropout(x, p, training)


def matmul_any(x, w):
    return torch.sparse.mm(x, w) if x.is_sparse else x @ w


class GCN(nn.Module):
    """Kipf & Welling: logits = Â drop(relu(Â drop(X) W1 + b1)) W2 + b2."""

    def __init__(self, in_dim, hidden, out_dim, adj, p):
        super().__init__()
        self.adj, self.p = adj, p
        self.w1 = nn.Parameter(torch.empty(in_dim, hidden))
        self.b1 = nn.Parameter(torch.zeros(hidden))
        self.w2 = nn.Parameter(torch.empty(hidden, out_dim))
        self.b2 = nn.Parameter(torch.zeros(out_dim))
        nn.init.xavier_uniform_(self.w1)
        nn.init.xavier_uniform_(self.w2)

    def forward(self, x):
        x = dropout_any(x, self.p, self.training)
        # Transform first, then propagate: Â is applied to the narrow matrix.
        h = F.relu(torch.sparse.mm(self.adj, matmul_any(x, self.w1)) + self.b1)
        h = F.dropout(h, self.p, self.training)
        return torch.sparse.mm(self.adj, h @ self.w2) + self.b2


class GATLayer(nn.Module):
    """One multi-head graph attention layer over the edges src -> dst of A+I."""

    def __init__(self, in_dim, out_dim, heads, concat, p_feat, p_attn):
        super().__init__()
        self.heads, self.out_dim, self.concat = heads, out_dim, concat
        self.p_feat, self.p_attn = p_feat, p_attn
        self.w = nn.Parameter(torch.empty(in_dim, heads * out_dim))
        self.att_l = nn.Parameter(torch.empty(heads, out_dim))
        self.att_r = nn.Parameter(torch.empty(heads, out_dim))
        self.bias = nn.Parameter(torch.zeros(heads * out_dim if concat else out_dim))
        for t in (self.w, self.att_l, self.att_r):
            nn.init.xavier_uniform_(t)

    def forward(self, x, src, dst):
        n, h, c = x.shape[0], self.heads, self.out_dim
        x = dropout_any(x, self.p_feat, self.training)
        z = matmul_any(x, self.w).view(n, h, c)
        el = (z * self.att_l).sum(-1)  # [N, H] source-side score
        er = (z * self.att_r).sum(-1)  # [N, H] destination-side score
        e = F.leaky_relu(el[src] + er[dst], 0.2)  # [E, H]
        # Edge softmax per destination.  Subtracting the per-destination max is
        # only for numerical stability (softmax is shift invariant), so the max
        # is detached: it needs no gradient.  Every node has a self loop, so
        # each destination row receives at least one value.
        idx = dst.unsqueeze(-1).expand(-1, h)
        emax = torch.empty(n, h, device=e.device).scatter_reduce(
            0, idx, e.detach(), reduce="amax", include_self=False)
        ex = torch.exp(e - emax[dst])
        denom = torch.zeros(n, h, device=e.device).index_add_(0, dst, ex)
        alpha = F.dropout(ex / denom[dst], self.p_attn, self.training)
        # Weighted sum of source messages into each destination.
        out = torch.zeros(n, h, c, device=z.device).index_add_(0, dst, alpha.unsqueeze(-1) * z[src])
        out = out.reshape(n, h * c) if self.concat else out.mean(1)
        return out + self.bias


class GAT(nn.Module):
    """Veličković et al. Cora/CiteSeer setup: 8x8 heads + ELU, then C outputs."""

    def __init__(self, in_dim, out_dim, src, dst, heads=8, hidden=8, out_heads=1,
                 p_feat=0.6, p_attn=0.6):
        super().__init__()
        self.src, self.dst = src, dst
        self.l1 = GATLayer(in_dim, hidden, heads, True, p_feat, p_attn)
        self.l2 = GATLayer(heads * hidden, out_dim, out_heads, False, p_feat, p_attn)

    def forward(self, x):
        h = F.elu(self.l1(x, self.src, self.dst))
        return self.l2(h, self.src, self.dst)


def accuracy(pred, y, mask):  # percent
    return 100.0 * (pred[mask] == y[mask]).float().mean().item()


def timed_training(forward, model, opt, y, masks, epochs, sync):
    """Trains for `epochs` steps of cross-entropy on the training mask; returns the per-step times
    (ms: forward, loss, backward, optimiser step, the device synchronised before each clock read),
    the best validation accuracy and the test accuracy at the first epoch reaching it (selection
    is untimed)."""
    train_mask, val_mask, test_mask = masks
    times_ms, best_val, test_at_best = [], -1.0, 0.0
    for _ in range(epochs):
        sync()
        t0 = time.perf_counter()
        model.train()
        loss = F.cross_entropy(forward()[train_mask], y[train_mask])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
        times_ms.append(1000.0 * (time.perf_counter() - t0))
        model.eval()
        with torch.no_grad():
            pred = forward().argmax(1)
        val_acc = accuracy(pred, y, val_mask)
        if val_acc > best_val:  # first epoch reaching the best val wins ties
            best_val, test_at_best = val_acc, accuracy(pred, y, test_mask)
    return times_ms, best_val, test_at_best


def report(impl, args, times_ms, best_val, test_at_best):
    """Prints one run's figures (JSON with --json): the step-time median and minimum after the
    warm-up epochs, and the test accuracy at the best validation epoch."""
    timed = times_ms[args.warmup:]
    result = {
        "impl": impl,
        "torch_version": torch.__version__,
        "model": args.model,
        "dataset": Path(args.data).stem,
        "threads": args.threads,
        "device": args.device,
        "epochs": args.epochs,
        "epoch_ms_median": round(statistics.median(timed), 4),
        "epoch_ms_min": round(min(timed), 4),
        "test_acc_at_best_val": round(test_at_best, 2),
        "best_val_acc": round(best_val, 2),
    }
    print(json.dumps(result) if args.json else
          f"{impl} {torch.__version__} {args.model} {result['dataset']} on {args.device}, "
          f"threads={args.threads}: epoch median {result['epoch_ms_median']:.3f} ms (min "
          f"{result['epoch_ms_min']:.3f}), test acc @ best val {test_at_best:.2f}% "
          f"(val {best_val:.2f}%)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="planetoid-layout .npz file")
    ap.add_argument("--model", choices=("gcn", "gat"), required=True)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10,
                    help="leading epochs left out of the timing statistics")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-heads", type=int, default=1, help="GAT output heads (averaged)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (GPU sessions)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.epochs <= args.warmup:
        fail(f"--epochs ({args.epochs}) must exceed --warmup ({args.warmup})")
    if not Path(args.data).is_file():
        fail(f"no such file: {args.data}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    d = load_npz(args.data)
    x = row_normalised_features(d)
    n = x.shape[0]
    y = torch.from_numpy(d["y"]).long()
    masks = [torch.from_numpy(d[k]).bool() for k in ("train_mask", "val_mask", "test_mask")]
    if y.numel() != n or any(m.numel() != n for m in masks):
        fail(f"{args.data}: y/mask length does not match x_shape[0] = {n}")
    num_classes = int(y.max()) + 1
    src, dst = with_self_loops(d["edge_index"], n)

    dev = torch.device(args.device)
    adj = gcn_norm_adj(src, dst, n).to(dev) if args.model == "gcn" else None
    x, y, src, dst = x.to(dev), y.to(dev), src.to(dev), dst.to(dev)
    masks_on_device = [m.to(dev) for m in masks]
    if args.model == "gcn":
        model = GCN(x.shape[1], 16, num_classes, adj, 0.5).to(dev)
        lr = 0.01
    else:
        model = GAT(x.shape[1], num_classes, src, dst, out_heads=args.out_heads).to(dev)
        lr = 0.005
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    # On a GPU the clock is read once the device has finished the step.
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    times_ms, best_val, test_at_best = timed_training(
        lambda: model(x), model, opt, y, masks_on_device, args.epochs, sync)

    report("pytorch", args, times_ms, best_val, test_at_best)

if __name__ == "__main__":
    main()
