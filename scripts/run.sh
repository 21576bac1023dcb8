#!/usr/bin/env bash
# Installs what is missing, builds sevex, and runs the demo federation: five national nodes on
# 127.0.0.1 exchange twenty scripted incidents over mutual TLS, and each state's inbox is
# printed in its own national scheme (sevex demo). Nothing is left running or on disk.
# scripts/tour.sh takes a tour of the engine alone (classify, translate, policy check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sevex >/dev/null
build/tools/sevex demo
