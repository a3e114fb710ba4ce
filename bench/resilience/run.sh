#!/usr/bin/env bash
# Outbound resilience benchmark (issue 11). bench/README.md ("Outbound resilience") explains
# what is measured and quotes the results.
#
# 1. happy path: gateway -> orders -> inventory, three processes of the example shop on
#    loopback, wrk calling POST /shop.v1.Gateway/buy {"sku":"bulk"} (buy -> place -> reserve)
#    with a bearer token (identity on, the dev key of shop_dev_token). Two builds, the same
#    command lines (one --inventory / --orders URL each, no config file):
#      baseline   today's single-endpoint client: $BASELINE_BIN (a Release build of commit
#                 6e74b09, whose examples/shop has this branch's sources copied in for the
#                 "bulk" sku: the library is 6e74b09's, only the example differs)
#      resilient  this tree's Release build: every hop through the resilient client
#    Each (configuration, run) starts fresh processes, warms up, measures, stops them; runs
#    are interleaved (round 1 of both, then round 2, ...), so drift spreads over both.
# 2. tail latency with one slow replica: orders -> three inventory replicas, one of them
#    200 ms slow on stock (fault injection), wrk calling POST /shop.v1.Orders/availability
#    (-> Inventory.stock, idempotent) with $SLOW_CONNECTIONS connections:
#      healthy             no replica slow, p2c (the reference p99)
#      slow-rr             round robin: a third of the calls meet the slow replica
#      slow-rr-hedge       round robin + hedge = "fixed", hedge_delay_ms = $HEDGE_MS on stock,
#                          retry_budget_percent = 50 (a third of the calls need a hedge)
#      slow-p2c            power of two choices: outstanding calls x peak-EWMA latency
#      slow-p2c-hedge      p2c + hedge = "fixed", hedge_delay_ms = $HEDGE_MS on stock
#      slow-p2c-hedge-p95  p2c + hedge = "p95" (at least $HEDGE_MS)
#    Hedges and attempts are read from orders' /metrics after each run.
#
# Environment: RUNS (3), DURATION (10, seconds), WARMUP (2), CONNECTIONS (32, happy path),
#   SLOW_CONNECTIONS (8), HEDGE_MS (20), PORT (18400: ports PORT..PORT+9 and PORT+100..),
#   BUILD_DIR (<repo>/build-resilience), BASELINE_BIN (/work/wt/r-proof-baseline/build/examples/shop),
#   SKIP_BUILD=1, NICE (-20 as root, else 0), PARTS ("happy slow"), SUMMARIZE=<results dir>.
# Raw outputs go to $BUILD_DIR/resilience-results/<timestamp>/. 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/resilience"
build="${BUILD_DIR:-$root/build-resilience}"
baseline_bin="${BASELINE_BIN:-/work/wt/r-proof-baseline/build/examples/shop}"
runs="${RUNS:-3}"
duration="${DURATION:-10}"
warmup="${WARMUP:-2}"
conns="${CONNECTIONS:-32}"
slow_conns="${SLOW_CONNECTIONS:-8}"
hedge_ms="${HEDGE_MS:-20}"
port="${PORT:-18400}"
parts="${PARTS:-happy slow}"
if [[ "$(id -u)" == 0 ]]; then nice_level="${NICE:--20}"; else nice_level="${NICE:-0}"; fi
source "$root/bench/session.sh"
pit_bench_session RESILIENCE_BENCH_SESSION "$nice_level" "$0" "$@"
run_nice=(nice -n "$nice_level")

