#!/bin/sh
# Crash safety of `gkd train`: usage check_resume.sh GKD WORKDIR
# A run is SIGKILLed again and again and continued each time with --resume; every kill must leave
# state files that load (a torn one fails the resume: CRC), and the finished run must match an
# uninterrupted run with the same seed exactly: the summary, every run's (fold's) result and every
# line of metrics.jsonl (timings aside). Node classification (2 runs of a GAT), graph
# classification (3-fold CV of a GIN with batch norm and shuffled batches) and inductive
# multi-label training (2 runs of a GAT over PPI-layout graphs), then distillation runs (node,
# graph and PPI, offline and online). Then the refusals: a finished run, extra options, a
# corrupted state file.
set -eu
gkd=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 "$(dirname "$0")/make_tu_fixture.py" "$work/SHAPES"
# Graphs of 3000+ nodes: an epoch must outlast the kill loop's polling, or runs finish between kills.
/usr/bin/python3 "$(dirname "$0")/make_ppi_fixture.py" "$work/ppi" 3000

# killed NAME COMMAND LINES TARGETS -- gkd COMMAND arguments...
# Runs NAME uninterrupted (the reference), then again, killed whenever metrics.jsonl reaches the
# next of TARGETS (line counts, each with a jitter in seconds: target:jitter) and resumed, until
# it finishes. Kills are placed by progress, not by the clock, so they land mid-training on a fast
# or a slow (sanitizer) build alike; the jitter varies the phase hit (a step, an evaluation, a
# state write, a run boundary). The first kill comes before training starts.
killed() {
  name=$1
  command=$2
  total=$3
  targets=$4
  shift 5
  run="$work/$name"
  "$gkd" "$command" "$@" --out "$run-ref" > "$run-ref.json" ||
    fail "$name: reference run: exit $?"
  lines() { cat "$run.partial/metrics.jsonl" 2>/dev/null | wc -l; }
  start() {
    if [ -f "$run.partial/config.json" ]; then
      "$gkd" "$command" --resume "$run" --threads 1 --json > "$run.json" 2>> "$run.resumes" &
    else  # killed before the run directory was written: nothing to resume, start again
      rm -rf "$run.partial"
      "$gkd" "$command" "$@" --out "$run" > "$run.json" &
    fi
    pid=$!
  }
  start "$@"
  sleep 0.02
  kill -9 "$pid" 2>/dev/null && kills=1 || kills=0
  wait "$pid" 2>/dev/null || true
  for target_jitter in $targets; do
    target=${target_jitter%:*}
    start "$@"
    while [ "$(lines)" -lt "$target" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    sleep "${target_jitter#*:}"
    # A kill that lands after the run's directory is final but before its summary is printed
    # leaves a finished run without stdout: then only summary.json is compared.
    printed=1
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); printed=0; fi
    wait "$pid" 2>/dev/null || true
    [ -e "$run" ] && break  # finished before (or while) this kill landed
  done
  if [ ! -e "$run" ]; then
    start "$@"
    wait "$pid" || fail "$name: the last resume: exit $?"
    printed=1
  fi
  [ $kills -ge 5 ] || fail "$name: only $kills kills landed"
  # Proof that runs continued from their state rather than starting over.
  resumed=$(grep -c "resumed after epoch" "$run.resumes" || true)
  [ "$resumed" -ge 1 ] || fail "$name: no run resumed from a state file"
  /usr/bin/python3 - "$run" "$total" "$printed" <<'PY' || fail "$name: the resumed run differs from the uninterrupted one"
import json, os, sys
run, total, printed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def summary(path):
    s = json.load(open(path))
    def strip(x):  # timings and resume bookkeeping differ by design
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if "_ms" not in k and k not in ["resumed_epoch", "run_dir"]}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(s)
def metrics(path):
    lines = [json.loads(l) for l in open(os.path.join(path, "metrics.jsonl"))]
    for l in lines:
        for k in [k for k in l if k.endswith("_ms")]:
            l.pop(k)
    return lines
reference = summary(run + "-ref.json")  # what the uninterrupted run printed
assert reference == summary(os.path.join(run + "-ref", "summary.json"))
assert reference == summary(os.path.join(run, "summary.json")), (reference, run)
if printed:  # the process that finished the run printed its summary
    assert reference == summary(run + ".json"), (reference, summary(run + ".json"))
assert metrics(run + "-ref") == metrics(run)
assert len(metrics(run)) == total, len(metrics(run))
assert not os.path.exists(run + ".partial")
assert not [f for f in os.listdir(run) if ".tmp" in f]
PY
  echo "$name: killed $kills times; $resumed runs continued from a state file; identical"
}

# About 2.5 s uninterrupted on one thread (a few times that under the sanitizers).
killed node train 80 "3:0 9:0.01 17:0.003 26:0.02 39:0 40:0.005 52:0.015 66:0.001" -- \
  --data synthetic:nodes=6000,features=32 --model gat --hidden 8 --heads 4 --epochs 40 \
  --runs 2 --seed 3 --state-every 1 --threads 1 --quiet --json
killed graph train 60 "2:0 7:0.01 15:0.002 20:0 26:0.02 33:0.004 41:0 52:0.01" -- \
  --data "$work/SHAPES" --model gin --hidden 16 --layers 3 --epochs 20 --folds 3 \
  --batch-size 4 --iters-per-epoch 4 --state-every 1 --threads 1 --quiet --json

killed inductive train 60 "2:0 9:0.01 14:0.002 21:0 28:0.02 33:0.004 41:0 52:0.01" -- \
  --data "$work/ppi" --model gat --hidden 8 --heads 2 --epochs 30 --runs 2 --state-every 1 \
  --threads 1 --quiet --json

