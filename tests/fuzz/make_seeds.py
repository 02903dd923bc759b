#!/usr/bin/env python3
"""Seed inputs of the gkd fuzz targets (tests/fuzz/*.cpp). Standard library only.

  make_seeds.py [OUT]            writes the committed seeds, OUT/<target>/*, small hand-made
                                 fixtures (default OUT: tests/fuzz/corpus next to this script)
  make_seeds.py --real DATA OUT  packs the first graphs of the real datasets under DATA
                                 (shared/data: tu/*, ogb/*) into the container formats of the tu
                                 and ogb targets, OUT/<target>/real-* (at most 16 KB each); run
                                 time only, never committed

Container formats (see each harness): tu = six text files joined by b'\\0'; ogb = a mode byte
(even: nine CSV texts joined by b'\\0', gzip applied by the harness; odd: a file index byte and
one raw .gz file); ppi = twelve files joined by PPI_SEP; checkpoint = a mode byte (odd: the
harness recomputes the header's length and CRC) and the file; npz = a mode byte (odd: the harness
recomputes the stored members' CRC-32) and the archive.
"""
import gzip
import io
import json
import os
import struct
import sys
import zipfile
import zlib

PPI_SEP = b"\n==GKDPART==\n"
TU_FILES = ["A", "graph_indicator", "graph_labels", "node_labels", "node_attributes", "edge_labels"]
OGB_FILES = ["raw/num-node-list.csv.gz", "raw/num-edge-list.csv.gz", "raw/node-feat.csv.gz",
             "raw/edge.csv.gz", "raw/edge-feat.csv.gz", "raw/graph-label.csv.gz",
             "split/scaffold/train.csv.gz", "split/scaffold/valid.csv.gz",
             "split/scaffold/test.csv.gz"]


# ---- .npy / .npz ---------------------------------------------------------------------------------
def npy(descr, shape, values, version=1):
    """A .npy file; `values` are packed with the struct code of `descr`."""
    code = {"<f4": "f", "<f8": "d", "<i4": "i", "<i8": "q", "|b1": "B", "|u1": "B"}[descr]
    if len(shape) == 1:
        shape_text = "(%d,)" % shape[0]
    else:
        shape_text = "(" + ", ".join(str(d) for d in shape) + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(header) + 1) % 64) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    data = struct.pack("<%d%s" % (len(values), code), *values)
    return b"\x93NUMPY" + bytes([version, 0]) + size + header + data


def npz(members, deflate=False):
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


def node_dataset(sparse, masks, deflate=False):
    # 4 nodes on a path 0-1-2-3 (both directions), 2 classes, 3 features.
    src, dst = [0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]
    m = [("edge_index", npy("<i8", (2, 6), src + dst)), ("y", npy("<i8", (4,), [0, 1, 0, 1]))]
    if sparse:
        m += [("x_indptr", npy("<i8", (5,), [0, 1, 3, 4, 5])),
              ("x_indices", npy("<i4", (5,), [0, 1, 2, 0, 2])),
              ("x_data", npy("<f4", (5,), [1.0, 1.0, 2.0, 1.0, 3.0])),
              ("x_shape", npy("<i8", (2,), [4, 3]))]
    else:
        m += [("x", npy("<f4", (4, 3), [float(i % 3) for i in range(12)]))]
    if masks:
        m += [("train_mask", npy("|b1", (4,), [1, 1, 0, 0])),
              ("val_mask", npy("|b1", (4,), [0, 0, 1, 0])),
              ("test_mask", npy("|b1", (4,), [0, 0, 0, 1]))]
    return npz(m, deflate)


