#!/usr/bin/env bash
# Runs `sevex bench transport` and the gRPC baseline side by side (alternating, three runs each,
# same notices, size and window) and prints the ratio of the medians.
# Needs libgrpc++-dev and protobuf-compiler-grpc (installed here when missing).
# Usage: bash bench/transport_vs_grpc.sh [NOTICES] [SIZE] [WINDOW]
set -euo pipefail
cd "$(dirname "$0")/.."
notices=${1:-200000}
size=${2:-1024}
window=${3:-256}
build=build-bench
bash scripts/setup.sh
if ! dpkg-query -W -f='${Status}' libgrpc++-dev 2>/dev/null | grep -q "install ok installed" ||
   ! command -v grpc_cpp_plugin >/dev/null; then
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libgrpc++-dev protobuf-compiler-grpc </dev/null
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEVEX_BUILD_TESTS=OFF -DSEVEX_BUILD_GRPC_BASELINE=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target sevex grpc_baseline >/dev/null

args=(--notices "$notices" --size "$size" --window "$window")
rate() { sed -n 's/^ *\([0-9]*\) notices\/s acknowledged.*/\1/p'; }
sevex_rates=(); grpc_rates=()
for run in 1 2 3; do
  out=$("$build/tools/sevex" bench transport "${args[@]}"); echo "$out"; sevex_rates+=("$(echo "$out" | rate)")
  out=$("$build/bench/grpc_baseline" "${args[@]}"); echo "$out"; grpc_rates+=("$(echo "$out" | rate)")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
s=$(median "${sevex_rates[@]}"); g=$(median "${grpc_rates[@]}")
echo
echo "median of 3: sevex ${s} notices/s, gRPC ${g} notices/s, ratio $(awk -v s="$s" -v g="$g" 'BEGIN { printf "%.1f", s / g }')x"
