#!/bin/sh
# Tests of scripts/plot.py: usage check_plot.sh GKD GKD_BENCH SOURCE_DIR WORKDIR
#   A tiny synthetic `gkd train` (2 runs), a tiny `gkd distill --method dml --students 2` and one
#   `gkd-bench cpu spmm` line feed `plot.py curves`, `compare` and `roofline`; each PNG must exist,
#   start with the PNG signature and be non-trivial in size. A malformed metrics.jsonl must exit 1
#   with a one-line message naming the file and leave no PNG; bad usage must exit 2.
# Exits 77 (skipped under ctest's SKIP_RETURN_CODE) when /usr/bin/python3 (or $PLOT_PYTHON) cannot
# import matplotlib.
set -eu
gkd=$1
bench=$2
src=$3
work=$4
py=${PLOT_PYTHON:-/usr/bin/python3}  # override only to test the skip path
plot="$src/scripts/plot.py"
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! "$py" -c 'import matplotlib' 2>/dev/null; then
  echo "SKIP: matplotlib is not importable by $py (Debian: apt-get install python3-matplotlib)"
  exit 77
fi
[ -f "$plot" ] || fail "$plot: no such file"
rm -rf "$work"
mkdir -p "$work"

"$gkd" train --data synthetic:nodes=300,features=8 --epochs 20 --runs 2 --out "$work/train" \
  --quiet || fail "gkd train: exit $?"
"$gkd" distill --method dml --students 2 --data synthetic:nodes=300,features=8 --epochs 20 \
  --out "$work/dml" --quiet || fail "gkd distill: exit $?"
"$bench" cpu spmm --nodes 2000 --feat 16 --repeat 2 > "$work/bench.txt" || fail "gkd-bench: exit $?"
grep -q '^op=spmm .*GB/s=' "$work/bench.txt" || fail "gkd-bench output: $(cat "$work/bench.txt")"

# A valid PNG: the 8-byte signature and more than a few KB.
check_png() {
  [ -f "$1" ] || fail "$1 not written"
  sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
  [ "$sig" = "89504e470d0a1a0a" ] || fail "$1: not a PNG (starts $sig)"
  size=$(wc -c < "$1")
  [ "$size" -gt 5000 ] || fail "$1: only $size bytes"
}

"$py" "$plot" curves "$work/train" -o "$work/curves_train.png" || fail "curves (train): exit $?"
check_png "$work/curves_train.png"
"$py" "$plot" curves "$work/dml" -o "$work/curves_dml.png" || fail "curves (distill): exit $?"
check_png "$work/curves_dml.png"
"$py" "$plot" compare "$work/dml" -o "$work/compare.png" || fail "compare: exit $?"
check_png "$work/compare.png"
"$py" "$plot" roofline "$work/bench.txt" -o "$work/roofline.png" || fail "roofline: exit $?"
check_png "$work/roofline.png"
"$py" "$plot" roofline "$work/bench.txt" --peak-gbs 10 --peak-gflops 100 \
  -o "$work/roofline_roofs.png" || fail "roofline with roofs: exit $?"
check_png "$work/roofline_roofs.png"

# Malformed input: exit 1, exactly one line on stderr naming the file and the line, no PNG left.
expect_error() {  # expect_error CODE PATTERN OUT.png ARGS...
  code=$1 pattern=$2 out=$3
  shift 3
  rc=0
  "$py" "$plot" "$@" -o "$out" > "$work/stdout" 2> "$work/stderr" || rc=$?
  [ "$rc" -eq "$code" ] || fail "plot.py $*: exit $rc (expected $code): $(cat "$work/stderr")"
  if [ "$code" -eq 1 ]; then
    [ "$(wc -l < "$work/stderr")" -eq 1 ] || fail "plot.py $*: not one line: $(cat "$work/stderr")"
  fi
  grep -q "$pattern" "$work/stderr" || fail "plot.py $*: message lacks '$pattern': $(cat "$work/stderr")"
  ! grep -q Traceback "$work/stderr" || fail "plot.py $*: traceback"
  [ ! -e "$out" ] || fail "plot.py $*: left $out"
  ! ls -a "$(dirname "$out")" | grep -q '\.tmp$' || fail "plot.py $*: left a temp file"
}
mkdir -p "$work/bad"
cp "$work/dml/summary.json" "$work/bad/"
head -n 3 "$work/dml/metrics.jsonl" > "$work/bad/metrics.jsonl"
printf '{"run": 0, "epoch": 4, "val_acc": 50.0\n' >> "$work/bad/metrics.jsonl"
expect_error 1 "metrics.jsonl line 4: not valid JSON" "$work/bad1.png" curves "$work/bad"
printf '{"run": 0, "epoch": "five", "val_acc": 50.0, "train_loss": 1.0}\n' > "$work/bad/metrics.jsonl"
expect_error 1 "metrics.jsonl line 1: field 'epoch'" "$work/bad2.png" curves "$work/bad"
printf '{"command": "distill", "students": [{"test_std": 1.0}]}\n' > "$work/bad/summary.json"
expect_error 1 "summary.json.*'test_mean'" "$work/bad3.png" compare "$work/bad"
printf 'op=spmm device=cpu nodes=10 edges=20 feat=16 median_ms=1.0\n' > "$work/bad.txt"
expect_error 1 "bad.txt line 1: field 'GB/s' missing" "$work/bad4.png" roofline "$work/bad.txt"
expect_error 1 "no such run directory" "$work/bad5.png" curves "$work/missing"
expect_error 2 "usage" "$work/bad6.png" frobnicate
expect_error 2 "positive" "$work/bad7.png" roofline "$work/bench.txt" --peak-gbs -1
echo "plot.py: all checks passed"
