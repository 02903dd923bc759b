#!/bin/sh
# The installed package: usage check_install.sh BUILD_DIR SOURCE_DIR WORKDIR
# `cmake --install` into a fresh prefix, then examples/ configured and built against it alone
# (find_package(gkd), gkd::gkd, <gkd/gkd.h>) and run. Also checks that the umbrella header pulls in
# no CUDA, fmt or JSON header.
set -eu
build=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" || fail "cmake --install"
[ -f "$work/prefix/include/gkd/gkd.h" ] || fail "no include/gkd/gkd.h"
[ -f "$work/prefix/lib/cmake/gkd/gkdConfig.cmake" ] || fail "no gkdConfig.cmake"
[ -x "$work/prefix/bin/gkd" ] || fail "no bin/gkd"

# Every header the umbrella reaches, by the preprocessor: none may come from CUDA, fmt or JSON.
c++ -std=c++20 -M -I"$work/prefix/include" -I"$work/prefix/include/gkd" -I/usr/include/eigen3 \
  -x c++ - -o "$work/deps" <<'CPP' || fail "the umbrella header does not compile alone"
#include <gkd/gkd.h>
CPP
if grep -E "cuda|fmt/|nlohmann" "$work/deps" > /dev/null; then
  fail "the umbrella header pulls in: $(grep -oE '[^ ]*(cuda|fmt/|nlohmann)[^ ]*' "$work/deps" | head -3)"
fi

cmake -S "$src/examples" -B "$work/examples" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" 2>&1 ||
  fail "examples do not configure against the package: $(tail -5 "$work/configure.log")"
cmake --build "$work/examples" > "$work/build.log" 2>&1 ||
  fail "examples do not build against the package: $(tail -5 "$work/build.log")"
(cd "$work" && ./examples/train_and_distill > run.log) || fail "train_and_distill: exit $?"
cat "$work/run.log"
grep -q "ensemble of the cohort" "$work/run.log" || fail "the example did not reach the cohort"
[ -f "$work/gcn.ckpt" ] || fail "the example wrote no checkpoint"
echo "install checks passed"
