#!/usr/bin/env bash
# Deduplication benchmark (issue 14). bench/README.md ("Durability") explains what is
# measured and quotes the results.
#
# One server (bench/durability/dedup_server.cpp, a Release build) serves one trivial
# operation twice: `plain`, and `deduplicated` (OpSpec::deduplicated). wrk calls it over
# HTTP on loopback with ONE connection (one call at a time: the latency of a call, not a
# queue), for each store in turn:
#   plain     POST /bench.v1.Ledger/plain                    (no key: the reference)
#   first     POST /bench.v1.Ledger/deduplicated, a new Idempotency-Key per request
#             (claim + fingerprint + implementation + settle: every call a first call)
#   replay    POST /bench.v1.Ledger/deduplicated, one key for every request
#             (claim finds the settled reply: every call after the first a replay)
# Stores: sqlite (a fresh file per run, in $BUILD_DIR) and postgres (a throwaway cluster of
# tests/support/pg_cluster.sh, one for the whole run, fsync off as in the tests; skipped
# when PostgreSQL is not installed). Each (store, round) starts a fresh server; within it the
# three kinds run back to back (plain, first, replay), each warmed up then measured, so the
# added cost is a difference within one server's life. Rounds are repeated $RUNS times and
# the tables give medians over rounds (min-max).
# The added cost per deduplicated call = first p50 - plain p50 (median of the per-round
# differences). Goal on SQLite: <= 100 us.
#
# Environment: RUNS (5), DURATION (5, seconds), WARMUP (1), PORT (18600), STORES
#   ("sqlite postgres"), SERVER_CPU (0), CLIENT_CPU (1), BUILD_DIR (<repo>/build-durability),
#   SKIP_BUILD=1, NICE (-20 as root, else 0), SUMMARIZE=<results dir> re-prints the tables.
# Raw outputs go to $BUILD_DIR/durability-results/<timestamp>/. 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${BUILD_DIR:-$root/build-durability}"
runs="${RUNS:-5}"
duration="${DURATION:-5}"
warmup="${WARMUP:-1}"
port="${PORT:-18600}"
stores="${STORES:-sqlite postgres}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
if [[ "$(id -u)" == 0 ]]; then nice_level="${NICE:--20}"; else nice_level="${NICE:-0}"; fi
source "$root/bench/session.sh"
pit_bench_session DURABILITY_BENCH_SESSION "$nice_level" "$0" "$@"
pin_server=(nice -n "$nice_level" taskset -c "$server_cpu")
pin_client=(nice -n "$nice_level" taskset -c "$client_cpu")

# runs.txt lines: "<store> <kind> <round> <req/s> <p50 us> <p99 us> <non-2xx + errors>".
summarize() {  # $1: runs.txt
  awk '
  function sortn(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t } }
  function median(a, n,   b, i) { for (i = 1; i <= n; i++) b[i] = a[i]; sortn(b, n); return n % 2 ? b[(n+1)/2] : (b[n/2] + b[n/2+1]) / 2 }
  function med(s, k, f,   a, i, m) { m = 0; for (i = 1; i <= rounds[s]; i++) if ((s, k, i, f) in v) a[++m] = v[s, k, i, f]; return m ? median(a, m) : -1 }
  function rng(s, k, f,   a, i, m) { m = 0; for (i = 1; i <= rounds[s]; i++) if ((s, k, i, f) in v) a[++m] = v[s, k, i, f]; sortn(a, m); return m > 1 ? sprintf(" (%.0f-%.0f)", a[1], a[m]) : "" }
  { if (!seen[$1]++) order[++c] = $1; v[$1, $2, $3, 4] = $4; v[$1, $2, $3, 5] = $5; v[$1, $2, $3, 6] = $6; v[$1, $2, $3, 7] = $7
    if ($3 > rounds[$1]) rounds[$1] = $3 }
  END {
    printf "\n| store | call | req/s | p50 us | p99 us | non-2xx |\n| --- | --- | ---: | ---: | ---: | ---: |\n"
    for (q = 1; q <= c; q++) { s = order[q]
      split("plain first replay", kinds, " ")
      for (j = 1; j <= 3; j++) { k = kinds[j]; if (med(s, k, 4) < 0) continue
        bad = 0; for (i = 1; i <= rounds[s]; i++) bad += v[s, k, i, 7]
        printf "| %s | %s | %.0f%s | **%.0f**%s | %.0f%s | %d |\n", s, k, med(s, k, 4), rng(s, k, 4), med(s, k, 5), rng(s, k, 5), med(s, k, 6), rng(s, k, 6), bad }
    }
    printf "\n| store | added per deduplicated call (first - plain, p50) | replay - plain (p50) |\n| --- | ---: | ---: |\n"
    for (q = 1; q <= c; q++) { s = order[q]; m = 0; r = 0
      for (i = 1; i <= rounds[s]; i++) {
        if ((s, "first", i, 5) in v && (s, "plain", i, 5) in v) d[++m] = v[s, "first", i, 5] - v[s, "plain", i, 5]
        if ((s, "replay", i, 5) in v && (s, "plain", i, 5) in v) e[++r] = v[s, "replay", i, 5] - v[s, "plain", i, 5]
      }
      if (!m) continue
      sortn(d, m); sortn(e, r)
      goal = s == "sqlite" ? sprintf("  (goal <= 100 us: %s)", median(d, m) <= 100 ? "met" : "NOT met") : ""
      printf "| %s | **%.0f us** (%.0f-%.0f)%s | %.0f us (%.0f-%.0f) |\n", s, median(d, m), d[1], d[m], goal, r ? median(e, r) : 0, e[1], e[r]
      delete d; delete e
    }
  }' "$1"
}
if [[ -n "${SUMMARIZE:-}" ]]; then summarize "$SUMMARIZE/runs.txt"; exit 0; fi

