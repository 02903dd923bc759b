#!/bin/sh
# CLI tests of `gkd train`: usage check_train.sh GKD WORKDIR MODE
#   smoke: a tiny synthetic run; its --json summary and run directory must hold what the README says
#   bad:   malformed configs and flags exit non-zero with a one-line message and leave no run directory
#   distill: gkd distill (kd, fitnet, lsp) on a small synthetic graph: the summary keys, the
#          teacher / student / baseline results, checkpoints that gkd eval reads back
#   graph: graph classification on a TU-layout fixture (cycles vs stars): CV summary, checkpoints,
#          and gkd eval reproducing a fold's test accuracy from its checkpoint
#   ppi:   inductive multi-label training on a fixture in PPI's public layout (train/valid/test
#          graphs, micro-F1), and gkd eval reproducing the best-validation test F1; offline
#          distillation (lsp, kd, fitnet) on it, from a teacher trained in the run or loaded, and
#          an online cohort (alignahead++)
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
  # gkd eval: a missing flag, a missing file, a corrupt checkpoint.
  expect 2 "needs --checkpoint" -- "$gkd" eval
  expect 1 "missing.ckpt" -- "$gkd" eval --checkpoint "$work/missing.ckpt"
  printf 'GKDCKPT\000garbage' > "$work/torn.ckpt"
  expect 1 "torn.ckpt" -- "$gkd" eval --checkpoint "$work/torn.ckpt"
  # gkd distill: no teacher, a layer the student lacks.
  expect 1 "exactly one of --teacher" -- "$gkd" distill --method kd --out "$work/run"
  echo '{"model": "gcn", "layers": 3}' > "$work/teacher.json"
  expect 1 "student_layer is 5" -- "$gkd" distill --method lsp --teacher-config "$work/teacher.json" \
    --student-layer 5 --out "$work/run"
  expect 1 "takes no teacher" -- "$gkd" distill --method dml --teacher-config "$work/teacher.json" \
    --out "$work/run"
  expect 1 "expected >= 2" -- "$gkd" distill --method alignahead --layers 1 --out "$work/run"
  expect 1 "needs dml or gml" -- "$gkd" distill --method oc --cohort gcn,gat --out "$work/run"
  expect 1 "needs --teachers" -- "$gkd" distill --method mskd --teacher-config "$work/teacher.json" \
    --out "$work/run"
  expect 1 "model 'gnn' is unknown" -- "$gkd" distill --method gml --cohort gcn,gnn --out "$work/run"
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
  # Memory: refused up front with the estimate (GKD_MEMORY_LIMIT caps what counts as available).
  expect 1 "needs about .* but 8.0 MiB are available" -- env GKD_MEMORY_LIMIT=8M "$gkd" train \
    --data synthetic --model gat --heads 8 --hidden 64 --out "$work/run"
  expect 1 "generating --data synthetic:nodes=1e12 needs about" -- "$gkd" train \
    --data synthetic:nodes=1e12 --out "$work/run"
  expect 2 "nodes=1e30 is out of range" -- "$gkd" train --data synthetic:nodes=1e30 --out "$work/run"
  expect 1 "GKD_MEMORY_LIMIT is 'lots'" -- env GKD_MEMORY_LIMIT=lots "$gkd" train --out "$work/run"
  ;;
distill)
  echo '{"model": "gcn", "hidden": 16, "layers": 3, "epochs": 10}' > "$work/teacher.json"
  for method in kd fitnet lsp; do
    "$gkd" distill --method $method --teacher-config "$work/teacher.json" \
      --data synthetic:nodes=300,features=8 --model mlp --epochs 5 --runs 2 \
      --out "$work/$method" --json --quiet > "$work/$method.json" || fail "$method: exit $?"
    "$gkd" eval --checkpoint "$work/$method/run1_student.ckpt" --json > "$work/eval.json" ||
      fail "$method: eval exit $?"
    /usr/bin/python3 - "$work/$method.json" "$work/eval.json" "$method" <<'PY' || fail "$method outputs"
