#!/usr/bin/env bash
# Builds sevex in Release and runs the engine benchmarks pinned to one core
# (docs/performance.md). Works from a clean clone with no arguments.
#
# Usage: bash bench/run.sh [BUILD_DIR] [Google Benchmark flags...]
#   BUILD_DIR defaults to build-bench (relative to the repository root).
#   e.g. bash bench/run.sh build-bench --benchmark_filter=BM_Assess/
#        bash bench/run.sh build-bench --benchmark_format=json
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bench
if (($# > 0)) && [[ $1 != -* ]]; then
  build=$1
  shift
fi

# The Debian 12 packages the build needs; installs only what is missing (a no-op otherwise).
bash scripts/setup.sh

log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT
echo "building $build/bench/sevex_engine_bench (Release)..." >&2
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEVEX_BUILD_TESTS=OFF -DSEVEX_BUILD_BENCH=ON &&
       cmake --build "$build" -j"$(nproc)" --target sevex_engine_bench; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench/run.sh: the build failed (output above)" >&2
  exit 1
fi

pin=()
if command -v taskset >/dev/null 2>&1; then
  pin=(taskset -c 0)
  echo "pinned to CPU 0 with taskset; $(nproc) CPUs online; $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
else
  echo "bench/run.sh: taskset not found; running unpinned" >&2
fi
"${pin[@]}" "$build/bench/sevex_engine_bench" --benchmark_min_time=0.5 "$@" | tee "$out"

# The cost of the explanation: full AssessNotice over the bare verdict, by CPU time per call
# (console output only; silent when those benchmarks were filtered out).
awk '
  function ns(v, unit) { return unit == "us" ? v * 1e3 : unit == "ms" ? v * 1e6 : unit == "s" ? v * 1e9 : v }
  $1 ~ /^BM_Assess(Explained)?\// && NF >= 6 { cpu[$1] = ns($4, $5) }
  END {
    n = split("au-asd eu-nis2", ids, " ")
    for (i = 1; i <= n; i++) {
      v = cpu["BM_Assess/" ids[i]]; e = cpu["BM_AssessExplained/" ids[i]]
      if (v > 0 && e > 0) printf "explained / verdict-only, %s: %.0fx (%.4g ns vs %.4g ns per notice)\n", ids[i], e / v, e, v
    }
  }' "$out"
