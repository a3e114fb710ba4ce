# Sourced by the load benchmarks (bench/http/run.sh, bench/overload/run.sh).
#
# pit_bench_session MARKER NICE SCRIPT ARGS...: with autogroup scheduling
# (kernel.sched_autogroup_enabled=1) niceness only ranks threads of one session, so a
# benchmark that wants its server and load generator to outrank other work on a shared
# machine re-runs itself (SCRIPT ARGS...) in a session of its own and gives that session's
# autogroup the niceness NICE. The first call launches the session, waits for it and exits
# with its status (Ctrl-C or SIGTERM stops the session's whole process group); the call
# inside the session records the session leader in the file named by $MARKER and returns.
# Without root, NICE 0, no autogroup or no setsid, it returns at once and nothing changes.
pit_bench_session() {
  local marker="$1" nice_level="$2"
  shift 2
  if [[ "$nice_level" != 0 && -w /proc/self/autogroup && -z "${!marker:-}" ]] && command -v setsid >/dev/null; then
    local session_file launcher rc=0
    session_file="$(mktemp)"
    env "$marker=$session_file" setsid --wait bash "$@" &
    launcher=$!
    # shellcheck disable=SC2064  # expand now: the handler must know this session's files
    trap "pit_bench_stop_session '$session_file' $launcher" INT TERM
    wait "$launcher" || rc=$?
    rm -f "$session_file"
    exit "$rc"
  fi
  if [[ -n "${!marker:-}" ]]; then
    echo "$$" >"${!marker}"
    echo "$nice_level" >/proc/self/autogroup 2>/dev/null || true
  fi
}

pit_bench_stop_session() {  # $1: the session file, $2: the launcher's pid
  local leader
  leader="$(cat "$1" 2>/dev/null || true)"
  [[ -n "$leader" ]] && kill -TERM -- "-$leader" 2>/dev/null
  wait "$2" 2>/dev/null
  rm -f "$1"
  exit 130
}
