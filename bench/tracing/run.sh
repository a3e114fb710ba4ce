#!/usr/bin/env bash
# Trace export benchmark (issue 13). bench/README.md ("Tracing") explains what is measured
# and quotes the results.
#
# gateway -> orders -> inventory, three processes of the example shop on loopback, wrk
# calling POST /shop.v1.Gateway/buy {"sku":"bulk"} (buy -> place -> reserve) with a bearer
# token (identity on, the dev key of shop_dev_token), in two configurations of the same
# Release build and the same command lines:
#   off   no trace endpoint: trace context propagates, no span is exported
#   on    every process exports to the test OTLP receiver (tests/otlp/receiver.mjs --sink:
#         answers 200 at once and counts the spans, so that Node's decoding does not take
#         the CPU from the processes under measurement), every call sampled
#         (OTEL_TRACES_SAMPLER=always_on, OTEL_TRACES_SAMPLER_ARG=1)
# The receiver runs in both configurations (idle in `off`). Each (configuration, round)
# starts fresh processes, warms up, measures, reads the span counters of the three
# processes' /metrics and the receiver's count, stops everything; rounds are interleaved
# (off, on, off, on, ...), so drift spreads over both. Goal: on/off req/s >= 0.9, p99 <= 1.2x.
#
# Then the in-process call cost with export on: tracing_bench (Google Benchmark), unless
# PARTS says otherwise.
#
# Environment: RUNS (5), DURATION (10, seconds), WARMUP (2), CONNECTIONS (32), PORT (18500:
#   ports PORT..PORT+3 and PORT+101..PORT+103), BUILD_DIR (<repo>/build-tracing), SKIP_BUILD=1,
#   NICE (-20 as root, else 0), PARTS ("http inproc"), SUMMARIZE=<results dir>.
# Raw outputs go to $BUILD_DIR/tracing-results/<timestamp>/. 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$root/build-tracing}"
runs="${RUNS:-5}"
duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
conns="${CONNECTIONS:-32}"
port="${PORT:-18500}"
parts="${PARTS:-http inproc}"
if [[ "$(id -u)" == 0 ]]; then nice_level="${NICE:--20}"; else nice_level="${NICE:-0}"; fi
source "$root/bench/session.sh"
pit_bench_session TRACING_BENCH_SESSION "$nice_level" "$0" "$@"
run_nice=(nice -n "$nice_level")

# Medians (min-max) per configuration of "cfg rps p50_us p99_us bad spans_exported
# spans_dropped spans_received receiver_cpu_pct shop_cpu_pct".
summarize() {  # $1: runs.txt
  awk '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t } }
  function median(a, n,   b, i) { for (i = 1; i <= n; i++) b[i] = a[i]; sortn(b, n); return n % 2 ? b[(n+1)/2] : (b[n/2] + b[n/2+1]) / 2 }
  function med(cfg, k,   a, i) { for (i = 1; i <= n[cfg]; i++) a[i] = v[cfg, i, k]; return median(a, n[cfg]) }
  function rng(cfg, k,   a, i) { for (i = 1; i <= n[cfg]; i++) a[i] = v[cfg, i, k]; sortn(a, n[cfg]); return n[cfg] > 1 ? sprintf(" (%s-%s)", f(a[1], k), f(a[n[cfg]], k)) : "" }
  # CPU during the load as a share of its wall time (100% = one core); "-" in old results.
  function cpu(cfg, k) { return NF_[cfg] >= k ? sprintf("%.0f%%", med(cfg, k)) : "-" }
  function f(x, k) { return k == 2 ? sprintf("%.0f", x) : sprintf("%.2f", x / 1000) }
  { if (!n[$1]++) order[++c] = $1; NF_[$1] = NF; for (k = 2; k <= NF; k++) v[$1, n[$1], k] = $k }
  END {
    printf "\n| configuration | req/s | p50 ms | p99 ms | non-2xx | spans exported | dropped | received by the receiver | receiver CPU | shop CPU |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    for (q = 1; q <= c; q++) {
      cfg = order[q]
      printf "| %s | %s%s | %s%s | **%s**%s | %d | %d | %d | %d | %s | %s |\n", cfg, f(med(cfg, 2), 2), rng(cfg, 2), f(med(cfg, 3), 3), rng(cfg, 3),
        f(med(cfg, 4), 4), rng(cfg, 4), med(cfg, 5), med(cfg, 6), med(cfg, 7), med(cfg, 8), cpu(cfg, 9), cpu(cfg, 10)
    }
    if (n["off"] && n["on"]) {
      m = n["off"] < n["on"] ? n["off"] : n["on"]
      for (i = 1; i <= m; i++) { r[i] = v["on", i, 2] / v["off", i, 2]; p[i] = v["on", i, 4] / v["off", i, 4] }
      printf "\nreq/s, on / off: %.3fx (median of per-round ratios %.3fx; goal >= 0.9x)\n", med("on", 2) / med("off", 2), median(r, m)
      printf "p99, on / off: %.3fx (median of per-round ratios %.3fx; goal <= 1.2x)\n", med("on", 4) / med("off", 4), median(p, m)
    }
  }' "$1"
}
if [[ -n "${SUMMARIZE:-}" ]]; then summarize "$SUMMARIZE/runs.txt"; exit 0; fi

