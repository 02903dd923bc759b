#!/usr/bin/env bash
# Runs every libFuzzer target of a GKD_FUZZ build for a fixed time each.
#
#   tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS [OUT]
#
# FUZZ_BUILD_DIR: a build configured with -DGKD_FUZZ=ON (clang), holding bin/fuzz_<target>.
# SECONDS: -max_total_time per target. OUT (default: a fresh folder under /tmp): per target, the
# working corpus (committed seeds, plus the first graphs of the real datasets when shared/data is
# found), the log, and any crash-*/leak-*/timeout-*/oom-* input. TARGETS="npy tu" limits the run.
# Prints one line per target (execs, coverage) and exits 1 if any target found a problem.
set -u
if [[ $# -lt 2 ]]; then
  echo "usage: $0 FUZZ_BUILD_DIR SECONDS [OUT]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${3:-$(mktemp -d /tmp/gkd-fuzz-run.XXXXXX)}
mkdir -p "$out"
targets=${TARGETS:-npy npz tu ogb ppi checkpoint config}

data=""
for d in /work/shared/data "$repo/../shared/data"; do
  if [[ -d $d ]]; then data=$d; break; fi
done
if [[ -n $data ]]; then
  python3 "$here/make_seeds.py" --real "$data" "$out/real" >/dev/null || data=""
fi

# UBSan reports are recoverable by default: make each one end the run as a crash.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in $targets; do
  exe=$build/bin/fuzz_$t
  if [[ ! -x $exe ]]; then
    echo "fuzz $t: $exe missing (build with -DGKD_FUZZ=ON, target fuzz_all)" >&2
    failed+=("$t")
    continue
  fi
  corpus=$out/$t/corpus
  artifacts=$out/$t/artifacts
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/*  # only what this run finds
  cp -f "$here/corpus/$t/"* "$corpus/" 2>/dev/null
  cp -f "$here/regressions/$t/"* "$corpus/" 2>/dev/null
  [[ -n $data && -d $out/real/$t ]] && cp -f "$out/real/$t/"* "$corpus/"
  log=$out/$t/fuzz.log
  dict=()
  [[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
  (cd "$out/$t" && "$exe" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
     -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
     -artifact_prefix="$artifacts/" >"$log" 2>&1)
  rc=$?
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  crashes=$(find "$artifacts" -type f | wc -l)
  if grep -q 'runtime error:' "$log"; then crashes=$((crashes + 1)); fi
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
    echo "fuzz $t: FAILED (exit $rc, ${crashes} artifact(s) in $artifacts; log $log)"
    grep -m3 -E 'ERROR: |SUMMARY: |runtime error' "$log" | sed 's/^/    /'
    failed+=("$t")
  else
    echo "fuzz $t: ok, ${execs:-?} execs in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l)"
  fi
done
if [[ ${#failed[@]} -ne 0 ]]; then
  echo "fuzz: problems in: ${failed[*]} (inputs under $out/<target>/artifacts)"
  exit 1
fi
echo "fuzz: all targets clean ($out)"
