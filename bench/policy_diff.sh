#!/usr/bin/env bash
# Benchmarks `sevex policy diff` over a corpus of N notices (default 100,000) on one core:
# generates a synthetic JSON-lines corpus, changes one cell of au-asd, and times the diff.
# Usage: bash bench/policy_diff.sh [N] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
build=${2:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEVEX_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target sevex >/dev/null
sevex="$build/tools/sevex"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk -v n="$n" 'BEGIN {
  srand(20261122);
  split("unsuccessful_attempt low_level_attack coordinated_low_level_attack isolated_compromise extensive_compromise sustained_disruption", imp, " ");
  split("individual small medium large national strategic", vic, " ");
  split("dns tld cloud data_centre cdn msp marketplace search_engine social_network trust_service other", ent, " ");
  split("0 10 31 120", una, " "); split("0 30 61 300", deg, " "); split("0 10000 200000 600000 3000000", loss, " ");
  for (i = 0; i < n; i++) {
    printf "{\"id\":\"bench-%d\",\"origin\":\"au.asd\",\"revision\":1,\"title\":\"synthetic notice %d\",", i, i;
    printf "\"classification\":{\"rsit_class\":\"intrusions\"},\"marking\":{\"tlp\":\"GREEN\"},\"attributes\":{";
    printf "\"impact_kind\":\"%s\",\"victim_tier\":\"%s\",\"entity_type\":\"%s\",", imp[int(rand()*6)+1], vic[int(rand()*6)+1], ent[int(rand()*11)+1];
    printf "\"unavailable_minutes\":%s,\"degraded_minutes\":%s,\"users_affected\":%d,\"union_users_total\":%d,", una[int(rand()*4)+1], deg[int(rand()*4)+1], int(rand()*3000000), 1000000 + int(rand()*49000000);
    printf "\"direct_loss_eur\":%s,\"annual_turnover_eur\":%d,\"deaths\":%d,\"suspected_malicious\":%s}}\n", loss[int(rand()*5)+1], 1000000 * (1 + int(rand()*100)), (rand() < 0.05), (rand() < 0.5) ? "true" : "false";
  }
}' > "$work/corpus.jsonl"
sed 's/row { value: "extensive_compromise"         cell: \["C6", "C5", "C4", "C3", "C2", "C1"\] }/row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C2", "C2", "C1"] }/' \
  policies/schemes/au-asd.textproto > "$work/au-asd.textproto"

pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c 0)
echo "corpus: $n notices, $(du -h "$work/corpus.jsonl" | cut -f1); sevex policy diff au-asd NEW --corpus corpus.jsonl, pinned to one core"
TIMEFORMAT='%R'
for run in 1 2 3; do
  t=$( { time "${pin[@]}" "$sevex" policy diff au-asd "$work/au-asd.textproto" --corpus "$work/corpus.jsonl" >"$work/out.txt" 2>/dev/null; } 2>&1 )
  echo "run $run: ${t} s"
done
grep '^corpus:' "$work/out.txt"
