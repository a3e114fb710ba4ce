#!/usr/bin/env bash
# Overload benchmark: the example service (`shop inventory`, operation stock) with a slow
# dependency (every call waits $SERVICE_MS, injected after admission) behind a host-wide
# admission limit ($MAX_IN_FLIGHT calls at once, $MAX_QUEUE waiting). Its capacity is
# MAX_IN_FLIGHT / SERVICE_MS (Little's law). bench/README.md ("Overload") explains the
# scenario and quotes the results.
#
# Configurations, each a fresh server per run (interleaved round by round, like bench/http):
#   capacity         closed loop: h2load, MAX_IN_FLIGHT connections, one call in flight each
#   unloaded         open loop at 1/4 of the capacity
#   overload         open loop at 2x the capacity, admission as configured
#   no-limit         the same load, PIT_ADMISSION_MAX_IN_FLIGHT=0 (no host-wide limit)
#   no-shedding      the same load, the limit kept but PIT_ADMISSION_MAX_QUEUE=10000000
#                    (nothing refused: calls queue until their deadline)
#   h2load-rps       2x the capacity from h2load --rps (40 clients x RATE/40 per s), whose
#                    clients send in lockstep: bursts instead of a steady stream
# Open loop = bench/overload/openloop.py: calls start on a schedule (Poisson arrivals)
# whatever the answers do, each on an idle keep-alive connection or a new one.
#
# Environment: RUNS (5), DURATION (10, seconds measured), WARMUP (1, seconds of the same
#   load before), MAX_IN_FLIGHT (16), MAX_QUEUE (8), SERVICE_MS (50), DEADLINE_MS (1000,
#   the calls' deadline: host.default_timeout_ms), SERVER_CPU (0), CLIENT_CPU (1),
#   PORT (18191), ADMIN_PORT (19191), BUILD_DIR (<repo>/build-overload), SHOP_BIN (the
#   binary; default $BUILD_DIR/examples/shop), SKIP_BUILD=1, NICE (-20 as root, else 0),
#   CONFIGS (subset of the list above), SUMMARIZE=<results dir> re-prints the tables.
# Raw outputs go to $BUILD_DIR/overload-results/<timestamp>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/overload"
build="${BUILD_DIR:-$root/build-overload}"
runs="${RUNS:-5}"
duration="${DURATION:-10}"
warmup="${WARMUP:-1}"
limit="${MAX_IN_FLIGHT:-16}"
queue="${MAX_QUEUE:-8}"
service_ms="${SERVICE_MS:-50}"
deadline_ms="${DEADLINE_MS:-1000}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
port="${PORT:-18191}"
admin_port="${ADMIN_PORT:-19191}"
configs="${CONFIGS:-capacity unloaded overload no-limit no-shedding h2load-rps}"
if [[ "$(id -u)" == 0 ]]; then nice_level="${NICE:--20}"; else nice_level="${NICE:-0}"; fi
# In a session of our own whose autogroup gets the niceness (bench/session.sh).
source "$root/bench/session.sh"
pit_bench_session OVERLOAD_BENCH_SESSION "$nice_level" "$0" "$@"
pin_server=(nice -n "$nice_level" taskset -c "$server_cpu")
pin_client=(nice -n "$nice_level" taskset -c "$client_cpu")
capacity=$((limit * 1000 / service_ms))  # calls/s: MAX_IN_FLIGHT slots, each held SERVICE_MS
path="/shop.v1.Inventory/stock"
url="http://127.0.0.1:$port$path"
body='{"sku":"apple"}'