# Medians (min-max) per configuration of "cfg rps p50_us p99_us bad hedges attempts calls".
summarize() {  # $1: runs.txt
  awk '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t } }
  function median(a, n,   b, i) { for (i = 1; i <= n; i++) b[i] = a[i]; sortn(b, n); return n % 2 ? b[(n+1)/2] : (b[n/2] + b[n/2+1]) / 2 }
  function med(cfg, k,   a, i) { for (i = 1; i <= n[cfg]; i++) a[i] = v[cfg, i, k]; return median(a, n[cfg]) }
  function rng(cfg, k,   a, i) { for (i = 1; i <= n[cfg]; i++) a[i] = v[cfg, i, k]; sortn(a, n[cfg]); return n[cfg] > 1 ? sprintf(" (%s-%s)", f(a[1], k), f(a[n[cfg]], k)) : "" }
  function f(x, k) { return k == 2 ? sprintf("%.0f", x) : sprintf("%.1f", x / 1000) }
  { if (!n[$1]++) order[++c] = $1; for (k = 2; k <= NF; k++) v[$1, n[$1], k] = $k }
  END {
    printf "\n| configuration | req/s | p50 ms | p99 ms | non-2xx | hedges / calls | attempts / calls |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    for (q = 1; q <= c; q++) {
      cfg = order[q]
      # hedges and attempts per call: the median of the per-run ratios
      hs = "-"; as = "-"
      if (med(cfg, 8) > 0) {
        for (i = 1; i <= n[cfg]; i++) { hr[i] = v[cfg, i, 6] / v[cfg, i, 8]; ar[i] = v[cfg, i, 7] / v[cfg, i, 8] }
        hs = sprintf("%.4f", median(hr, n[cfg])); as = sprintf("%.3f", median(ar, n[cfg]))
      }
      printf "| %s | %s%s | %s%s | **%s**%s | %d | %s | %s |\n", cfg, f(med(cfg, 2), 2), rng(cfg, 2), f(med(cfg, 3), 3), rng(cfg, 3),
        f(med(cfg, 4), 4), rng(cfg, 4), med(cfg, 5), hs, as
    }
    if (n["baseline"] && n["resilient"]) {
      m = n["baseline"] < n["resilient"] ? n["baseline"] : n["resilient"]
      for (i = 1; i <= m; i++) r[i] = v["resilient", i, 2] / v["baseline", i, 2]
      printf "\nhappy path req/s, resilient / baseline: %.3fx (per round %.3fx; goal >= 0.95x)\n", med("resilient", 2) / med("baseline", 2), median(r, m)
    }
    if (n["healthy"]) for (q = 1; q <= c; q++) if (order[q] ~ /^slow/) {
      goal = ""
      if (order[q] == "slow-p2c") goal = "  (goal <= 1.5x)"
      if (order[q] ~ /p2c-hedge/) goal = "  (goal: below slow-p2c)"
      printf "p99 %s / healthy: %.2fx%s\n", order[q], med(order[q], 4) / med("healthy", 4), goal
    }
  }' "$1"
}
if [[ -n "${SUMMARIZE:-}" ]]; then summarize "$SUMMARIZE/runs.txt"; exit 0; fi

for tool in wrk timeout curl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install wrk curl)" >&2; exit 1; }
done
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIT_WERROR=ON \
    -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_BENCH=OFF -DPIT_BUILD_EXAMPLES=ON >/dev/null
  ninja -C "$build" shop shop_dev_token
fi
shop="$build/examples/shop"
[[ -x "$shop" ]] || { echo "run.sh: $shop not found (build it)" >&2; exit 1; }
if [[ " $parts " == *" happy "* && ! -x "$baseline_bin" ]]; then
  echo "run.sh: the baseline $baseline_bin is missing (bench/README.md: build commit 6e74b09)" >&2; exit 1
fi
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PIT_' || true)

out="$build/resilience-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
# Identity on, as in the demo: the dev key, one token holding every scope of the shop.
"$build/examples/shop_dev_token" keys "$out" >/dev/null
token="$("$build/examples/shop_dev_token" mint "$out" --subject bench --audience urn:pit:shop \
  --scope "shop.buy orders.place inventory.reserve inventory.read" --ttl 86400)"
export PIT_AUTH_ISSUER=pit-dev PIT_AUTH_JWKS_FILE="$out/jwks.json" PIT_AUTH_PLAINTEXT_BEARER=true \
  PIT_AUTH_AUDIENCES=urn:pit:shop PIT_AUDIT_PATH=/dev/null
cat >"$out/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
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

