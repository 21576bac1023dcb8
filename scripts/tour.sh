#!/usr/bin/env bash
# Installs what is missing, builds sevex, and takes a tour of the engine on the shipped
# example notices: policy check, classification under each origin's scheme, translation.
# (scripts/run.sh runs the demo federation instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
sevex=build/tools/sevex

echo "== sevex policy check"
"$sevex" policy check
for notice in examples/notices/*.json; do
  # The file name starts with the origin's country; assess under its scheme, show it elsewhere.
  case "$(basename "$notice")" in
    au-*) own=au-asd;  others="eu-nis2 uk-ncsc" ;;
    eu-*) own=eu-nis2; others="au-asd us-ciss" ;;
    uk-*) own=uk-ncsc; others="au-asd cl-ds295" ;;
    *)    own=au-asd;  others="eu-nis2" ;;
  esac
  echo
  echo "== $(basename "$notice"): sevex classify --scheme $own"
  "$sevex" classify --scheme "$own" "$notice"
  for other in $others; do
    echo "== sevex translate --from $own --to $other"
    "$sevex" translate --from "$own" --to "$other" "$notice"
  done
done
echo
echo "== sevex translate --from au-asd --level C3 --to eu-nis2"
"$sevex" translate --from au-asd --level C3 --to eu-nis2
echo
echo "== sevex policy matrix (every level of every scheme in every other; --format svg draws it)"
"$sevex" policy matrix | sed -n '1,12p'