# Medians (and ranges) per configuration, then accepted p99 over the unloaded p99: the
# ratio of the medians and the median of the per-round ratios.
summarize() {  # $1: runs.txt
  awk -v cfgs="$configs" '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t } }
  function median(a, n,   b, i) { for (i = 1; i <= n; i++) b[i] = a[i]; sortn(b, n); return n % 2 ? b[(n+1)/2] : (b[n/2] + b[n/2+1]) / 2 }
  # -1: no such answer in that run (e.g. no 503 at all): left out of medians and ranges.
  function col(cfg, k, out,   i, m) { m = 0; for (i = 1; i <= n[cfg]; i++) if (v[cfg, i, k] >= 0) out[++m] = v[cfg, i, k]; return m }
  function med(cfg, k,   a, m) { m = col(cfg, k, a); return m ? median(a, m) : -1 }
  function rng(cfg, k,   a, m) { m = col(cfg, k, a); sortn(a, m); return m > 1 ? sprintf(" (%s-%s)", fmt(a[1]), fmt(a[m])) : "" }
  function fmt(x) { return x < 0 ? "-" : (x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x)) }
  # fields: cfg offered ok/s 503/s other/s p50_ok p99_ok p50_503 p99_503 p99_other rss0 rss1 hwm alive lag_max cpu
  { n[$1]++; for (k = 2; k <= NF; k++) v[$1, n[$1], k] = $k }
  END {
    printf "\n| configuration | offered/s | 200/s | 503/s | other/s | p50 200 | p99 200 | p50 503 | p99 503 | p99 other | RSS before → after (peak) | alive | server CPU | load lag max |\n"
    printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: |\n"
    c = split(cfgs, names, " ")
    for (q = 1; q <= c; q++) {
      cfg = names[q]; m = n[cfg]; if (!m) continue
      alive = 0; for (i = 1; i <= m; i++) alive += v[cfg, i, 14]
      printf "| %s | %s | %s%s | %s%s | %s | %s ms | **%s ms**%s | %s ms | %s ms%s | %s ms | %.1f → %.1f (%.1f) MiB | %d/%d | %s%% | %s ms |\n", cfg,
        fmt(med(cfg, 2)), fmt(med(cfg, 3)), rng(cfg, 3), fmt(med(cfg, 4)), rng(cfg, 4), fmt(med(cfg, 5)),
        fmt(med(cfg, 6)), fmt(med(cfg, 7)), rng(cfg, 7), fmt(med(cfg, 8)), fmt(med(cfg, 9)), rng(cfg, 9), fmt(med(cfg, 10)),
        med(cfg, 11) / 1024, med(cfg, 12) / 1024, med(cfg, 13) / 1024, alive, m, fmt(med(cfg, 16)), fmt(med(cfg, 15))
    }
    printf "\n"
    if (n["unloaded"]) {
      base = med("unloaded", 7)
      for (q = 1; q <= c; q++) {
        cfg = names[q]; if (cfg == "unloaded" || cfg == "capacity" || !n[cfg]) continue
        r = 0; for (i = 1; i <= n[cfg] && i <= n["unloaded"]; i++) if (v["unloaded", i, 7] > 0 && v[cfg, i, 7] > 0) rr[++r] = v[cfg, i, 7] / v["unloaded", i, 7]
        printf "p99 of 200s, %s / unloaded: %.2fx (per round %.2fx)%s\n", cfg, med(cfg, 7) / base, r ? median(rr, r) : 0,
          cfg == "overload" ? "  (goal <= 2x)" : ""
      }
    }
  }' "$1"
}
if [[ -n "${SUMMARIZE:-}" ]]; then configs="$(cut -d' ' -f1 "$SUMMARIZE/runs.txt" | awk '!seen[$0]++' | tr '\n' ' ')"; summarize "$SUMMARIZE/runs.txt"; exit 0; fi

