#!/ usr / bin / env python3
"""Plain-PyTorch reference for an online cohort (deep mutual learning) of K GCN students.

The peer of gkd's cohort throughput benchmark (bench/cohort_throughput.sh): the same data,
models (bench/reference/node_torch.py's GCN) and objective as `gkd distill --method dml`: each
student minimises CE on the training nodes + (1/(K-1)) sum over peers of KL(p_peer || p_self)
over every node, peers detached, one joint backward, one Adam step per student. Only the
training step of the whole cohort is timed.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from node_torch import GCN, gcn_norm_adj, load_npz, row_normalised_features, with_self_loops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="planetoid-layout .npz file")
    ap.add_argument("--students", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=110)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
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
    models = [GCN(x.shape[1], 16, int(y.max()) + 1, adj, 0.5) for _ in range(k)]
    opts = [torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=5e-4) for m in models]
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        logits = [m(x) for m in models]
        total = 0
        for i in range(k):
            loss = F.cross_entropy(logits[i][train], y[train])
            for j in range(k):
                if j != i:
                    loss = loss + F.kl_div(F.log_softmax(logits[i], 1),
                                           F.softmax(logits[j].detach(), 1),
                                           reduction="batchmean") / (k - 1)
            total = total + loss
        for o in opts:
            o.zero_grad()
        total.backward()
        for o in opts:
            o.step()
        times.append(1000.0 * (time.perf_counter() - t0))
    print(json.dumps({"impl": "pytorch", "students": k, "threads": args.threads,
                      "epoch_ms_median": statistics.median(times[args.warmup:]),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
