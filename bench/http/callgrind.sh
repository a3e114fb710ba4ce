#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: a figure that machine load
# does not move (wall-clock req/s on a shared VM does). User-space instructions of the
# server process only (the kernel's share — syscalls, TCP — is not counted).
#
# For each server: run it under callgrind, send N1 requests (h2load, 64 connections, one
# in flight each), stop it; again with N2; Ir/request = (Ir(N2) - Ir(N1)) / (N2 - N1),
# which cancels start-up and shutdown. Uses the binaries run.sh built.
#
# Environment: N1 (2000), N2 (12000), PORT (18198), BUILD_DIR (<repo>/build-bench),
#   SERVERS (default: "pit pit-off beast grpc"; pit-off = per-call log lines off).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/http"
bin="${BUILD_DIR:-$root/build-bench}/bench"
n1="${N1:-2000}"
n2="${N2:-12000}"
port="${PORT:-18198}"
servers="${SERVERS:-pit pit-off beast grpc}"
url="http://127.0.0.1:$port/bench.v1.Echo/echo"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
[[ -x "$bin/grpc_server" ]] || servers="${servers//grpc/}"
[[ " $servers " == *" grpc "* ]] && "$bin/grpc_tool" body "$tmp/echo.grpc.bin"

instructions() {  # $1: server, $2: requests; prints the server's total Ir
  local cmd args
  case "$1" in
    pit)     cmd=("$bin/pit_server" "$port") ;;
    pit-off) cmd=("$bin/pit_server" "$port" --log off) ;;
    beast)   cmd=("$bin/beast_server" "$port") ;;
    grpc)    cmd=("$bin/grpc_server" "$port") ;;
  esac
  if [[ "$1" == grpc ]]; then
    args=(-d "$tmp/echo.grpc.bin" -H 'content-type: application/grpc' -H 'te: trailers')
  else
    args=(--h1 -d "$here/echo.json" -H 'content-type: application/json')
  fi
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "${cmd[@]}" 2>"$tmp/vg.log" &
  server_pid=$!
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  timeout 300 h2load -n "$2" -c64 -m1 "${args[@]}" "$url" | grep -q "^status codes: $2 2xx" ||
    { echo "callgrind.sh: $1 did not answer $2 requests with 2xx" >&2; exit 1; }
  kill -INT "$server_pid"; wait "$server_pid" || true; server_pid=""
  # one totals line per thread file (callgrind writes cg.out or cg.out-NN per part)
  cat "$tmp"/cg.out* | awk '/^totals:/ { s += $2 } END { print s }'
  rm -f "$tmp"/cg.out*
}

printf '| server | Ir/request (user space) |\n| --- | ---: |\n'
for s in $servers; do
  a="$(instructions "$s" "$n1")"
  b="$(instructions "$s" "$n2")"
  printf '| %s | %d |\n' "$s" $(((b - a) / (n2 - n1)))
done
