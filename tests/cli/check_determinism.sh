#!/bin/sh
# Determinism on the CPU: usage check_determinism.sh GKD WORKDIR
# Every kind of run is done three times with the same seed, twice with 2 OpenMP threads and once
# with 1; the checkpoints must be byte-identical and metrics.jsonl identical line for line
# (timings aside). Covers node training of every architecture (dropout, attention dropout, batch
# norm in GIN), graph classification (k-fold CV, shuffled batches), and offline and online
# distillation.
set -eu
gkd=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 "$(dirname "$0")/make_tu_fixture.py" "$work/SHAPES"
echo '{"model": "gat", "hidden": 8, "heads": 2, "epochs": 10}' > "$work/teacher.json"

same() {  # same NAME -- gkd arguments...
  name=$1
  shift 2
  for t in 2a 2b 1; do
    "$gkd" "$@" --threads "${t%[ab]}" --quiet --out "$work/$name-$t" > /dev/null ||
      fail "$name: exit $?"
  done
  /usr/bin/python3 - "$work/$name" <<'PY' || fail "$name: runs with the same seed differ"
import filecmp, json, os, sys
base = sys.argv[1]
runs = [base + "-" + t for t in ["2a", "2b", "1"]]
def metrics(run):
    lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    for l in lines:
        for k in [k for k in l if k.endswith("_ms")]:
            l.pop(k)
    return lines
# Model checkpoints; state files also hold each epoch's measured time, so they differ by design.
def ckpts_of(run):
    return sorted(f for f in os.listdir(run) if f.endswith(".ckpt") and ".state." not in f)
ckpts = ckpts_of(runs[0])
assert ckpts, "no checkpoints"
for run in runs[1:]:
    assert ckpts_of(run) == ckpts
    for f in ckpts:
        assert filecmp.cmp(os.path.join(runs[0], f), os.path.join(run, f), shallow=False), (run, f)
    assert metrics(run) == metrics(runs[0]), run
PY
  echo "$name: identical (2 threads twice, 1 thread)"
}

node="--data synthetic:nodes=800,features=16 --epochs 15 --runs 2"
same gcn -- train $node --model gcn
same gat -- train $node --model gat --hidden 4 --heads 4 --attn-dropout 0.3 --feat-dropout 0.2
same sage -- train $node --model sage --aggregator pool
same gin -- train $node --model gin --learn-eps true
same graph -- train --data "$work/SHAPES" --model gin --hidden 8 --layers 2 --epochs 4 --folds 3 \
  --batch-size 4 --iters-per-epoch 3
same lsp -- distill --method lsp --data synthetic:nodes=800,features=16 --epochs 10 \
  --teacher-config "$work/teacher.json" --runs 1
same alignahead -- distill --method alignahead --data synthetic:nodes=800,features=16 \
  --epochs 10 --layers 3 --students 3
same gml -- distill --method gml --cohort gcn,gat --data synthetic:nodes=800,features=16 \
  --epochs 10 --alw-rank 4 --entropy-weight 0.1
echo "determinism checks passed"
