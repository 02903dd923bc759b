#!/bin/sh
# Per-epoch CPU training time of gkd against the plain PyTorch implementation of the same models
# (bench/reference/node_torch.py, Debian's python3-torch), same machine, same thread count, same
# run: one JSON line per measurement, then a table with the ratio. Run from the repository root
# after `make build`; the machine should be otherwise idle.
#   sh bench/compare_node_cpu.sh [THREADS...]      (default: 1 2)
set -eu
gkd=${GKD:-build/bin/gkd}
data=${GKD_DATA_DIR:-../shared/data}
threads=${*:-1 2}
out=$(mktemp -d)
for t in $threads; do
  for model in gcn gat; do
    for ds in cora citeseer; do
      # --feat-dropout 0: the PyTorch peer implements PyG-style GAT, without the original code's
      # dropout of projected features, so both run the same model.
      GKD_DATA_DIR=$data "$gkd" train --config configs/${model}_$ds.json --feat-dropout 0 --runs 1 --threads "$t" \
        --quiet --json --out "$out/$model-$ds-$t" |
        /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'impl':'gkd','model':'$model','dataset':'$ds','threads':$t,'epoch_ms_median':d['epoch_ms_median'],'test':d['test_mean']}))"
      /usr/bin/python3 bench/reference/node_torch.py --data "$data/planetoid/$ds.npz" --model $model \
        --threads "$t" --json |
        /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'impl':'pytorch','model':'$model','dataset':'$ds','threads':$t,'epoch_ms_median':d['epoch_ms_median'],'test':d['test_acc_at_best_val']}))"
    done
  done
done | tee "$out/all.jsonl"
/usr/bin/python3 - "$out/all.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
key = lambda r: (r["model"], r["dataset"], r["threads"])
torch = {key(r): r for r in rows if r["impl"] == "pytorch"}
print("| model | dataset | threads | gkd ms/epoch | PyTorch ms/epoch | speed-up |")
print("|---|---|---|---|---|---|")
for r in rows:
    if r["impl"] != "gkd":
        continue
    p = torch[key(r)]
    print(f"| {r['model']} | {r['dataset']} | {r['threads']} | {r['epoch_ms_median']:.2f} | "
          f"{p['epoch_ms_median']:.2f} | {p['epoch_ms_median'] / r['epoch_ms_median']:.1f}x |")
PY
rm -rf "$out"
