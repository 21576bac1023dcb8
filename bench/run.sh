#!/usr/bin/env bash
# Builds sevex in Release and runs the engine benchmarks pinned to one core.
# Usage: bash bench/run.sh [BUILD_DIR] [extra Google Benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
shift || true
bash scripts/setup.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEVEX_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target sevex_engine_bench >/dev/null
pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c 0)
"${pin[@]}" "$build/bench/sevex_engine_bench" --benchmark_min_time=0.5 "$@"