# ---- checkpoint ----------------------------------------------------------------------------------
def checkpoint(metadata, tensors):
    codes = {"f4": (1, "f"), "f8": (2, "d"), "i4": (3, "i"), "i8": (4, "q"), "u1": (5, "B")}
    p = struct.pack("<Q", len(metadata)) + metadata + struct.pack("<Q", len(tensors))
    for name, kind, rows, cols, values in tensors:
        code, fmt = codes[kind]
        nb = name.encode()
        p += struct.pack("<I", len(nb)) + nb + struct.pack("<Bqq", code, rows, cols)
        p += struct.pack("<%d%s" % (len(values), fmt), *values)
    header = b"GKDCKPT\0" + struct.pack("<IIQI", 1, 0, len(p), zlib.crc32(p) & 0xFFFFFFFF)
    return header + p


# ---- the committed seeds -------------------------------------------------------------------------
def gz(text):
    return gzip.compress(text, mtime=0)


def seeds():
    s = {t: {} for t in ["npy", "npz", "tu", "ogb", "ppi", "checkpoint", "config"]}

    s["npy"]["f4_2x3"] = npy("<f4", (2, 3), [0.5, -1.0, 2.0, 3.0, 4.5, -0.0])
    s["npy"]["f8_vec"] = npy("<f8", (3,), [1.0, 2.0, 3.0])
    s["npy"]["i4_1x2"] = npy("<i4", (1, 2), [-7, 7])
    s["npy"]["i8_scalar"] = npy("<i8", (), [42])
    s["npy"]["b1_vec"] = npy("|b1", (4,), [0, 1, 1, 0])
    s["npy"]["u1_2x2_v2"] = npy("|u1", (2, 2), [0, 1, 2, 255], version=2)
    s["npy"]["f4_empty"] = npy("<f4", (0, 5), [])

    # npz: a mode byte (odd: the harness recomputes the stored members' CRC-32), then the archive.
    s["npz"]["sparse_masks"] = b"\x01" + node_dataset(sparse=True, masks=True)
    s["npz"]["sparse_nomasks_deflate"] = b"\x00" + node_dataset(sparse=True, masks=False,
                                                                deflate=True)
    s["npz"]["dense_masks"] = b"\x01" + node_dataset(sparse=False, masks=True)
    s["npz"]["dense_nomasks"] = b"\x01" + node_dataset(sparse=False, masks=False)
    s["npz"]["two_arrays"] = b"\x00" + npz([("a", npy("<i4", (2,), [1, 2])),
                                            ("b", npy("|b1", (1,), [1]))])

    # TU: two graphs (3 + 2 nodes), undirected edges listed both ways.
    a = b"1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n"
    gi = b"1\n1\n1\n2\n2\n"
    gl = b"1\n-1\n"
    nl = b"0\n1\n0\n2\n0\n"
    na = b"0.5, 1.0\n1.5, -2.0\n0.0, 0.0\n3.25, 1e-3\n2.0, 7.0\n"
    el = b"1\n1\n2\n2\n0\n0\n"
    s["tu"]["labels_attrs"] = b"\0".join([a, gi, gl, nl, na, el])
    s["tu"]["labels_only"] = b"\0".join([a, gi, gl, nl, b"", b""])
    s["tu"]["no_features"] = b"\0".join([a, gi, gl, b"", b"", b""])
    s["tu"]["two_label_columns"] = b"\0".join(
        [a, gi, b"0\n1\n", b"0, 3\n1, 3\n0, 4\n2, 3\n0, 4\n", b"", b""])

    valid = [b"3\n2\n", b"2\n1\n",
             b"6,0,4,5,3,0,2,0,0\n8,0,2,5,0,0,1,0,0\n7,0,3,5,1,0,2,1,1\n"
             b"6,0,4,5,3,0,2,0,0\n6,0,4,5,2,0,2,0,0\n",
             b"0,1\n1,2\n0,1\n", b"0,0,0\n1,0,1\n0,0,0\n", b"1\n0\n", b"0\n", b"1\n", b""]
    s["ogb"]["text_valid"] = b"\0" + b"\0".join(valid)
    s["ogb"]["text_nosplit_test"] = b"\x02" + b"\0".join(valid[:8] + [b"\n"])
    for i in (0, 2, 3, 6):
        s["ogb"]["gz_file%d" % i] = b"\x01" + bytes([i]) + gz(valid[i])

    def ppi_split(n_graphs):
        nodes, links, gid = [], [], []
        v = 0
        for g in range(n_graphs):
            for k in range(3):
                nodes.append({"id": v + k, "test": False, "val": False})
                gid.append(g + 1)
            links += [{"source": v, "target": v + 1}, {"source": v + 1, "target": v + 2},
                      {"source": v + 2, "target": v + 2}]
            v += 3
        j = json.dumps({"directed": False, "multigraph": False, "graph": {}, "nodes": nodes,
                        "links": links}).encode()
        n = len(nodes)
        feats = npy("<f4", (n, 2), [float(i) / 4 for i in range(2 * n)])
        labels = npy("<f4", (n, 3), [float(i % 2) for i in range(3 * n)])
        return [j, feats, labels, npy("<i8", (n,), gid)]

    s["ppi"]["valid"] = PPI_SEP.join(ppi_split(2) + ppi_split(1) + ppi_split(1))
    edges = ppi_split(1)
    edges[0] = edges[0].replace(b'"links"', b'"edges"')
    s["ppi"]["edges_key"] = PPI_SEP.join(edges + ppi_split(1) + ppi_split(1))

    config = {"data": "synthetic", "model": "gcn", "hidden": 16, "layers": 2, "dropout": 0.5,
              "lr": 0.01, "weight_decay": 0.0005, "epochs": 200, "runs": 1, "seed": 1}
    meta = {"format": "gkd-model", "task": "node", "dataset": "synthetic-csbm", "run": 0,
            "fold": 0, "seed": 1, "epoch": 3, "config": config, "gkd_commit": "unknown"}
    tensors = [("layer0.weight", "f4", 2, 2, [1.0, 2.0, 3.0, 4.0]),
               ("layer0.bias", "f8", 1, 2, [0.5, -0.5]),
               ("counts", "i8", 2, 1, [7, 8]), ("ids", "i4", 1, 1, [3]), ("mask", "u1", 0, 4, [])]
    ck = checkpoint(json.dumps(meta).encode(), tensors)
    s["checkpoint"]["model_fixcrc"] = b"\x01" + ck
    s["checkpoint"]["model_asis"] = b"\x00" + ck
    s["checkpoint"]["plain_fixcrc"] = b"\x01" + checkpoint(b"epoch 1", tensors[:2])
    s["checkpoint"]["empty_fixcrc"] = b"\x01" + checkpoint(b"", [])

    s["config"]["gcn"] = json.dumps(config, indent=2).encode()
    s["config"]["gat"] = json.dumps({
        "data": "planetoid/cora.npz", "features": "row-normalize", "split": "public",
        "model": "gat", "hidden": 8, "heads": 8, "out_heads": 1, "activation": "elu",
        "dropout": 0.6, "attn_dropout": 0.6, "feat_dropout": 0.6, "negative_slope": 0.2,
        "residual": "linear", "lr": 0.005, "epochs": 200, "patience": 100,
        "selection": "best-val", "clip_grad_norm": 0, "stop_on_divergence": False,
        "device": "cpu"}, indent=2).encode()
    s["config"]["gin"] = json.dumps({
        "data": "tu/MUTAG", "model": "gin", "aggregator": "mean", "learn_eps": True,
        "aux_heads": False, "bias": True, "readout": "sum", "batch_norm": True, "jumping": True,
        "batch_size": 32, "iters_per_epoch": 50, "lr_step": 50, "lr_gamma": 0.5, "folds": 10,
        "val_fraction": 0.1, "node_attributes": False, "train_per_class": 20,
        "val_per_class": 30, "graphs_per_step": 2, "raw_logit_rule": False,
        "divergence_jump": 0.0, "state_every": 10}, indent=2).encode()
    s["config"]["bad_type"] = b'{"hidden": "16", "lr": -1, "model": "gxn"}'
    # Not JSON: one flag, NAME=VALUE, applied as `gkd train --NAME VALUE`.
    s["config"]["flag_lr"] = b"lr=0.5"
    s["config"]["flag_model"] = b"model=gat"
    return s


