#!/usr/bin/env bash
# HTTP load test: pit (HTTP/1.1 + JSON, full default pipeline) against a bare Boost.Beast
# server doing the same JSON work, and against gRPC C++ serving the same operation.
# bench/README.md ("HTTP load") explains what is measured and quotes the results.
#
# Each server runs pinned to CPU $SERVER_CPU, the load generator to CPU $CLIENT_CPU.
# Every (configuration, run) starts a fresh server, warms it up for $WARMUP s, measures
# for $DURATION s, stops it. Runs are interleaved (round 1 of every configuration, then
# round 2, ...) so that drift in machine load spreads over all configurations.
#
# Environment: RUNS (5), DURATION (10, seconds), WARMUP (1), CONNECTIONS (64),
#   SERVER_CPU (0), CLIENT_CPU (1), PORT (18181), BUILD_DIR (<repo>/build-bench),
#   NICE (-20 as root, else 0: server and load run at this niceness, in a session and
#   autogroup of their own, so that other work on a shared machine disturbs them less),
#   SUMMARIZE=<results dir> re-prints the tables of an earlier run,
#   CONFIGS (space-separated subset of: pit/wrk beast/wrk pit-stdout/wrk pit/h2load
#            beast/h2load grpc/h2load pit-anon/wrk pit-token/wrk; default all),
#            SKIP_BUILD=1 to use existing binaries.
# pit-anon and pit-token are one server with an issuer (pit_server --auth): pit-anon calls
# the anonymous operation without a credential, pit-token the one requiring scope x with
# the same bearer token on every request (a token cache hit after the first).
# Raw outputs go to $BUILD_DIR/http-results/<timestamp>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/http"
build="${BUILD_DIR:-$root/build-bench}"
runs="${RUNS:-5}"
duration="${DURATION:-10}"
warmup="${WARMUP:-1}"
conns="${CONNECTIONS:-64}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
port="${PORT:-18181}"
if [[ "$(id -u)" == 0 ]]; then nice_level="${NICE:--20}"; else nice_level="${NICE:-0}"; fi
# In a session of our own whose autogroup gets the niceness (bench/session.sh); Ctrl-C /
# SIGTERM here stops that session's whole process group (its trap stops the server).
source "$root/bench/session.sh"
pit_bench_session PIT_BENCH_SESSION "$nice_level" "$0" "$@"
pin_server=(nice -n "$nice_level" taskset -c "$server_cpu")
pin_client=(nice -n "$nice_level" taskset -c "$client_cpu")
configs="${CONFIGS:-pit/wrk beast/wrk pit-stdout/wrk pit/h2load beast/h2load grpc/h2load pit-anon/wrk pit-token/wrk}"
path="/bench.v1.Echo/echo"
url="http://127.0.0.1:$port$path"

if [[ -n "${SUMMARIZE:-}" ]]; then SKIP_BUILD=1; fi  # only re-print the tables of an earlier run (below)
for tool in wrk h2load taskset timeout curl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install wrk nghttp2-client)" >&2; exit 1; }
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIT_WERROR=ON \
    -DPIT_BUILD_BENCH=ON -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_EXAMPLES=OFF >/dev/null
  targets=(pit_server beast_server)
  if grep -q '^build bench/grpc_server:' "$build/build.ninja" 2>/dev/null ||
     ninja -C "$build" -t targets all 2>/dev/null | grep -q '^bench/grpc_server:'; then
    targets+=(grpc_server grpc_tool)
  fi
  ninja -C "$build" "${targets[@]}"
fi
bin="$build/bench"
if [[ " $configs " == *" grpc/h2load "* && ! -x "$bin/grpc_server" ]]; then
  echo "run.sh: grpc_server not built (libgrpc++-dev, protobuf-compiler-grpc missing): skipping gRPC" >&2
  configs="${configs//grpc\/h2load/}"
fi

