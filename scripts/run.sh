#!/usr/bin/env bash
# Installs what is missing, builds sevex, and takes a tour of the engine on the shipped
# example notices: policy check, classification under each origin's scheme, translation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
sevex=build/tools/sevex

echo "== sevex policy check"
"$sevex" policy check
for notice in examples/notices/*.json; do
  case "$(basename "$notice")" in
    eu-*) own=eu-nis2; other=au-asd ;;
    *)    own=au-asd;  other=eu-nis2 ;;
  esac
  echo
  echo "== $(basename "$notice"): sevex classify --scheme $own"
  "$sevex" classify --scheme "$own" "$notice"
  echo "== sevex translate --from $own --to $other"
  "$sevex" translate --from "$own" --to "$other" "$notice"
done
echo
echo "== sevex translate --from au-asd --level C3 --to eu-nis2"
"$sevex" translate --from au-asd --level C3 --to eu-nis2
