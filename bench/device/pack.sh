#!/bin/sh
# Packs what a GPU session needs into .device/ (ignored by git), for the device tool's `carry`:
# the CUDA build's binaries, the shared libraries they need besides CUDA's and the driver's (the
# device image has CUDA 13 but not Debian's libfmt, and perhaps an older glibc: run.sh can start
# the binaries through the packed dynamic loader), and the real graphs the benchmarks load (the
# device cannot see ../shared). Run from the repository root after building with CUDA:
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build
#   sh bench/device/pack.sh [BUILD_DIR] [DATA_DIR]
# then, on the device: sh bench/device/run.sh   (carry: [".device"])
set -eu
build=${1:-build}
data=${2:-../shared/data}
rm -rf .device
mkdir -p .device/bin .device/lib .device/glibc .device/data/planetoid .device/data/gnnbench
for b in gkd gkd-bench test_parity; do
  test -x "$build/bin/$b" || { echo "pack.sh: $build/bin/$b is missing (build with CUDA first)" >&2; exit 1; }
  strip -o ".device/bin/$b" "$build/bin/$b"
done
# Every non-CUDA library of the binaries; glibc and its loader apart (run.sh uses them only when
# the device's glibc is too old for the binaries).
for lib in $(ldd "$build/bin/gkd" "$build/bin/gkd-bench" "$build/bin/test_parity" |
             awk '/=> \// {print $3} /ld-linux/ {print $1}' | sort -u); do
  case "$lib" in
    */cuda/*|*libcuda.so*|*libcublas*|*libcusparse*|*libcudart*|*libnvJitLink*) ;;
    */libc.so*|*/libm.so*|*/libdl.so*|*/libpthread.so*|*/librt.so*|*ld-linux*) cp -L "$lib" .device/glibc/ ;;
    *) cp -L "$lib" .device/lib/ ;;
  esac
done
for f in planetoid/cora.npz planetoid/citeseer.npz gnnbench/ms_academic_cs.npz; do
  cp "$data/$f" ".device/data/$f"
done
git rev-parse HEAD > .device/commit
git status --porcelain | grep -q . && echo dirty >> .device/commit || true
du -sh .device
