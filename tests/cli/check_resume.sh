#!/bin/sh
# Crash safety of `gkd train`: usage check_resume.sh GKD WORKDIR
# A run is SIGKILLed again and again at staggered moments and continued each time with --resume;
# every kill must leave state files that load (a torn one fails the resume: CRC), and the finished
# run must match an uninterrupted run with the same seed exactly: the summary, every run's result
# and every line of metrics.jsonl (timings aside). Then the refusals: a finished run, extra
# options, a corrupted state file.
set -eu
gkd=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# About 2.5 s uninterrupted on one thread (a few times that under the sanitizers).
set -- --data synthetic:nodes=6000,features=32 --model gat --hidden 8 --heads 4 --epochs 40 \
  --runs 2 --seed 3 --state-every 1 --threads 1 --quiet --json
"$gkd" train "$@" --out "$work/ref" > "$work/ref.json" || fail "reference run: exit $?"

# Kills are placed by progress, not by the clock, so they land mid-training on a fast or a slow
# (sanitizer) build alike: the first before training starts, then each once metrics.jsonl has
# reached the next line count (80 lines in all), after a jitter that varies the phase hit (a
# step, an evaluation, a state write, a run boundary).
lines() { cat "$work/run.partial/metrics.jsonl" 2>/dev/null | wc -l; }
start() {
  if [ -f "$work/run.partial/config.json" ]; then
    "$gkd" train --resume "$work/run" --threads 1 --json > "$work/run.json" 2>> "$work/resumes" &
  else  # killed before the run directory was written: nothing to resume, start again
    rm -rf "$work/run.partial"
    "$gkd" train "$@" --out "$work/run" > "$work/run.json" &
  fi
  pid=$!
}
start "$@"
sleep 0.02
kill -9 "$pid" 2>/dev/null && kills=1 || kills=0
wait "$pid" 2>/dev/null || true
for target_jitter in 3:0 9:0.01 17:0.003 26:0.02 39:0 40:0.005 52:0.015 66:0.001; do
  target=${target_jitter%:*}
  start "$@"
  while [ "$(lines)" -lt "$target" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
  sleep "${target_jitter#*:}"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  [ -e "$work/run" ] && break  # finished before this kill
done
[ -e "$work/run" ] || start "$@"
[ -e "$work/run" ] || wait "$pid" || fail "the last resume: exit $?"
[ $kills -ge 5 ] || fail "only $kills kills landed"
# Proof that runs continued from their state rather than starting over.
resumed=$(grep -c "resumed after epoch" "$work/resumes" || true)
[ "$resumed" -ge 2 ] || fail "only $resumed runs resumed from a state file: $(cat "$work/resumes")"
echo "killed $kills times; $resumed runs continued from a state file"

/usr/bin/python3 - "$work" <<'PY' || fail "the resumed run differs from the uninterrupted one"
import json, os, sys
work = sys.argv[1]
def summary(name):
    s = json.load(open(os.path.join(work, name + ".json")))
    for r in s["per_run"]:
        r.pop("epoch_ms_median")
        r.pop("resumed_epoch")
    for k in ["epoch_ms_median", "run_dir"]:
        s.pop(k)
    return s
def metrics(name):
    lines = [json.loads(l) for l in open(os.path.join(work, name, "metrics.jsonl"))]
    for l in lines:
        l.pop("step_ms")
    return lines
ref, run = summary("ref"), summary("run")
assert ref == run, (ref, run)
assert metrics("ref") == metrics("run")
assert len(metrics("run")) == 80
assert not os.path.exists(os.path.join(work, "run.partial"))
assert not [f for f in os.listdir(os.path.join(work, "run")) if ".tmp" in f]
PY

expect() {  # expect CODE MESSAGE -- command...
  code=$1; msg=$2; shift 3
  set +e
  "$@" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
  [ $rc -eq "$code" ] || fail "exit $rc (expected $code): $*"
  grep -q -- "$msg" "$work/err" || fail "message '$msg' not in: $(cat "$work/err")"
}
expect 1 "finished already" -- "$gkd" train --resume "$work/run"
expect 1 "no unfinished run" -- "$gkd" train --resume "$work/nothing"
expect 2 "only --threads" -- "$gkd" train --resume "$work/run" --epochs 5

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