start() {  # $1: binary, $2: log name, rest: arguments
  local bin="$1" name="$2"
  shift 2
  "${run_nice[@]}" "$bin" "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
}
wait_port() {  # $1: port, $2: log name
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "run.sh: nothing listens on $1:" >&2; tail -5 "$out/$2.log" >&2; exit 1
}
check() {  # $1: URL, $2: body: one correct answer before any load
  curl -sf -X POST -H 'content-type: application/json' -H "Authorization: Bearer $token" --data-binary "$2" "$1" >/dev/null ||
    { echo "run.sh: $1 did not answer 200" >&2; tail -5 "$out"/*.log >&2; exit 1; }
}
metric_sum() {  # $1: admin port, $2: regex of the samples to add up
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v re="$2" '$0 !~ /^#/ && $0 ~ re { s += $NF } END { printf "%.0f", s }'
}
# Prints "<req/s> <p50 us> <p99 us> <non-2xx + socket errors>" of one measured wrk run.
load() {  # $1: URL, $2: body, $3: connections, $4: output file
  printf 'wrk.body = %s\n' "'$2'" >"$out/body.lua"
  cat "$out/post.lua" "$out/body.lua" >"$out/script.lua"
  timeout $((warmup + 30)) "${run_nice[@]}" wrk -t1 -c"$3" -d"${warmup}s" -s "$out/script.lua" "$1" >/dev/null
  timeout $((duration + 30)) "${run_nice[@]}" wrk -t1 -c"$3" -d"${duration}s" --latency -s "$out/script.lua" "$1" >"$4"
  awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.0f %.0f %d", rps, p50, p99, bad }' "$4"
}

happy() {  # $1: baseline|resilient
  local bin="$shop"
  [[ "$1" == baseline ]] && bin="$baseline_bin"
  start "$bin" "$1-inventory" inventory --listen "127.0.0.1:$((port + 3))" --admin "127.0.0.1:$((port + 103))"
  wait_port $((port + 3)) "$1-inventory"
  start "$bin" "$1-orders" orders --listen "127.0.0.1:$((port + 2))" --admin "127.0.0.1:$((port + 102))" \
    --inventory "http://127.0.0.1:$((port + 3))"
  wait_port $((port + 2)) "$1-orders"
  start "$bin" "$1-gateway" gateway --listen "127.0.0.1:$((port + 1))" --admin "127.0.0.1:$((port + 101))" \
    --orders "http://127.0.0.1:$((port + 2))"
  wait_port $((port + 1)) "$1-gateway"
  local url="http://127.0.0.1:$((port + 1))/shop.v1.Gateway/buy" body='{"sku":"bulk","quantity":1}'
  check "$url" "$body"
  echo "$1 $(load "$url" "$body" "$conns" "$out/$1_$2.txt") 0 0 0"
  cleanup
}

slow() {  # $1: configuration
  local balancer=p2c hedge="" i slow_replica=1 budget=20
  case "$1" in
    healthy) slow_replica=0 ;;
    slow-rr) balancer=round_robin ;;
    slow-rr-hedge) balancer=round_robin hedge="fixed" budget=50 ;;
    slow-p2c-hedge) hedge="fixed" ;;
    slow-p2c-hedge-p95) hedge="p95" ;;
  esac
  for i in 0 1 2; do
    {
      printf '[log]\nlevel = "warn"\n'
      if [[ "$i" == 0 && "$slow_replica" == 1 ]]; then
        printf '\n[fault_injection]\nenabled = true\n\n[contracts."shop.v1.Inventory".operations.stock]\n'
        printf 'inject_percent = 100\ninject_delay_ms = 200\n'
      fi
    } >"$out/replica-$i.toml"
    start "$shop" "$1-inventory-$i" inventory --listen "127.0.0.1:$((port + 5 + i))" \
      --admin "127.0.0.1:$((port + 105 + i))" --config "$out/replica-$i.toml"
  done
  {
    printf '[log]\nlevel = "warn"\n\n[clients."shop.v1.Inventory"]\n'
    printf 'endpoints = ["http://127.0.0.1:%d", "http://127.0.0.1:%d", "http://127.0.0.1:%d"]\n' \
      $((port + 5)) $((port + 6)) $((port + 7))
    printf 'balancer = "%s"\nretry_budget_percent = %d\n' "$balancer" "$budget"
    if [[ -n "$hedge" ]]; then
      printf '\n[clients."shop.v1.Inventory".operations.stock]\nhedge = "%s"\nhedge_delay_ms = %d\n' "$hedge" "$hedge_ms"
    fi
  } >"$out/orders-$1.toml"
  for i in 0 1 2; do wait_port $((port + 5 + i)) "$1-inventory-$i"; done
  start "$shop" "$1-orders" orders --listen "127.0.0.1:$((port + 2))" --admin "127.0.0.1:$((port + 102))" \
    --inventory "http://127.0.0.1:$((port + 5))" --config "$out/orders-$1.toml"
  wait_port $((port + 2)) "$1-orders"
  local url="http://127.0.0.1:$((port + 2))/shop.v1.Orders/availability" body='{"sku":"bulk"}'
  check "$url" "$body"
  local a0 h0 c0 result
  a0="$(metric_sum $((port + 102)) '^pit_client_attempts_total\\{.*operation="stock"')"
  h0="$(metric_sum $((port + 102)) '^pit_client_attempts_total\\{.*operation="stock".*kind="hedge"')"
  c0="$(metric_sum $((port + 102)) '^pit_calls_total\\{contract="shop.v1.Orders",operation="availability"')"
  result="$(load "$url" "$body" "$slow_conns" "$out/$1_$2.txt")"
  local a1 h1 c1
  a1="$(metric_sum $((port + 102)) '^pit_client_attempts_total\\{.*operation="stock"')"
  h1="$(metric_sum $((port + 102)) '^pit_client_attempts_total\\{.*operation="stock".*kind="hedge"')"
  c1="$(metric_sum $((port + 102)) '^pit_calls_total\\{contract="shop.v1.Orders",operation="availability"')"
  # The counters include the warm-up run: hedges and attempts per call over both.
  echo "$1 $result $((h1 - h0)) $((a1 - a0)) $((c1 - c0))"
  cleanup
}

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "# $runs runs x ${duration}s (+${warmup}s warm-up); happy path $conns connections, slow replica $slow_conns; nice $nice_level; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# baseline: $baseline_bin"
} | tee "$out/summary.txt"
for ((r = 1; r <= runs; r++)); do
  if [[ " $parts " == *" happy "* ]]; then
    for cfg in baseline resilient; do happy "$cfg" "$r" | tee -a "$out/runs.txt"; done
  fi
  if [[ " $parts " == *" slow "* ]]; then
    for cfg in healthy slow-rr slow-rr-hedge slow-p2c slow-p2c-hedge slow-p2c-hedge-p95; do slow "$cfg" "$r" | tee -a "$out/runs.txt"; done
  fi
done
summarize "$out/runs.txt" | tee -a "$out/summary.txt"
echo "results: $out"