for tool in wrk timeout curl node; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install wrk curl; scripts/deps.sh for node)" >&2; exit 1; }
done
"$root/tests/otlp/install.sh"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIT_WERROR=ON \
    -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_BENCH=ON -DPIT_BUILD_EXAMPLES=ON >/dev/null
  ninja -C "$build" shop shop_dev_token tracing_bench
fi
shop="$build/examples/shop"
[[ -x "$shop" ]] || { echo "run.sh: $shop not found (build it)" >&2; exit 1; }
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(PIT|OTEL)_' || true)

out="$build/tracing-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
# Identity on, as in the demo: the dev key, one token holding every scope of the shop.
"$build/examples/shop_dev_token" keys "$out" >/dev/null
token="$("$build/examples/shop_dev_token" mint "$out" --subject bench --audience urn:pit:shop \
  --scope "shop.buy orders.place inventory.reserve inventory.read" --ttl 86400)"
export PIT_AUTH_ISSUER=pit-dev PIT_AUTH_JWKS_FILE="$out/jwks.json" PIT_AUTH_PLAINTEXT_BEARER=true \
  PIT_AUTH_AUDIENCES=urn:pit:shop PIT_AUDIT_PATH=/dev/null PIT_LOG_LEVEL=warn
cat >"$out/script.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"sku":"bulk","quantity":1}'
EOF

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # $1: log name, rest: the command
  local name="$1"
  shift
  "${run_nice[@]}" "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
}
wait_port() {  # $1: port, $2: log name
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "run.sh: nothing listens on $1:" >&2; tail -5 "$out/$2.log" >&2; exit 1
}
metric_sum() {  # $1: admin port, $2: regex of the samples to add up
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v re="$2" '$0 !~ /^#/ && $0 ~ re { s += $NF } END { printf "%.0f", s }'
}
# "<receiver ticks> <shop ticks> <now ms>": pids[0] is the receiver, the rest the shop's
# processes.
cpu_ticks() {
  local p first=1 receiver=0 shop=0 t
  for p in "${pids[@]}"; do
    t="$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)"
    if ((first)); then receiver=$t; first=0; else shop=$((shop + t)); fi
  done
  echo "$receiver $shop $(($(date +%s%N) / 1000000))"
}
# "<receiver CPU %> <shop CPU %>" between two cpu_ticks readings (warm-up included), as a
# share of the wall time (100 = one core).
cpu_delta() {  # $1, $2: cpu_ticks before and after
  local hz rb sb wb ra sa wa
  hz="$(getconf CLK_TCK)"
  read -r rb sb wb <<<"$1"
  read -r ra sa wa <<<"$2"
  echo "$(((ra - rb) * 100000 / hz / (wa - wb))) $(((sa - sb) * 100000 / hz / (wa - wb)))"
}
# Prints "<req/s> <p50 us> <p99 us> <non-2xx + socket errors>" of one measured wrk run.
load() {  # $1: URL, $2: output file
  timeout $((warmup + 30)) "${run_nice[@]}" wrk -t1 -c"$conns" -d"${warmup}s" -s "$out/script.lua" "$1" >/dev/null
  timeout $((duration + 30)) "${run_nice[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$out/script.lua" "$1" >"$2"
  awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.0f %.0f %d", rps, p50, p99, bad }' "$2"
}