import json, sys
s, e, method = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
for k in ["command", "method", "dataset", "metric", "runs", "baseline", "students", "teacher",
          "epoch_ms_median", "device"]:
    assert k in s, k
assert s["command"] == "distill" and s["method"] == method and s["runs"] == 2
for part in [s["baseline"], s["students"][0], s["teacher"]]:
    assert 0 <= part["test_mean"] <= 100 and "test_std" in part
run = s["per_run"][1]
assert abs(e["test"] - run["student"]["test"]) < 1e-9, (e, run)  # the checkpoint is that student
assert e["model"] == "mlp"
PY
  done
  echo '{"model": "gcn", "hidden": 16, "layers": 2, "epochs": 5}' > "$work/shallow.json"
  "$gkd" distill --method mskd --teachers "$work/shallow.json,$work/teacher.json" \
    --data synthetic:nodes=300,features=8 --layers 3 --epochs 6 --mskd-warmup 2 --runs 2 \
    --out "$work/mskd" --json --quiet > "$work/mskd.json" || fail "mskd: exit $?"
  /usr/bin/python3 - "$work/mskd.json" <<'PY' || fail "mskd outputs"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["teachers"]) == 2 and s["teacher"] == s["teachers"][1]
assert len(s["per_run"][0]["teacher_weights"]) == 2
PY
  "$gkd" distill --method gml --cohort gcn,sage,gcn --data synthetic:nodes=300,features=8 \
    --epochs 4 --runs 2 --out "$work/gml" --json --quiet > "$work/gml.json" || fail "gml: exit $?"
  /usr/bin/python3 - "$work/gml.json" <<'PY' || fail "gml outputs"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s["students"]) == 3 and sorted(s["baselines"]) == ["gcn", "sage"], s.keys()
assert s["baseline"] == s["baselines"]["gcn"]
PY
  for method in dml alignahead++; do
    "$gkd" distill --method $method --students 3 --data synthetic:nodes=300,features=8 \
      --model gcn --layers 3 --epochs 4 --runs 2 --out "$work/$method" --json --quiet \
      > "$work/$method.json" || fail "$method: exit $?"
    "$gkd" eval --checkpoint "$work/$method/run0_student2.ckpt" --json > "$work/eval.json" ||
      fail "$method: eval exit $?"
    /usr/bin/python3 - "$work/$method.json" "$work/eval.json" <<'PY' || fail "$method outputs"
import json, sys
s, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert len(s["students"]) == 3 and "ensemble" in s and "baseline" in s and "teacher" not in s
run = s["per_run"][0]
assert abs(e["test"] - run["students"][2]["test"]) < 1e-9, (e, run)
PY
  done
  ;;
graph)
  /usr/bin/python3 "$(dirname "$0")/make_tu_fixture.py" "$work/SHAPES"
  "$gkd" data info "$work/SHAPES" | grep -q "graphs: 24" || fail "data info on the TU fixture"
  # A folder too large for the memory available is refused before loading, with the estimate.
  if GKD_MEMORY_LIMIT=1M "$gkd" train --data "$work/SHAPES" --out "$work/nomem" 2> "$work/err"; then
    fail "a load larger than GKD_MEMORY_LIMIT was not refused"
  fi
  grep -q "loading .*SHAPES needs about .* but 1.0 MiB are available" "$work/err" ||
    fail "memory refusal: $(cat "$work/err")"
  [ ! -e "$work/nomem" ] && [ ! -e "$work/nomem.partial" ] || fail "a refused run left a directory"
  "$gkd" train --data "$work/SHAPES" --model gin --hidden 8 --layers 2 --epochs 4 --folds 3 \
    --batch-size 4 --iters-per-epoch 0 --selection paper --out "$work/cv" --json --quiet \
    > "$work/cv.json" || fail "graph train: exit $?"
  "$gkd" eval --checkpoint "$work/cv/run0_fold2.ckpt" --json > "$work/eval.json" || fail "eval: exit $?"
  /usr/bin/python3 - "$work/cv.json" "$work/cv" "$work/eval.json" <<'PY' || fail "graph outputs"
