#!/usr/bin/env bash
# The node with many peers (issue 7): `sevex bench node --peers N` for each N, then a Markdown
# table and a plot (PNG) of throughput, latency, memory and descriptors as N grows.
# Needs jq and gnuplot (Debian: apt-get install jq gnuplot-nox) and, at 200 peers, about 4 GiB
# of memory for 201 node processes.
#
# Usage: bash bench/peers.sh [OUT_DIR] [N ...]       default: build/peers, 1 10 50 100 200
# Environment: SEVEX_BENCH_DURATION  seconds of mixed load per N (default 60)
#              SEVEX_BENCH_RATE      notices/s from the origin in the mixed load (default 20)
#              BUILD_DIR             the build to use (default build; built here if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/peers}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 10 50 100 200)
duration=${SEVEX_BENCH_DURATION:-60}
rate=${SEVEX_BENCH_RATE:-20}
build=${BUILD_DIR:-build}
for tool in jq gnuplot; do
  command -v "$tool" >/dev/null || { echo "bench/peers.sh: needs $tool (apt-get install jq gnuplot-nox)" >&2; exit 2; }
done
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target sevex >/dev/null
sevex="$build/tools/sevex"
mkdir -p "$out"
results="$out/peers.jsonl"
: > "$results"
for n in "${sizes[@]}"; do
  echo "bench/peers.sh: $n peers" >&2
  "$sevex" bench node --peers "$n" --fanouts 50 --duration "$duration" --rate "$rate" --format json | jq -c . >> "$results"
done

# The table.
{
  echo "| peers | fan-out to all, p50 / p99 / max | mixed: deliveries/s | mixed: origin notice to last receipt, p50 / p99 | peer notice to origin, p99 | origin RSS alone → idle sessions → peak | per idle session | origin descriptors idle / peak | all processes (PSS) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  jq -r '"| \(.peers) | \(.fanout_ms_p50|round) / \(.fanout_ms_p99|round) / \(.fanout_ms_max|round) ms | \(.mixed_deliveries_per_second|round) | \(.mixed_origin_ms_p50|round) / \(.mixed_origin_ms_p99|round) ms | \(.mixed_peer_ms_p99|round) ms | \(.origin_alone_rss_kib/1024*10|round/10) → \(.origin_idle_rss_kib/1024*10|round/10) → \(.mixed_origin_peak_rss_kib/1024*10|round/10) MiB | \(.idle_session_kib|round) KiB | \(.origin_idle_fds) / \(.mixed_origin_peak_fds) | \(.all_processes_pss_kib/1024|round) MiB |"' "$results"
} > "$out/peers.md"

# The plot: latency, throughput, memory, each against N on a log scale.
jq -r '[.peers, .fanout_ms_p50, .fanout_ms_p99, .mixed_origin_ms_p99, .mixed_deliveries_per_second, .idle_session_kib, .mixed_origin_peak_rss_kib/1024, .mixed_origin_peak_fds] | @tsv' "$results" > "$out/peers.tsv"
gnuplot <<GNUPLOT
set terminal pngcairo size 1200,400 font "sans,9"
set output "$out/peers.png"
set multiplot layout 1,3 title "sevex bench node --peers N: one origin and N peer processes on 127.0.0.1, 2 cores; mixed load ${rate} notices/s"
set key top left
set grid
set logscale x
set xlabel "peers"
set yrange [0:*]
set ylabel "milliseconds"
plot "$out/peers.tsv" using 1:2 with linespoints title "fan-out to all, p50", \
     "" using 1:3 with linespoints title "fan-out to all, p99", \
     "" using 1:4 with linespoints title "mixed: notice to its last receipt, p99", \
     1000 with lines dashtype 2 title "fan-out target 1 s"
set ylabel "deliveries per second"
plot "$out/peers.tsv" using 1:5 with linespoints title "mixed load: deliveries/s"
set ylabel "KiB per idle session at the origin"
plot "$out/peers.tsv" using 1:6 with linespoints title "memory per idle session", \
     64 with lines dashtype 2 title "target 64 KiB"
unset multiplot
GNUPLOT
cat "$out/peers.md"
echo "bench/peers.sh: $out/peers.md, $out/peers.png, $out/peers.jsonl" >&2