# ---- real data (run time only) -------------------------------------------------------------------
def first_graphs_tu(folder, keep):
    name = os.path.basename(os.path.normpath(folder))

    def lines(kind):
        p = os.path.join(folder, "%s_%s.txt" % (name, kind))
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return f.read().splitlines()

    gi = lines("graph_indicator")
    n = sum(1 for x in gi if int(x) <= keep)
    out = []
    for kind in TU_FILES:
        rows = lines(kind)
        if rows is None:
            out.append(b"")
        elif kind == "A":
            kept = [r for r in rows if all(int(v) <= n for v in r.split(b","))]
            out.append(b"\n".join(kept) + b"\n")
            a_kept = [i for i, r in enumerate(rows) if all(int(v) <= n for v in r.split(b","))]
        elif kind == "graph_labels":
            out.append(b"\n".join(rows[:keep]) + b"\n")
        elif kind == "edge_labels":
            out.append(b"\n".join(rows[i] for i in a_kept) + b"\n")
        else:
            out.append(b"\n".join(rows[:n]) + b"\n")
    return b"\0".join(out)


def first_graphs_ogb(folder, keep):
    def rows(rel):
        with gzip.open(os.path.join(folder, rel), "rb") as f:
            return f.read().splitlines()

    nn = [int(x) for x in rows(OGB_FILES[0])][:keep]
    ne = [int(x) for x in rows(OGB_FILES[1])][:keep]
    parts = [b"\n".join(rows(OGB_FILES[0])[:keep]), b"\n".join(rows(OGB_FILES[1])[:keep]),
             b"\n".join(rows(OGB_FILES[2])[:sum(nn)]), b"\n".join(rows(OGB_FILES[3])[:sum(ne)]),
             b"\n".join(rows(OGB_FILES[4])[:sum(ne)]), b"\n".join(rows(OGB_FILES[5])[:keep])]
    ids = list(range(keep))
    parts += [b"\n".join(str(i).encode() for i in ids[0::3]),
              b"\n".join(str(i).encode() for i in ids[1::3]),
              b"\n".join(str(i).encode() for i in ids[2::3])]
    return b"\0" + b"\0".join(p + b"\n" if p else b"\n" for p in parts)