# Medians (and min-max) per configuration, then the ratios the issue asks for: the ratio
# of the medians, and the median of the per-round ratios (runs of one round are adjacent in
# time, so that one cancels slow drift in machine load).
summarize() {  # $1: runs.txt
  awk -v cfgs="$configs" '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t } }
  function median(a, n) { sortn(a, n); return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function paired(x, y, v,   i, m, r) { m = 0; for (i = 1; i <= n[x] && i <= n[y]; i++) r[++m] = v == "rps" ? rps[x, i] / rps[y, i] : p99[x, i] / p99[y, i]; return m ? median(r, m) : 0 }
  function ratio(label, x, y, goal_rps, goal_p99) {
    if (!R[x] || !R[y]) return
    printf "%-32s req/s %.2fx (per round %.2fx)%s   p99 %.2fx (per round %.2fx)%s\n", label,
      R[x] / R[y], paired(x, y, "rps"), goal_rps, P[x] / P[y], paired(x, y, "p99"), goal_p99
  }
  { n[$1]++; rps[$1, n[$1]] = $2; p99[$1, n[$1]] = $3; bad[$1] += $4; cpu[$1, n[$1]] = $5 }
  END {
    printf "\n| server / load tool | req/s median | req/s range | p99 median | p99 range | server CPU | non-2xx+errors |\n"
    printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    c = split(cfgs, names, " ")
    for (k = 1; k <= c; k++) {
      cfg = names[k]; m = n[cfg]; if (!m) continue
      for (i = 1; i <= m; i++) { a[i] = rps[cfg, i]; b[i] = p99[cfg, i]; u[i] = cpu[cfg, i] }
      R[cfg] = median(a, m); P[cfg] = median(b, m); U = median(u, m)
      printf "| %s | %.0f | %.0f-%.0f | %.0f us | %.0f-%.0f us | %.0f%% | %d |\n", cfg, R[cfg], a[1], a[m], P[cfg], b[1], b[m], U, bad[cfg]
    }
    printf "\n"
    ratio("pit/beast (wrk, HTTP/1.1):", "pit/wrk", "beast/wrk", " (goal >= 0.90)", " (goal <= 1.25)")
    ratio("pit/beast (h2load --h1):", "pit/h2load", "beast/h2load", "", "")
    ratio("pit-stdout/beast (wrk):", "pit-stdout/wrk", "beast/wrk", "", "")
    ratio("pit (wrk) / grpc (h2load h2c):", "pit/wrk", "grpc/h2load", " (goal >= 2.5)", "")
    ratio("pit/grpc (both h2load):", "pit/h2load", "grpc/h2load", "", "")
    ratio("pit-token/pit-anon (wrk):", "pit-token/wrk", "pit-anon/wrk", " (goal >= 0.90)", "")
  }' "$1"
}
if [[ -n "${SUMMARIZE:-}" ]]; then summarize "$SUMMARIZE/runs.txt"; exit 0; fi

out="$build/http-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {  # $1: server name
  local log="$out/$1.server.log"
  case "$1" in
    pit)        "${pin_server[@]}" "$bin/pit_server" "$port" >"$log" 2>&1 & ;;
    pit-stdout) "${pin_server[@]}" "$bin/pit_server" "$port" --log stdout >/dev/null 2>"$log" & ;;
    pit-anon|pit-token) "${pin_server[@]}" "$bin/pit_server" "$port" --auth "$out/auth" >"$log" 2>&1 & ;;
    beast)      "${pin_server[@]}" "$bin/beast_server" "$port" >"$log" 2>&1 & ;;
    grpc)       "${pin_server[@]}" "$bin/grpc_server" "$port" >"$log" 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: $1 exited at start:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.05
  done
  # pit_server --auth wrote the token before its port opened.
  if [[ "$1" == pit-token ]]; then auth_header=(-H "Authorization: Bearer $(cat "$out/auth/token")"); fi
  # One correct answer before any load.
  if [[ "$1" == grpc ]]; then
    "$bin/grpc_tool" check "127.0.0.1:$port"
  else
    local reply
    reply="$(curl -sf -X POST -H 'content-type: application/json' "${auth_header[@]}" --data-binary @"$here/echo.json" "$target")"
    [[ "$reply" == '{"text":"hello, world","n":43}' ]] || { echo "run.sh: $1 answered '$reply'" >&2; exit 1; }
  fi
}

