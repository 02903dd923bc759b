"""A fixture in PPI's public PyG/DGL layout for CLI tests: usage make_ppi_fixture.py FOLDER [N].

{train,valid,test}_graph.json (networkx node_link_data), _feats.npy, _labels.npy, _graph_id.npy:
4 / 1 / 1 ring graphs of N+ nodes (default 12), 5 Gaussian features, 3 labels (label j is the sign
of feature j: learnable).
"""
import json
import os
import sys

import numpy as np

d, rng = sys.argv[1], np.random.default_rng(7)
size = int(sys.argv[2]) if len(sys.argv) > 2 else 12
os.makedirs(d, exist_ok=True)
for split, graphs in [("train", 4), ("valid", 1), ("test", 1)]:
    nodes, links, ids, base = [], [], [], 0
    for g in range(graphs):
        n = size + g
        nodes += [{"id": base + v} for v in range(n)]
        links += [{"source": base + v, "target": base + (v + 1) % n} for v in range(n)]
        ids += [g + 1] * n
        base += n
    x = rng.normal(size=(base, 5)).astype(np.float32)
    y = (x[:, :3] > 0).astype(np.float32)
    json.dump({"directed": False, "multigraph": False, "graph": {}, "nodes": nodes,
               "links": links}, open(os.path.join(d, split + "_graph.json"), "w"))
    np.save(os.path.join(d, split + "_feats.npy"), x)
    np.save(os.path.join(d, split + "_labels.npy"), y)
    np.save(os.path.join(d, split + "_graph_id.npy"), np.array(ids, dtype=np.int64))
