#!/usr/bin/env python3
"""PyTorch Geometric peer for full-batch node classification (GCN, GAT).

The framework gkd means to beat, as its users write it: GCNConv (cached
normalisation) and GATConv, dense row-normalised features, the hyper-parameters
of gkd's configs/{gcn,gat}_cora.json.  Only the training step (forward, loss,
backward, optimiser step) is timed, with the device synchronised before each
clock read; evaluation happens outside the timed region.  Needs torch_geometric
(the GPU machine's image has it; Debian's python3-torch does not).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

try:
    from torch_geometric.nn import GATConv, GCNConv
except ImportError:
    print("node_pyg.py: error: torch_geometric is not installed", file=sys.stderr)
    sys.exit(1)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_torch import fail, load_npz, report, timed_training  # noqa: E402  (shared with the peer)


class GCN(torch.nn.Module):
    def __init__(self, in_dim, hidden, out_dim, p):
        super().__init__()
        self.p = p
        self.c1 = GCNConv(in_dim, hidden, cached=True)
        self.c2 = GCNConv(hidden, out_dim, cached=True)

    def forward(self, x, edge_index):
        x = F.dropout(x, self.p, self.training)
        x = F.relu(self.c1(x, edge_index))
        x = F.dropout(x, self.p, self.training)
        return self.c2(x, edge_index)


class GAT(torch.nn.Module):
    def __init__(self, in_dim, out_dim, heads=8, hidden=8, p=0.6):
        super().__init__()
        self.p = p
        self.c1 = GATConv(in_dim, hidden, heads=heads, dropout=p)
        self.c2 = GATConv(heads * hidden, out_dim, heads=1, concat=False, dropout=p)

    def forward(self, x, edge_index):
        x = F.dropout(x, self.p, self.training)
        x = F.elu(self.c1(x, edge_index))
        x = F.dropout(x, self.p, self.training)
        return self.c2(x, edge_index)


def dense_row_normalised(d):
    n, f = (int(v) for v in d["x_shape"])
    x = np.zeros((n, f), dtype=np.float32)
    indptr = d["x_indptr"].astype(np.int64)
    row = np.repeat(np.arange(n), np.diff(indptr))
    x[row, d["x_indices"].astype(np.int64)] = d["x_data"].astype(np.float32)
    s = x.sum(1, keepdims=True)
    return torch.from_numpy(np.divide(x, s, out=np.zeros_like(x), where=s > 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="planetoid-layout .npz file")
    ap.add_argument("--model", choices=("gcn", "gat"), required=True)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.epochs <= args.warmup:
        fail(f"--epochs ({args.epochs}) must exceed --warmup ({args.warmup})")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    d = load_npz(args.data)
    x = dense_row_normalised(d).to(dev)
    y = torch.from_numpy(d["y"]).long().to(dev)
    masks = [torch.from_numpy(d[k]).bool().to(dev) for k in ("train_mask", "val_mask", "test_mask")]
    edge_index = torch.from_numpy(d["edge_index"]).long().to(dev)
    num_classes = int(y.max()) + 1
    if args.model == "gcn":
        model, lr = GCN(x.shape[1], 16, num_classes, 0.5).to(dev), 0.01
    else:
        model, lr = GAT(x.shape[1], num_classes).to(dev), 0.005
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    times_ms, best_val, test_at_best = timed_training(
        lambda: model(x, edge_index), model, opt, y, masks, args.epochs, sync)

    report("pyg", args, times_ms, best_val, test_at_best)

if __name__ == "__main__":
    main()
