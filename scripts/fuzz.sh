#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/, and runs
# each for SECONDS_EACH seconds (default 60) on a copy of its seed corpus (tests/fuzz/corpus/),
# so the repository is not modified. Fails when any target crashes, leaks, hits undefined
# behaviour or times out, and says where the input that did it was saved.
#
#   bash scripts/fuzz.sh          # 60 s each
#   bash scripts/fuzz.sh 600      # longer (docs/hardening.md)
#   SEVEX_FUZZ_TARGETS="frame_decoder_fuzzer" bash scripts/fuzz.sh 3600   # one target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
root="$PWD"
bash scripts/setup.sh

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DSEVEX_FUZZ=ON \
  -DSEVEX_BUILD_TESTS=OFF -DSEVEX_BUILD_BENCH=OFF >/dev/null
start=$SECONDS
cmake --build build-fuzz -j"$(nproc)" --target sevex_fuzzers
echo "fuzz: build took $((SECONDS - start)) s" >&2

targets="${SEVEX_FUZZ_TARGETS:-$(cd tests/fuzz && ls ./*_fuzzer.cc | sed 's|^\./||; s|\.cc$||')}"
work="$root/build-fuzz/runs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
failed=()
start=$SECONDS
for t in $targets; do
  corpus="$work/$t/corpus"
  mkdir -p "$corpus" "$work/$t/tmp"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -r "tests/fuzz/corpus/$t/." "$corpus/"; fi
  echo "fuzz: $t for ${seconds}s" >&2
  # -max_len 65536: policies and configs are a few KiB; larger inputs only slow the search.
  if TMPDIR="$work/$t/tmp" "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -max_len=65536 \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$t/" \
       "$corpus" >"$work/$t/log" 2>&1; then
    echo "fuzz: $t ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t/log" | grep -o '[0-9]*$') runs)" >&2
  else
    failed+=("$t")
    echo "fuzz: $t FAILED; log $work/$t/log; input:" >&2
    ls "$work/$t/" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed "s|^|  $work/$t/|" >&2 || true
    tail -n 40 "$work/$t/log" >&2
  fi
  rm -rf "$work/$t/tmp"
done
echo "fuzz: runs took $((SECONDS - start)) s" >&2
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (reproduce: build-fuzz/tests/fuzz/<target> <input>)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a finding" >&2
