#!/usr/bin/env bash
# Rewrites the golden files after a deliberate change, and the published tables generated from
# them: tests/golden/interval_agreement.txt and the results of docs/translation-error-bar.md.
# Refuses under CI: CI compares goldens, it never writes them. Review `git diff` afterwards.
#
#   bash scripts/update-goldens.sh
set -euo pipefail
cd "$(dirname "$0")/.."
case "${CI:-}" in
  ""|0|false) ;;
  *) echo "update-goldens: refused under CI=$CI (goldens are updated by hand and reviewed)" >&2; exit 2 ;;
esac
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$(nproc)" --target cross_scheme_test
SEVEX_UPDATE_GOLDEN=1 build/tests/cross_scheme_test --gtest_brief=1
build/tests/cross_scheme_test --gtest_brief=1
git status --short tests/golden docs