import json, os, sys
s, run, e = json.load(open(sys.argv[1])), sys.argv[2], json.load(open(sys.argv[3]))
for k in ["command", "dataset", "model", "metric", "runs", "test_mean", "test_std", "val_mean",
          "epoch_ms_median", "device"]:
    assert k in s, k
assert s["dataset"] == "SHAPES" and s["metric"] == "accuracy" and s["protocol"] == "3-fold CV"
assert len(s["per_fold"]) == 3
for k in range(3):
    assert os.path.isfile(os.path.join(run, f"run0_fold{k}.ckpt")), k
lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
assert len(lines) == 12 and {l["fold"] for l in lines} == {0, 1, 2}
# The checkpoint holds the last epoch (no val graphs): eval must reproduce that epoch's test.
assert abs(e["test"] - s["per_fold"][2]["last_test"]) < 1e-9, (e, s["per_fold"][2])
assert e["command"] == "eval" and e["dataset"] == "SHAPES"
PY
  # gkd distill on graphs: a GML cohort of GIN and GCN with 3-fold CV, and its checkpoints.
  "$gkd" distill --method gml --cohort gin,gcn --data "$work/SHAPES" --hidden 8 --layers 2 \
    --epochs 3 --folds 3 --batch-size 4 --iters-per-epoch 0 --out "$work/gml" --json --quiet \
    > "$work/gml.json" || fail "graph gml: exit $?"
  "$gkd" eval --checkpoint "$work/gml/run0_fold1_student1.ckpt" --json > "$work/eval.json" ||
    fail "graph gml eval: exit $?"
  /usr/bin/python3 - "$work/gml.json" "$work/eval.json" <<'PY' || fail "graph gml outputs"
import json, sys
s, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["protocol"] == "3-fold CV" and len(s["students"]) == 2 and sorted(s["baselines"]) == ["gcn", "gin"]
assert abs(e["test"] - s["per_fold"][1]["students"][1]["test"]) < 1e-9 and e["model"] == "gcn"
PY
  # Alignahead++ on graphs, alternating: the students carry auxiliary heads (their checkpoints
  # too, reproduced by eval), the baseline is the plain GIN.
  "$gkd" distill --method alignahead++ --schedule alternating --data "$work/SHAPES" --model gin \
    --hidden 8 --layers 3 --epochs 3 --folds 3 --batch-size 4 --iters-per-epoch 0 \
    --feature-distance cosine --out "$work/graph_aa" --json --quiet > "$work/graph_aa.json" ||
    fail "graph alignahead++: exit $?"
  "$gkd" eval --checkpoint "$work/graph_aa/run0_fold2_student1.ckpt" --json > "$work/eval.json" ||
    fail "graph alignahead++ eval: exit $?"
  /usr/bin/python3 - "$work/graph_aa.json" "$work/eval.json" <<'PY' || fail "graph alignahead++ outputs"
import json, sys
s, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["method"] == "alignahead++" and len(s["students"]) == 2 and list(s["baselines"]) == ["gin"], s
assert abs(e["test"] - s["per_fold"][2]["students"][1]["test"]) < 1e-9, (e, s["per_fold"][2])
PY
  if "$gkd" distill --method alignahead --cohort gin,gcn --data "$work/SHAPES" \
    --out "$work/mixed" 2> "$work/err"; then
    fail "a mixed alignahead cohort on graphs was not refused"
  fi
  grep -q "pairs the students' layers: --cohort (mixed architectures) needs dml or gml" \
    "$work/err" || fail "mixed graph cohort refusal: $(cat "$work/err")"
  [ ! -e "$work/mixed" ] || fail "the refused run left $work/mixed behind"
  # Offline distillation on graphs: a wider GIN teacher trained per fold from --teacher-config,
  # the student with each method's term on every batch, its checkpoints reproduced by eval.
  printf '{"model": "gin", "hidden": 16, "layers": 3, "epochs": 4, "batch_size": 4}' \
    > "$work/gin_teacher.json"
  for method in kd fitnet lsp; do
    "$gkd" distill --method $method --teacher-config "$work/gin_teacher.json" \
      --data "$work/SHAPES" --model gin --hidden 8 --layers 2 --epochs 3 --folds 3 \
      --batch-size 4 --iters-per-epoch 0 --out "$work/graph_$method" --json --quiet \
      > "$work/graph_$method.json" || fail "graph $method: exit $?"
  done
  "$gkd" eval --checkpoint "$work/graph_fitnet/run0_fold2_student.ckpt" --json \
    > "$work/eval.json" || fail "graph fitnet eval: exit $?"
  /usr/bin/python3 - "$work" <<'PY' || fail "graph offline distill outputs"