for tool in wrk taskset timeout curl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install wrk curl)" >&2; exit 1; }
done
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIT_WERROR=ON \
    -DPIT_BUILD_BENCH=ON -DPIT_BUILD_TESTS=OFF -DPIT_BUILD_EXAMPLES=OFF >/dev/null
  ninja -C "$build" dedup_server
fi
server="$build/bench/dedup_server"
[[ -x "$server" ]] || { echo "run.sh: $server not found (build it)" >&2; exit 1; }
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PIT_' || true)

out="$build/durability-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
body='{"text":"hello, world","n":42}'
# Every request its own key (first), or one key for all (replay). Keys are unique across
# rounds and stores: the prefix names the run, the round and the kind.
cat >"$out/keyed.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
local prefix = os.getenv("KEY_PREFIX")
local fixed = os.getenv("KEY_FIXED") == "1"
local n = 0
function request()
  n = n + 1
  local key = fixed and prefix or (prefix .. "-" .. n)
  return wrk.format(nil, nil, { ["Content-Type"] = "application/json", ["Idempotency-Key"] = key })
end
EOF
cat >"$out/plain.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF

pids=()
pg_dir=""
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
finish() {
  cleanup
  if [[ -n "$pg_dir" ]]; then bash "$root/tests/support/pg_cluster.sh" destroy "$pg_dir" >/dev/null 2>&1 || true; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

pg_url=""
if [[ " $stores " == *" postgres "* ]]; then
  pg_dir="$out/postgres"
  rc=0
  pg_url="$(bash "$root/tests/support/pg_cluster.sh" start "$pg_dir")" || rc=$?
  if ((rc != 0)); then
    echo "run.sh: no PostgreSQL cluster (pg_cluster.sh exit $rc): postgres skipped" >&2
    stores="${stores/postgres/}"
    pg_dir=""
  fi
fi

# Prints "<req/s> <p50 us> <p99 us> <non-2xx + socket errors>" of one measured wrk run.
measure() {  # $1: path, $2: script, $3: output file
  timeout $((warmup + 30)) "${pin_client[@]}" wrk -t1 -c1 -d"${warmup}s" -s "$2" "http://127.0.0.1:$port$1" >/dev/null
  timeout $((duration + 30)) "${pin_client[@]}" wrk -t1 -c1 -d"${duration}s" --latency -s "$2" "http://127.0.0.1:$port$1" >"$3"
  awk '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%.0f %.0f %.0f %d", rps, p50, p99, bad }' "$3"
}

echo "# $server; server on CPU $server_cpu, wrk on CPU $client_cpu, 1 connection, ${duration}s per run, nice $nice_level" | tee "$out/README"
run_id="$(date +%s)-$$"
for round in $(seq "$runs"); do
  for store in $stores; do
    if [[ $store == sqlite ]]; then
      target="$out/round$round.dedup.sqlite"
    else
      target="$pg_url"
    fi
    "${pin_server[@]}" "$server" "$port" "$store" "$target" >"$out/$store-$round.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    curl -sf -X POST -H 'content-type: application/json' -H "Idempotency-Key: check-$run_id-$store-$round" \
      --data-binary "$body" "http://127.0.0.1:$port/bench.v1.Ledger/deduplicated" >/dev/null ||
      { echo "run.sh: the $store server did not answer 200" >&2; tail -5 "$out/$store-$round.log" >&2; exit 1; }
    line="$(measure /bench.v1.Ledger/plain "$out/plain.lua" "$out/$store-plain-$round.txt")"
    echo "$store plain $round $line" | tee -a "$out/runs.txt"
    line="$(KEY_PREFIX="first-$run_id-$store-$round" KEY_FIXED=0 measure /bench.v1.Ledger/deduplicated \
      "$out/keyed.lua" "$out/$store-first-$round.txt")"
    echo "$store first $round $line" | tee -a "$out/runs.txt"
    line="$(KEY_PREFIX="replay-$run_id-$store-$round" KEY_FIXED=1 measure /bench.v1.Ledger/deduplicated \
      "$out/keyed.lua" "$out/$store-replay-$round.txt")"
    echo "$store replay $round $line" | tee -a "$out/runs.txt"
    cleanup
  done
done
summarize "$out/runs.txt" | tee "$out/summary.md"
echo "raw outputs: $out"
