#!/bin/bash
# One GPU session in one call of the device tool (bench/device/pack.sh first, carry [".device"]):
# the gpu parity suite, the kernel benchmarks and end-to-end CUDA training, every result under
# $OUT for bench/results/. Each step has its own time limit, and all of them share a budget
# (GKD_DEVICE_BUDGET_S, default 560 s, under the device tool's 600 s per call): a step that would
# outlast it is cut to what is left, and steps after it are skipped and say so.
#   bash bench/device/run.sh [quick]    (quick: the parity suite and one small benchmark only)
set -u
deadline=$((SECONDS + ${GKD_DEVICE_BUDGET_S:-560}))
# Step outputs go to a work folder, packed into $OUT/results.tgz after every step (the device tool
# returns at most 8 files; a call cut short still returns the last pack). steps.txt also goes to
# $OUT as is, for a first look.
result=${OUT:-/tmp/gkd-device-out}
out=$(mktemp -d)
mkdir -p "$result"
pack() {
  tar czf "$result/results.tgz" -C "$out" . && cp "$out/steps.txt" "$result/" 2>/dev/null
  return 0
}
d=.device
cuda=/usr/local/cuda/lib64:/usr/local/cuda/lib:/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu
# Natively when the device's glibc runs the binaries, else through the packed loader and glibc.
prefix=(env "LD_LIBRARY_PATH=$d/lib:$cuda")
if ! "${prefix[@]}" "$d/bin/gkd-bench" list >/dev/null 2>"$out/probe.txt"; then
  prefix=("$d/glibc/ld-linux-x86-64.so.2" --library-path "$d/glibc:$d/lib:$cuda")
fi
limit() {  # the smaller of $1 and what is left of the budget; fails when under 10 s are left
  local left=$((deadline - SECONDS))
  [ "$left" -ge 10 ] || return 1
  echo $(($1 < left ? $1 : left))
}
# step NAME LIMIT_S BINARY ARGS...: a packed binary, output to $out/NAME.txt, exit and time to
# steps.txt. peer NAME LIMIT_S SCRIPT ARGS...: the same for a Python peer.
step() {
  local name=$1 t0=$SECONDS l
  l=$(limit "$2") || { echo "$name: skipped (budget spent)" | tee -a "$out/steps.txt"; return; }
  shift 2
  local binary=$1
  shift
  timeout "$l" "${prefix[@]}" "$d/bin/$binary" "$@" >"$out/$name.txt" 2>&1
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$out/steps.txt"
  pack
}
peer() {
  local name=$1 t0=$SECONDS l
  l=$(limit "$2") || { echo "$name: skipped (budget spent)" | tee -a "$out/steps.txt"; return; }
  shift 2
  timeout "$l" python3 "$@" >"$out/$name.txt" 2>&1
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$out/steps.txt"
  pack
}
{
  echo "commit: $(cat $d/commit)"
  echo "started as: ${prefix[*]}"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  nvcc --version | tail -2
  nproc
} >"$out/env.txt" 2>&1
export OMP_NUM_THREADS=$(nproc)
step parity 180 test_parity
graphs=$d/data/planetoid/cora.npz,$d/data/planetoid/citeseer.npz,$d/data/gnnbench/ms_academic_cs.npz
if [ "${1:-}" = quick ]; then
  step spmm 120 gkd-bench gpu spmm --graph "$graphs" --feat 16,128 --format csv
  exit 0
fi
# In order of what the issues ask first: SpMM against cuSPARSE, edge softmax against its floor,
# the gather ceiling of the roofline, end-to-end training against PyTorch and PyG, then SDDMM
# and 8-head edge softmax.
step spmm 200 gkd-bench gpu spmm --graph "$graphs,arxiv,reddit,products" \
  --feat 16,32,64,128,256,512 --repeat 10 --format csv
step edge_softmax 60 gkd-bench gpu edge_softmax --graph "$graphs,arxiv,reddit,products" \
  --heads 1 --format csv
step gather 45 gkd-bench gpu gather --feat 16,32,64,128,256,512 --format csv
for model in gcn gat; do
  GKD_DATA_DIR=$d/data step "train_${model}_cora" 45 gkd train \
    --config configs/${model}_cora.json --feat-dropout 0 --device cuda --runs 1 --json --quiet \
    --out "/tmp/run-$model"
  peer "torch_${model}_cora" 45 bench/reference/node_torch.py --data $d/data/planetoid/cora.npz \
    --model $model --device cuda --json
  peer "pyg_${model}_cora" 45 bench/reference/node_pyg.py --data $d/data/planetoid/cora.npz \
    --model $model --device cuda --json
done
step sddmm 60 gkd-bench gpu sddmm --graph "$graphs,arxiv,reddit" --feat 16,64,256 --format csv
step edge_softmax8 45 gkd-bench gpu edge_softmax --graph "$graphs,arxiv,reddit" --heads 8 \
  --format csv