import json, os, sys
work = sys.argv[1]
for method in ["kd", "fitnet", "lsp"]:
    s = json.load(open(os.path.join(work, f"graph_{method}.json")))
    assert s["method"] == method and s["protocol"] == "3-fold CV" and s["metric"] == "accuracy", s
    assert len(s["per_fold"]) == 3 and "teacher" in s and "baseline" in s, s
    lines = [json.loads(l) for l in open(os.path.join(work, f"graph_{method}", "metrics.jsonl"))]
    assert {l["model"] for l in lines} == {"teacher", "student", "baseline"}, lines[:3]
    assert len(lines) == 3 * (4 + 3 + 3), len(lines)
s = json.load(open(os.path.join(work, "graph_fitnet.json")))
e = json.load(open(os.path.join(work, "eval.json")))
assert abs(e["test"] - s["per_fold"][2]["student"]["test"]) < 1e-9, (e, s["per_fold"][2])
PY
  # MSKD on graphs: two teachers of different depth trained per fold, the code's weights.
  printf '{"model": "gin", "hidden": 16, "layers": 2, "epochs": 3, "batch_size": 4}' \
    > "$work/gin_teacher2.json"
  "$gkd" distill --method mskd --teachers "$work/gin_teacher2.json,$work/gin_teacher.json" \
    --data "$work/SHAPES" --model gin --hidden 8 --layers 2 --epochs 4 --folds 3 \
    --batch-size 4 --iters-per-epoch 0 --student-layer 0 --out "$work/graph_mskd" --json \
    --quiet > "$work/graph_mskd.json" || fail "graph mskd: exit $?"
  /usr/bin/python3 - "$work" <<'PY' || fail "graph mskd outputs"
import json, os, sys
work = sys.argv[1]
s = json.load(open(os.path.join(work, "graph_mskd.json")))
assert s["method"] == "mskd" and len(s["teachers"]) == 2, s
for fold in s["per_fold"]:
    assert len(fold["teachers"]) == 2 and len(fold["teacher_weights"]) == 2, fold
    for role in ["teacher0", "teacher1", "student"]:
        assert os.path.exists(os.path.join(work, "graph_mskd", f"run0_fold{fold['fold']}_{role}.ckpt"))
PY
  if "$gkd" distill --method mskd --teachers "$work/graph_kd/run0_fold0_teacher.ckpt" \
    --data "$work/SHAPES" --out "$work/nomskd" 2> "$work/err"; then
    fail "a graph mskd teacher checkpoint was not refused"
  fi
  grep -q "trains its teachers per fold: --teachers takes training configs only" "$work/err" ||
    fail "graph mskd checkpoint refusal: $(cat "$work/err")"
  if "$gkd" distill --method kd --teacher "$work/graph_kd/run0_fold0_teacher.ckpt" \
    --data "$work/SHAPES" --out "$work/noteacher" 2> "$work/err"; then
    fail "a graph teacher checkpoint was not refused"
  fi
  grep -q "trains its teacher per fold: use --teacher-config" "$work/err" ||
    fail "graph teacher checkpoint refusal: $(cat "$work/err")"
  ;;
