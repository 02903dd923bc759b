#!/bin/sh
# CLI tests of `gkd train`: usage check_train.sh GKD WORKDIR MODE
#   smoke: a tiny synthetic run; its --json summary and run directory must hold what the README says
#   bad:   malformed configs and flags exit non-zero with a one-line message and leave no run directory
#   real:  CONFIG given as $4 on real data; the mean test accuracy must reach $5 (data label)
set -eu
gkd=$1
work=$2
mode=$3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

case $mode in
smoke)
  for model in gcn gat sage gin mlp; do
    "$gkd" train --data synthetic:nodes=300,features=8 --model $model --epochs 5 --runs 2 \
      --out "$work/$model" --json --quiet > "$work/$model.json" || fail "$model: exit $?"
    /usr/bin/python3 - "$work/$model.json" "$work/$model" "$model" <<'PY' || fail "$model outputs"
import json, os, sys
summary, run, model = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for k in ["command", "dataset", "model", "metric", "runs", "test_mean", "test_std", "val_mean",
          "epoch_ms_median", "device"]:
    assert k in summary, k
assert summary["model"] == model and summary["runs"] == 2 and summary["command"] == "train"
assert 0 <= summary["test_mean"] <= 100
for f in ["config.json", "metrics.jsonl", "summary.json", "manifest.json"]:
    assert os.path.isfile(os.path.join(run, f)), f
lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
assert len(lines) == 10 and {l["run"] for l in lines} == {0, 1}, len(lines)
manifest = json.load(open(os.path.join(run, "manifest.json")))
assert manifest["seeds"] == [1, 2] and manifest["gkd_commit"]
assert json.load(open(os.path.join(run, "config.json")))["model"] == model
assert not os.path.exists(run + ".partial")
PY
  done
  ;;
bad)
  expect() {  # expect CODE MESSAGE -- command...
    code=$1; msg=$2; shift 3
    set +e
    "$@" > "$work/out" 2> "$work/err"
    rc=$?
    set -e
    [ $rc -eq "$code" ] || fail "exit $rc (expected $code): $*"
    grep -q -- "$msg" "$work/err" || fail "message '$msg' not in: $(cat "$work/err")"
    [ "$(wc -l < "$work/err")" -eq 1 ] || fail "more than one line: $(cat "$work/err")"
    [ ! -e "$work/run" ] && [ ! -e "$work/run.partial" ] || fail "a run directory was left behind"
  }
  echo '{"model": "gcn", "hiden": 16}' > "$work/typo.json"
  expect 1 "typo.json: hiden: unknown key" -- "$gkd" train --config "$work/typo.json" --out "$work/run"
  echo '{"lr": "fast"}' > "$work/type.json"
  expect 1 'type.json: key lr: got "fast" (expected a number)' -- "$gkd" train --config "$work/type.json" --out "$work/run"
  echo '{"model": ' > "$work/broken.json"
  expect 1 "broken.json: not valid JSON" -- "$gkd" train --config "$work/broken.json" --out "$work/run"
  expect 2 "option --dropout: got 1.5" -- "$gkd" train --dropout 1.5 --out "$work/run"
  expect 2 "unknown option --hidden-size" -- "$gkd" train --hidden-size 3 --out "$work/run"
  expect 2 "expected one of mlp, gcn, gat, sage, gin" -- "$gkd" train --model gnn --out "$work/run"
  expect 1 "no such file" -- "$gkd" train --data "$work/missing.npz" --out "$work/run"
  ;;
real)
  config=$4
  threshold=$5
  "$gkd" train --config "$config" --out "$work/run" --json --quiet > "$work/summary.json"
  /usr/bin/python3 - "$work/summary.json" "$threshold" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"{s['dataset']} {s['model']}: {s['test_mean']:.2f} +- {s['test_std']:.2f} over {s['runs']} runs")
assert s["test_mean"] >= float(sys.argv[2]), f"below {sys.argv[2]}"
PY
  ;;
esac