round() {  # $1: off|on, $2: round
  local receiver=$((port)) env=(env)
  start "$1-receiver-$2" node "$root/tests/otlp/receiver.mjs" "$receiver" --sink
  wait_port "$receiver" "$1-receiver-$2"
  if [[ "$1" == on ]]; then
    env+=(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$receiver/v1/traces"
          OTEL_TRACES_SAMPLER=always_on OTEL_TRACES_SAMPLER_ARG=1)
  fi
  start "$1-inventory-$2" "${env[@]}" "$shop" inventory --listen "127.0.0.1:$((port + 3))" --admin "127.0.0.1:$((port + 103))"
  wait_port $((port + 3)) "$1-inventory-$2"
  start "$1-orders-$2" "${env[@]}" "$shop" orders --listen "127.0.0.1:$((port + 2))" --admin "127.0.0.1:$((port + 102))" \
    --inventory "http://127.0.0.1:$((port + 3))"
  wait_port $((port + 2)) "$1-orders-$2"
  start "$1-gateway-$2" "${env[@]}" "$shop" gateway --listen "127.0.0.1:$((port + 1))" --admin "127.0.0.1:$((port + 101))" \
    --orders "http://127.0.0.1:$((port + 2))"
  wait_port $((port + 1)) "$1-gateway-$2"
  local url="http://127.0.0.1:$((port + 1))/shop.v1.Gateway/buy"
  curl -sf -X POST -H 'content-type: application/json' -H "Authorization: Bearer $token" \
    --data-binary '{"sku":"bulk","quantity":1}' "$url" >/dev/null ||
    { echo "run.sh: $url did not answer 200" >&2; tail -5 "$out"/*-"$2".log >&2; exit 1; }
  local result exported=0 dropped=0 a cpu_before cpu_after
  # CPU time (user + system, clock ticks) of the receiver and of the three shop processes
  # during the measured load: how much of the 2 cores the receiver takes from pit.
  cpu_before="$(cpu_ticks)"
  result="$(load "$url" "$out/$1_$2.txt")"
  cpu_after="$(cpu_ticks)"
  for a in 101 102 103; do
    exported=$((exported + $(metric_sum $((port + a)) '^pit_trace_spans_exported_total')))
    dropped=$((dropped + $(metric_sum $((port + a)) '^pit_trace_spans_dropped_total')))
  done
  # Spans still queued at the end of the run are not in either count: what the receiver got
  # so far is read before the processes stop (and flush).
  local received
  received="$(curl -sf "http://127.0.0.1:$receiver/stats" | sed -n 's/.*"sunk":\([0-9]*\).*/\1/p')"
  echo "$1 $result $exported $dropped ${received:-0} $(cpu_delta "$cpu_before" "$cpu_after")"
  cleanup
}

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "# $runs rounds x ${duration}s (+${warmup}s warm-up), $conns connections; nice $nice_level; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src include || echo ' (plus uncommitted changes)')"
} | tee "$out/summary.txt"
if [[ " $parts " == *" http "* ]]; then
  for ((r = 1; r <= runs; r++)); do
    for cfg in off on; do round "$cfg" "$r" | tee -a "$out/runs.txt"; done
  done
  summarize "$out/runs.txt" | tee -a "$out/summary.txt"
fi
if [[ " $parts " == *" inproc "* ]]; then
  "${run_nice[@]}" "$build/bench/tracing_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_counters_tabular=true | tee -a "$out/summary.txt"
fi
echo "results: $out"
