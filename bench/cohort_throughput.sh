#!/bin/sh
# Cohort throughput: the training time per epoch of a DML cohort of K = 1, 2, 4, 8 two-layer GCNs
# on Cora, gkd against the plain PyTorch reference (bench/reference/cohort_torch.py, Debian's
# python3-torch), same machine, threads and run. Prints one JSON line per measurement, then a
# table: gkd's cost relative to K = 1 (the issue's target: K = 4 within 2x of K = 1), the same
# cohort with its students run one by one (--batch-students false), the ratio to PyTorch
# (target: >= 3x) and students x epochs per second.
#   sh bench/cohort_throughput.sh [THREADS]      (default 1; run after `make build`, machine idle)
set -eu
gkd=${GKD:-build/bin/gkd}
data=$(cd "${GKD_DATA_DIR:-../shared/data}" && pwd)  # absolute: the peer runs in bench/reference
t=${1:-1}
out=$(mktemp -d)
for k in 1 2 4 8; do
  for batched in true false; do
    GKD_DATA_DIR=$data "$gkd" distill --config configs/distill_dml_cora.json --students $k \
      --runs 1 --epochs 110 --baseline false --threads "$t" --batch-students $batched --quiet \
      --json --out "$out/k$k$batched" |
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'impl':'gkd' if '$batched' == 'true' else 'gkd-one-by-one','students':$k,'threads':$t,'epoch_ms_median':d['epoch_ms_median']}))"
  done
  (cd bench/reference && /usr/bin/python3 cohort_torch.py --data "$data/planetoid/cora.npz" \
    --students $k --threads "$t")
done | tee "$out/all.jsonl"
/usr/bin/python3 - "$out/all.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
g = {r["students"]: r["epoch_ms_median"] for r in rows if r["impl"] == "gkd"}
o = {r["students"]: r["epoch_ms_median"] for r in rows if r["impl"] == "gkd-one-by-one"}
p = {r["students"]: r["epoch_ms_median"] for r in rows if r["impl"] == "pytorch"}
print("| K | gkd ms/epoch (batched) | vs K = 1 | gkd one by one | PyTorch ms/epoch | speed-up "
      "| gkd students x epochs / s |")
print("|---|---|---|---|---|---|---|")
for k in sorted(g):
    print(f"| {k} | {g[k]:.2f} | {g[k] / g[1]:.2f}x | {o[k]:.2f} | {p[k]:.2f} | "
          f"{p[k] / g[k]:.1f}x | {1000 * k / g[k]:.0f} |")
PY
rm -rf "$out"
