#!/bin/bash
# One GPU session in one call of the device tool (bench/device/pack.sh first, carry [".device"]):
# the gpu parity suite, the kernel benchmarks and end-to-end CUDA training, every result under
# $OUT for bench/results/. Each step has its own time limit, so one hang cannot eat the session.
#   sh bench/device/run.sh [quick]      (quick: the parity suite and one small benchmark only)
set -u
out=${OUT:-/tmp/gkd-device-out}
mkdir -p "$out"
d=.device
cuda=/usr/local/cuda/lib64:/usr/local/cuda/lib:/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu
# Natively when the device's glibc runs the binaries, else through the packed loader and glibc.
prefix=(env "LD_LIBRARY_PATH=$d/lib:$cuda")
if ! "${prefix[@]}" "$d/bin/gkd-bench" list >/dev/null 2>"$out/probe.txt"; then
  prefix=("$d/glibc/ld-linux-x86-64.so.2" --library-path "$d/glibc:$d/lib:$cuda")
fi
step() {  # step NAME LIMIT_S BINARY ARGS... : output to $out/NAME.txt, exit and time to steps.txt
  local name=$1 limit=$2 binary=$3 t0=$SECONDS
  shift 3
  timeout "$limit" "${prefix[@]}" "$d/bin/$binary" "$@" >"$out/$name.txt" 2>&1
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$out/steps.txt"
}
{
  echo "commit: $(cat $d/commit)"
  echo "started as: ${prefix[*]}"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  nvcc --version | tail -2
  nproc
} >"$out/env.txt" 2>&1
export OMP_NUM_THREADS=$(nproc)
step parity 240 test_parity
graphs=$d/data/planetoid/cora.npz,$d/data/planetoid/citeseer.npz,$d/data/gnnbench/ms_academic_cs.npz
if [ "${1:-}" = quick ]; then
  step spmm 120 gkd-bench gpu spmm --graph "$graphs" --feat 16,128 --format csv
  exit 0
fi
step spmm 300 gkd-bench gpu spmm --graph "$graphs,arxiv,reddit,products" \
  --feat 16,32,64,128,256,512 --format csv
step sddmm 150 gkd-bench gpu sddmm --graph "$graphs,arxiv,reddit" --feat 16,64,256 --format csv
step edge_softmax 120 gkd-bench gpu edge_softmax --graph "$graphs,arxiv,reddit,products" \
  --heads 1 --format csv
step edge_softmax8 120 gkd-bench gpu edge_softmax --graph "$graphs,arxiv,reddit" --heads 8 \
  --format csv
for model in gcn gat; do
  GKD_DATA_DIR=$d/data step "train_${model}_cora" 120 gkd train \
    --config configs/${model}_cora.json --device cuda --runs 1 --json --quiet --out "/tmp/run-$model"
done