def real_seeds(data):
    s = {"tu": {}, "ogb": {}}
    tu = os.path.join(data, "tu")
    for name in sorted(os.listdir(tu)) if os.path.isdir(tu) else []:
        for keep in (2, 6):
            try:
                s["tu"]["real-%s-%d" % (name, keep)] = first_graphs_tu(os.path.join(tu, name), keep)
            except (OSError, ValueError) as e:
                print("make_seeds: skipping %s: %s" % (name, e), file=sys.stderr)
    ogb = os.path.join(data, "ogb")
    for name in sorted(os.listdir(ogb)) if os.path.isdir(ogb) else []:
        for keep in (3, 9):
            try:
                s["ogb"]["real-%s-%d" % (name, keep)] = first_graphs_ogb(os.path.join(ogb, name),
                                                                         keep)
            except (OSError, ValueError) as e:
                print("make_seeds: skipping %s: %s" % (name, e), file=sys.stderr)
    return s


def write(all_seeds, out, limit=None):
    count = 0
    for target, files in all_seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in files.items():
            if limit is not None and len(data) > limit:
                continue  # a big seed would raise libFuzzer's max_len for every input
            with open(os.path.join(out, target, name), "wb") as f:
                f.write(data)
            count += 1
    print("make_seeds: wrote %d seed(s) under %s" % (count, out))


def main(argv):
    if len(argv) >= 2 and argv[1] == "--real":
        if len(argv) != 4:
            sys.exit("usage: make_seeds.py --real DATA_DIR OUT_DIR")
        write(real_seeds(argv[2]), argv[3], limit=16384)
    elif len(argv) <= 2:
        out = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(os.path.abspath(
            __file__)), "corpus")
        write(seeds(), out)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