for tool in h2load taskset timeout curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install nghttp2-client curl python3)" >&2; exit 1; }
done
if [[ -z "${SHOP_BIN:-}" && "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_BENCH=OFF -DPIT_BUILD_EXAMPLES=ON >/dev/null
  ninja -C "$build" shop
fi
shop="${SHOP_BIN:-$build/examples/shop}"
[[ -x "$shop" ]] || { echo "run.sh: $shop not found (build it, or set SHOP_BIN)" >&2; exit 1; }
# Only the file below and the variables each configuration sets configure the server.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PIT_' || true)

out="$build/overload-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
printf '%s' "$body" >"$out/body.json"
cat >"$out/overload.toml" <<EOF
[host]
default_timeout_ms = $deadline_ms

[log]
level = "warn"

[admission]
max_in_flight = $limit
max_queue = $queue

[fault_injection]
enabled = true

# The slow dependency: every call waits ${service_ms} ms, after admission (holding its slot).
[contracts."shop.v1.Inventory".operations.stock]
log_calls = false
inject_percent = 100
inject_delay_ms = $service_ms
EOF

server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  [[ -n "$server_pid" ]] && { wait "$server_pid" 2>/dev/null || true; }
  server_pid=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {  # $1: configuration; environment for the server in $server_env
  local log="$out/$1.server.log" reply
  env "${server_env[@]}" "${pin_server[@]}" "$shop" inventory --listen "127.0.0.1:$port" \
    --admin "127.0.0.1:$admin_port" --config "$out/overload.toml" >>"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$admin_port/readyz" && break
    kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: the server exited at start:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.05
  done
  reply="$(curl -sf -X POST -H 'content-type: application/json' --data-binary "$body" "$url")"
  [[ "$reply" == '{"sku":"apple","available":10}' ]] || { echo "run.sh: the server answered '$reply'" >&2; exit 1; }
}

kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }

# "<200/s> <503/s> <other/s> <p50 200> <p99 200> <p50 503> <p99 503> <p99 other>" (ms) from a log in
# h2load's --log-file format (start µs, status, duration µs).
split_log() {  # $1: log file, $2: seconds measured
  local f="$1" secs="$2" s
  pct() { awk -v s="$1" -v o="$2" 'o ? $2 != 200 && $2 != 503 : $2 == s { print $3 }' "$f" | sort -n |
          awk -v p="$3" '{ v[NR] = $1 } END { if (!NR) { print -1; exit } i = int(NR * p + 0.999999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }'; }
  printf "%s %s %s %s %s %s %s %s" \
    "$(awk -v d="$secs" '$2 == 200 { n++ } END { printf "%.1f", n / d }' "$f")" \
    "$(awk -v d="$secs" '$2 == 503 { n++ } END { printf "%.1f", n / d }' "$f")" \
    "$(awk -v d="$secs" '$2 != 200 && $2 != 503 { n++ } END { printf "%.1f", n / d }' "$f")" \
    "$(pct 200 0 0.50)" "$(pct 200 0 0.99)" "$(pct 503 0 0.50)" "$(pct 503 0 0.99)" "$(pct x 1 0.99)"
}

# One measured run: prints the fields of runs.txt after the configuration's name. The load
# runs under `timeout --foreground` so that it stays in this session's process group,
# which Ctrl-C / SIGTERM stops as a whole.
measure() {  # $1: configuration, $2: file prefix
  local cfg="$1" f="$2" rate lag="0" rss0 rss1 hwm alive t0 t1 w0 w1 cpu stats
  case "$cfg" in
    capacity) rate=0 ;;
    unloaded) rate=$((capacity / 4)) ;;
    *) rate=$((capacity * 2)) ;;
  esac
  rss0="$(kib VmRSS)"
  t0="$(cpu_ticks)"; w0="$(date +%s%N)"
  case "$cfg" in
    capacity)
      timeout --foreground $((duration + warmup + 60)) "${pin_client[@]}" h2load --h1 -t1 -c"$limit" -m1 \
        --warm-up-time="${warmup}s" -D "$duration" --log-file="$f.calls" \
        -d "$out/body.json" -H 'content-type: application/json' "$url" >"$f.txt" ;;
    h2load-rps)
      timeout --foreground $((duration + warmup + 60)) "${pin_client[@]}" h2load --h1 -t1 -c40 -m1 --rps=$((rate / 40)) \
        --warm-up-time="${warmup}s" -D "$duration" --log-file="$f.calls" \
        -d "$out/body.json" -H 'content-type: application/json' "$url" >"$f.txt" ;;
    *)
      timeout --foreground $((duration + warmup + 60)) "${pin_client[@]}" python3 "$here/openloop.py" --url "$url" \
        --body "$body" --rate "$rate" --duration "$duration" --warmup "$warmup" --timeout 15 \
        --seed "$RANDOM" --log-file "$f.calls" >"$f.txt"
      lag="$(sed -n 's/.*"lag_max_ms": \([0-9.]*\).*/\1/p' "$f.txt")" ;;
  esac
  t1="$(cpu_ticks)"; w1="$(date +%s%N)"
  cpu="$(awk -v d="$((t1 - t0))" -v w="$((w1 - w0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * d / hz / (w / 1e9) }')"
  rss1="$(kib VmRSS)"; hwm="$(kib VmHWM)"
  alive=0
  kill -0 "$server_pid" 2>/dev/null && curl -sf -o /dev/null "http://127.0.0.1:$admin_port/healthz" && alive=1
  stats="$(split_log "$f.calls" "$duration")"
  [[ "$cfg" == capacity ]] && rate="$(awk '{ printf "%.0f", $1 }' <<<"$stats")"  # closed loop: offered = served
  gzip -f "$f.calls"
  echo "$rate $stats $rss0 $rss1 $hwm $alive $lag $cpu"
}

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "# $shop; server on CPU $server_cpu, load on CPU $client_cpu, nice $nice_level ($(cat /proc/self/autogroup 2>/dev/null || echo no autogroup))"
  echo "# max_in_flight $limit, max_queue $queue, service ${service_ms} ms, deadline ${deadline_ms} ms: capacity $capacity calls/s; $runs runs x ${duration}s (+${warmup}s warm-up)"
  echo "# $(h2load --version | head -1); $(python3 --version); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/summary.txt"

for ((r = 1; r <= runs; r++)); do
  for cfg in $configs; do
    server_env=()
    case "$cfg" in
      no-limit) server_env=(PIT_ADMISSION_MAX_IN_FLIGHT=0) ;;
      no-shedding) server_env=(PIT_ADMISSION_MAX_QUEUE=10000000) ;;
    esac
    start_server "$cfg"
    result="$(measure "$cfg" "$out/${cfg}_$r")"
    cleanup
    echo "$cfg $result" >>"$out/runs.txt"
    read -r offered ok rej other p50 p99 p50r p99r p99o rss0 rss1 hwm alive lag cpu <<<"$result"
    printf 'run %d/%d  %-11s offered %5s/s  200 %6s/s  503 %6s/s  other %5s/s  p99 200 %7s ms  503 %6s ms  RSS %s->%s KiB (peak %s)  alive %s  lag max %s ms  CPU %s%%\n' \
      "$r" "$runs" "$cfg" "$offered" "$ok" "$rej" "$other" "$p99" "$p99r" "$rss0" "$rss1" "$hwm" "$alive" "$lag" "$cpu"
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/summary.txt"

summarize "$out/runs.txt" | tee -a "$out/summary.txt"
echo "raw outputs: $out"
