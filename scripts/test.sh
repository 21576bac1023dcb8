#!/usr/bin/env bash
# Installs what is missing, builds sevex with its tests, and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# -g1: line tables (for backtraces and perf), not full debug info: the build from a clean clone
# took 341 s on two cores instead of about 450 s with -g (docs/hardening.md, CI).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)"
