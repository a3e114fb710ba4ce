#!/usr/bin/env bash
# Builds pit and call_path_bench in Release and runs the benchmark with the flags that
# bench/README.md quotes. Extra arguments go to the benchmark, e.g.
#   bench/run.sh --benchmark_filter=in_runtime
#   bench/run.sh --benchmark_out=results.json --benchmark_out_format=json
# BUILD_DIR overrides the build directory (default: <repo>/build-bench, gitignored).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIT_WERROR=ON \
  -DPIT_BUILD_BENCH=ON -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_EXAMPLES=OFF >/dev/null
ninja -C "$build" call_path_bench

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
exec "$build/bench/call_path_bench" \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
