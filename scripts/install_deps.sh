#!/usr/bin/env bash
# Installs the Debian packages gkd needs to build and test, when any is missing. As root it runs
# apt-get; otherwise it prints the exact command and fails. Nothing else is downloaded.
set -euo pipefail

packages=(
  cmake ninja-build g++ make        # toolchain
  libeigen3-dev                     # CPU reference dense math
  doctest-dev                       # tests
  libfmt-dev                        # CLI and bench formatting
  zlib1g-dev                        # .npz members compressed with deflate, OGB .csv.gz
  nlohmann-json3-dev                # PPI graph JSON (and, later, run configs)
  python3 python3-torch             # the PyTorch peer check (Debian's system python3)
  clang-format                      # style check
  clang libclang-rt-14-dev libomp-dev  # the sanitizer + libFuzzer build of .ci/run
  python3-matplotlib                # scripts/plot.py (figures from run directories and gkd-bench)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "gkd: missing Debian packages: ${missing[*]}" >&2
  echo "gkd: install them with: sudo sh -c '$cmd'" >&2
  exit 1
fi
echo "gkd: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