# The server's CPU use (all its threads, user + system) while the load runs, in % of one
# CPU: near 100 means the server's core was the limit.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
cpu_begin() { cpu_t0="$(cpu_ticks)"; wall_t0="$(date +%s%N)"; }
cpu_end() {
  local t1 w1
  t1="$(cpu_ticks)"; w1="$(date +%s%N)"
  server_util="$(awk -v d="$((t1 - cpu_t0))" -v w="$((w1 - wall_t0))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", 100 * d / hz / (w / 1e9) }')"
}

# Prints "<requests/s> <p99 in µs> <bad responses> <server CPU %>" for one measured run.
load_wrk() {  # $1: output file
  timeout $((duration + 30)) "${pin_client[@]}" wrk -t1 -c"$conns" -d"${warmup}s" -s "$here/echo.lua" "${auth_header[@]}" "$target" >/dev/null
  cpu_begin
  timeout $((duration + 30)) "${pin_client[@]}" \
    wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$here/echo.lua" "${auth_header[@]}" "$target" >"$1"
  cpu_end
  awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.0f %d", rps, p99, bad }' "$1"
  echo " $server_util"
}

load_h2load() {  # $1: output file, $2: h1|grpc
  local args
  if [[ "$2" == grpc ]]; then
    args=(-d "$out/echo.grpc.bin" -H 'content-type: application/grpc' -H 'te: trailers')
  else
    args=(--h1 -d "$here/echo.json" -H 'content-type: application/json')
  fi
  cpu_begin
  timeout $((duration + warmup + 30)) "${pin_client[@]}" \
    h2load -t1 -c"$conns" -m1 --warm-up-time="${warmup}s" -D "$duration" --log-file="$1.requests" \
    "${args[@]}" "$url" >"$1"
  cpu_end
  local rps bad p99
  rps="$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { v = $i; sub(/,$/, "", v); print v + 0 } }' "$1")"
  bad="$(awk '/^requests:/ { gsub(/,/, ""); print $10 + $12 + $14 } ' "$1")"
  bad=$((bad + $(awk '/^status codes:/ { gsub(/,/, ""); print $5 + $7 + $9 }' "$1")))
  p99="$(cut -f3 "$1.requests" | sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print v[i] }')"
  rm -f "$1.requests"
  printf "%.0f %s %d %s\n" "$rps" "$p99" "$bad" "$server_util"
}

[[ " $configs " == *" grpc/"* ]] && "$bin/grpc_tool" body "$out/echo.grpc.bin"

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc=$(nproc)  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "# server on CPU $server_cpu, load on CPU $client_cpu, nice $nice_level ($(cat /proc/self/autogroup 2>/dev/null || echo no autogroup)); $runs runs x ${duration}s (+${warmup}s warm-up), $conns connections, 1 load thread"
  echo "# $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); $(h2load --version | head -1); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/summary.txt"

for ((r = 1; r <= runs; r++)); do
  for cfg in $configs; do
    server="${cfg%/*}"
    tool="${cfg#*/}"
    target="$url"
    auth_header=()
    if [[ "$server" == pit-token ]]; then target="http://127.0.0.1:$port/bench.v1.Echo/echo_scoped"; fi
    start_server "$server"
    file="$out/${server}_${tool}_$r.txt"
    if [[ "$tool" == wrk ]]; then
      result="$(load_wrk "$file")"
    elif [[ "$server" == grpc ]]; then
      result="$(load_h2load "$file" grpc)"
    else
      result="$(load_h2load "$file" h1)"
    fi
    if [[ "$server" == grpc ]]; then "$bin/grpc_tool" check "127.0.0.1:$port"; fi
    cleanup
    echo "$cfg $result" >>"$out/runs.txt"
    printf 'run %d/%d  %-18s %8s req/s  p99 %6s us  bad %s  server CPU %s%%\n' "$r" "$runs" "$cfg" $result
  done
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/summary.txt"

summarize "$out/runs.txt" | tee -a "$out/summary.txt"
echo "raw outputs: $out"