# Distillation: an online cohort (GML, ALW factors, two students) with its baselines, LSP from a
# teacher trained in the run, a GML cohort of GIN graph classifiers under 3-fold CV, and an
# alternating Alignahead++ cohort of them.
killed cohort distill 60 "3:0 11:0.01 19:0.002 27:0 33:0.02 41:0.004 50:0 57:0.01" -- \
  --method gml --cohort gcn,gat --alw-rank 4 --entropy-weight 0.1 \
  --data synthetic:nodes=3000,features=16 --epochs 30 --state-every 1 --threads 1 --quiet --json
echo '{"model": "gat", "hidden": 8, "heads": 2, "epochs": 25}' > "$work/teacher.json"
killed offline distill 75 "4:0 13:0.01 22:0.002 30:0 38:0.02 47:0.004 55:0 66:0.01" -- \
  --method lsp --teacher-config "$work/teacher.json" --data synthetic:nodes=3000,features=16 \
  --epochs 25 --state-every 1 --threads 1 --quiet --json
killed graph-cohort distill 60 "2:0 9:0.01 16:0.002 23:0 31:0.02 38:0.004 45:0 54:0.01" -- \
  --method gml --students 2 --model gin --hidden 16 --layers 2 --alw-rank 2 \
  --data "$work/SHAPES" --folds 3 --epochs 10 --batch-size 4 --iters-per-epoch 3 \
  --state-every 1 --threads 1 --quiet --json
# Alignahead++ over graph batches, alternating: each student's pass over the epoch's batches.
killed graph-alignahead distill 36 "2:0 6:0.01 10:0.002 15:0 20:0.02 25:0.004 30:0 34:0.01" -- \
  --method alignahead++ --schedule alternating --students 2 --model gin --hidden 8 --layers 3 \
  --data "$work/SHAPES" --folds 3 --epochs 6 --batch-size 4 --iters-per-epoch 3 \
  --state-every 1 --threads 1 --quiet --json
echo '{"model": "gin", "hidden": 16, "layers": 2, "epochs": 6, "batch_size": 4}' \
  > "$work/gin_teacher.json"
killed graph-offline distill 54 "3:0 10:0.01 17:0.002 24:0 31:0.02 38:0.004 45:0 50:0.01" -- \
  --method lsp --teacher-config "$work/gin_teacher.json" --model gin --hidden 8 --layers 2 \
  --data "$work/SHAPES" --folds 3 --epochs 6 --batch-size 4 --iters-per-epoch 3 \
  --state-every 1 --threads 1 --quiet --json
# PPI: LSP from a GAT teacher trained in the run (the teacher runs on every step's batch), MSKD,
# and an Alignahead cohort of two GATs over the same batches, all with their baselines.
echo '{"model": "gat", "hidden": 8, "heads": 2, "epochs": 15}' > "$work/ppi_teacher.json"
killed ppi-offline distill 45 "2:0 7:0.01 12:0.002 18:0 24:0.02 30:0.004 36:0 42:0.01" -- \
  --method lsp --teacher-config "$work/ppi_teacher.json" --data "$work/ppi" --model gat \
  --hidden 8 --heads 2 --layers 3 --epochs 15 --state-every 1 --threads 1 --quiet --json
# MSKD: two GCN teachers of different depth trained in the run, then the staged student.
for layers in 2 3; do
  echo "{\"model\": \"gcn\", \"hidden\": 8, \"layers\": $layers, \"epochs\": 12}" \
    > "$work/ppi_gcn$layers.json"
done
killed ppi-mskd distill 48 "2:0 8:0.01 14:0.002 20:0 27:0.02 33:0.004 40:0 45:0.01" -- \
  --method mskd --teachers "$work/ppi_gcn2.json,$work/ppi_gcn3.json" --data "$work/ppi" \
  --model gcn --hidden 8 --layers 3 --epochs 12 --stage-epochs 6 --mskd-warmup 3 \
  --student-layer 1 --state-every 1 --threads 1 --quiet --json
killed ppi-cohort distill 60 "3:0 10:0.01 18:0.002 26:0 34:0.02 42:0.004 50:0 56:0.01" -- \
  --method alignahead --students 2 --data "$work/ppi" --model gat --hidden 8 --heads 2 \
  --layers 3 --epochs 30 --state-every 1 --threads 1 --quiet --json

expect() {  # expect CODE MESSAGE -- command...
  code=$1; msg=$2; shift 3
  set +e
  "$@" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
  [ $rc -eq "$code" ] || fail "exit $rc (expected $code): $*"
  grep -q -- "$msg" "$work/err" || fail "message '$msg' not in: $(cat "$work/err")"
}
expect 1 "finished already" -- "$gkd" train --resume "$work/node"
expect 1 "no unfinished run" -- "$gkd" train --resume "$work/nothing"
expect 2 "only --threads" -- "$gkd" train --resume "$work/node" --epochs 5

# A corrupted state file: the resume names it and keeps the partial directory.
"$gkd" train --data synthetic:nodes=300,features=8 --epochs 30 --state-every 5 --quiet \
  --out "$work/small" > /dev/null
mv "$work/small" "$work/small.partial"
rm "$work/small.partial/summary.json"
/usr/bin/python3 - "$work/small.partial/run0.state.ckpt" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0xFF
open(sys.argv[1], "wb").write(bytes(data))
PY
expect 1 "run0.state.ckpt" -- "$gkd" train --resume "$work/small"
[ -d "$work/small.partial" ] || fail "a failed resume removed the unfinished run"
echo "resume checks passed"