ppi)
  /usr/bin/python3 "$(dirname "$0")/make_ppi_fixture.py" "$work/ppi"
  if GKD_MEMORY_LIMIT=1M "$gkd" train --data "$work/ppi" --out "$work/nomem" 2> "$work/err"; then
    fail "a PPI load larger than GKD_MEMORY_LIMIT was not refused"
  fi
  grep -q "loading .*ppi needs about" "$work/err" || fail "memory refusal: $(cat "$work/err")"
  "$gkd" train --data "$work/ppi" --model mlp --hidden 16 --dropout 0 --lr 0.01 --weight-decay 0 \
    --epochs 60 --out "$work/run" --json --quiet > "$work/ppi.json" || fail "ppi train: exit $?"
  "$gkd" eval --checkpoint "$work/run/run0.ckpt" --json > "$work/eval.json" || fail "eval: exit $?"
  /usr/bin/python3 - "$work/ppi.json" "$work/eval.json" <<'PY' || fail "ppi outputs"
import json, sys
s, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["dataset"] == "ppi" and s["metric"] == "micro_f1", s
assert s["test_mean"] > 80, s["test_mean"]  # sign features: a linear read-out suffices
assert abs(e["test"] - s["per_run"][0]["best_val_test"]) < 1e-9, (e, s["per_run"][0])
assert abs(e["val"] - s["val_mean"]) < 1e-9
PY
  # Offline distillation on PPI: an MLP teacher trained in the run (--teacher-config), then the
  # same teacher from its checkpoint; every method, the student's checkpoint reproduced by eval.
  printf '{"model": "mlp", "hidden": 32, "dropout": 0, "lr": 0.01, "weight_decay": 0, "epochs": 30}' \
    > "$work/teacher.json"
  for method in lsp kd fitnet; do
    "$gkd" distill --data "$work/ppi" --method $method --teacher-config "$work/teacher.json" \
      --model gcn --hidden 16 --layers 3 --dropout 0 --lr 0.01 --epochs 20 --kd-end 10 --runs 2 \
      --out "$work/distill_$method" --json --quiet > "$work/distill_$method.json" ||
      fail "ppi distill $method: exit $?"
  done
  "$gkd" distill --data "$work/ppi" --method kd --teacher "$work/distill_kd/run0_teacher.ckpt" \
    --model gcn --hidden 16 --dropout 0 --epochs 5 --runs 1 --baseline false \
    --out "$work/distill_loaded" --json --quiet > "$work/distill_loaded.json" ||
    fail "ppi distill from a checkpoint: exit $?"
  "$gkd" eval --checkpoint "$work/distill_lsp/run1_student.ckpt" --json > "$work/eval_student.json" ||
    fail "eval of a distilled PPI student: exit $?"
  /usr/bin/python3 - "$work" <<'PY' || fail "ppi distill outputs"
import json, os, sys
work = sys.argv[1]
for method in ["lsp", "kd", "fitnet"]:
    s = json.load(open(os.path.join(work, f"distill_{method}.json")))
    assert s["method"] == method and s["dataset"] == "ppi" and s["metric"] == "micro_f1", s
    assert s["runs"] == 2 and len(s["per_run"]) == 2, s
    assert s["teacher"]["test_mean"] > 80, s["teacher"]  # the MLP teacher learns the fixture
    for role in [s["students"][0], s["baseline"]]:
        assert 0 <= role["test_mean"] <= 100, role
    lines = [json.loads(l) for l in open(os.path.join(work, f"distill_{method}", "metrics.jsonl"))]
    assert {l["model"] for l in lines} == {"teacher", "student", "baseline"}, lines[:3]
    assert len(lines) == 2 * (30 + 20 + 20), len(lines)
