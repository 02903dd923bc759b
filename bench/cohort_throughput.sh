#!/bin/sh
# Cohort throughput: the training time per epoch of a DML cohort of K = 1, 2, 4, 8 two-layer GCNs
# on Cora, gkd against the plain PyTorch reference (bench/reference/cohort_torch.py, Debian's
# python3-torch), same machine, threads and run. Prints one JSON line per measurement, then a
# table: gkd's cost relative to K = 1 (the issue's target: K = 4 within 2x of K = 1), the ratio
# to PyTorch (target: >= 3x) and students x epochs per second.
#   sh bench/cohort_throughput.sh [THREADS]      (default 1; run after `make build`, machine idle)
set -eu
gkd=${GKD:-build/bin/gkd}
data=${GKD_DATA_DIR:-../shared/data}
t=${1:-1}
out=$(mktemp -d)
for k in 1 2 4 8; do
  GKD_DATA_DIR=$data "$gkd" distill --config configs/distill_dml_cora.json --students $k \
    --runs 1 --epochs 110 --baseline false --threads "$t" --quiet --json --out "$out/k$k" |
    /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'impl':'gkd','students':$k,'threads':$t,'epoch_ms_median':d['epoch_ms_median']}))"
  (cd bench/reference && /usr/bin/python3 cohort_torch.py --data "$data/planetoid/cora.npz" \
    --students $k --threads "$t")
done | tee "$out/all.jsonl"
/usr/bin/python3 - "$out/all.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
g = {r["students"]: r["epoch_ms_median"] for r in rows if r["impl"] == "gkd"}
p = {r["students"]: r["epoch_ms_median"] for r in rows if r["impl"] == "pytorch"}
print("| K | gkd ms/epoch | vs K = 1 | PyTorch ms/epoch | speed-up | gkd students x epochs / s |")
print("|---|---|---|---|---|---|")
for k in sorted(g):
    print(f"| {k} | {g[k]:.2f} | {g[k] / g[1]:.2f}x | {p[k]:.2f} | {p[k] / g[k]:.1f}x | "
          f"{1000 * k / g[k]:.0f} |")
PY
rm -rf "$out"