lsp = json.load(open(os.path.join(work, "distill_lsp.json")))
e = json.load(open(os.path.join(work, "eval_student.json")))
assert abs(e["test"] - lsp["per_run"][1]["student"]["test"]) < 1e-9, (e, lsp["per_run"][1])
kd = json.load(open(os.path.join(work, "distill_kd.json")))
loaded = json.load(open(os.path.join(work, "distill_loaded.json")))
assert abs(loaded["teacher"]["test_mean"] - kd["per_run"][0]["teacher"]["test"]) < 1e-9, loaded
PY
  # Online: an Alignahead++ cohort of two GATs (auxiliary heads) over the same batches.
  "$gkd" distill --data "$work/ppi" --method alignahead++ --students 2 --model gat --hidden 8 \
    --heads 2 --layers 3 --dropout 0 --lr 0.01 --epochs 15 --runs 2 --batch-students true \
    --out "$work/cohort" --json --quiet > "$work/cohort.json" || fail "ppi cohort: exit $?"
  "$gkd" eval --checkpoint "$work/cohort/run1_student1.ckpt" --json > "$work/eval_cohort.json" ||
    fail "eval of a PPI cohort student: exit $?"
  /usr/bin/python3 - "$work" <<'PY' || fail "ppi cohort outputs"
import json, os, sys
work = sys.argv[1]
s = json.load(open(os.path.join(work, "cohort.json")))
assert s["method"] == "alignahead++" and s["metric"] == "micro_f1" and len(s["students"]) == 2, s
assert 0 <= s["ensemble"]["test_mean"] <= 100 and 0 <= s["baseline"]["test_mean"] <= 100, s
assert all(r["students_batched"] for r in s["per_run"]), s["per_run"]
lines = [json.loads(l) for l in open(os.path.join(work, "cohort", "metrics.jsonl"))]
assert len(lines) == 2 * 2 * 15 and {l["model"] for l in lines} == {"student0", "student1"}
e = json.load(open(os.path.join(work, "eval_cohort.json")))
assert abs(e["test"] - s["per_run"][1]["students"][1]["test"]) < 1e-9, (e, s["per_run"][1])
PY
  # MSKD: two GCN teachers of different depth (shallow to deep), run on every step's batch; the
  # code's staged weights (from the first batch) and the node attention (binary entropies).
  for layers in 2 3; do
    printf '{"model": "gcn", "hidden": 16, "layers": %s, "dropout": 0, "lr": 0.01, "epochs": 20}' \
      $layers > "$work/gcn$layers.json"
  done
  for weighting in code node-attention; do
    "$gkd" distill --data "$work/ppi" --method mskd --teachers "$work/gcn2.json,$work/gcn3.json" \
      --mskd-weighting $weighting --model gcn --hidden 16 --layers 3 --dropout 0 --lr 0.01 \
      --epochs 20 --stage-epochs 10 --mskd-warmup 5 --student-layer 1 --runs 1 \
      --out "$work/mskd_$weighting" --json --quiet > "$work/mskd_$weighting.json" ||
      fail "ppi mskd $weighting: exit $?"
  done
  /usr/bin/python3 - "$work" <<'PY' || fail "ppi mskd outputs"
import json, os, sys
work = sys.argv[1]
for weighting in ["code", "node-attention"]:
    s = json.load(open(os.path.join(work, f"mskd_{weighting}.json")))
    assert s["method"] == "mskd" and s["metric"] == "micro_f1" and len(s["teachers"]) == 2, s
    run = s["per_run"][0]
    assert len(run["teachers"]) == 2, run
    # Code weights: round(7 softmax(alpha), 2) per teacher; node attention has none.
    w = run["teacher_weights"]
    assert (len(w) == 2 and abs(sum(w) - 7) < 0.011) if weighting == "code" else w == [], w
    lines = [json.loads(l) for l in open(os.path.join(work, f"mskd_{weighting}", "metrics.jsonl"))]
    models = {l["model"] for l in lines}
    assert models == {"teacher0", "teacher1", "student", "baseline"}, models
    assert len(lines) == 4 * 20, len(lines)
PY
  if "$gkd" distill --data "$work/ppi" --method dml --out "$work/nodml" 2> "$work/err"; then
    fail "dml on a PPI folder was not refused"
  fi
  grep -q "is a PPI folder: --method dml is not available" "$work/err" ||
    fail "dml refusal: $(cat "$work/err")"
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
