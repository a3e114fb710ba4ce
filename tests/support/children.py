"""Child processes of the Python tests: started so that none outlives the test process,
whatever happens (a failure, CTest's timeout, a SIGKILL), and free loopback ports for them.

Sanitizer builds (scripts/test runs the whole suite again under ASan+UBSan and under TSan):
every sanitizer report of every child fails the run, whatever the test did with the
child's exit code or stderr. run_tests() points the runtimes' log_path at a folder of its
log root before any child starts, and after the tests fails if any report is there."""

import atexit
import os
import signal
import socket
import subprocess
import time

# Every child process a test started; killed at exit.
CHILDREN = []


def kill_all_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(kill_all_children)


def stop_all_children(grace_s=10.0):
    """SIGTERM to every child still running, SIGKILL to those not gone after grace_s: a
    child that exits normally runs LeakSanitizer's check (sanitizer builds)."""
    running = [p for p in CHILDREN if p.poll() is None]
    for p in running:
        try:
            p.send_signal(signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    for p in running:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    kill_all_children()


# The options variables of the sanitizer runtimes; LeakSanitizer reports through ASan's.
SANITIZER_OPTIONS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")


def route_sanitizer_reports(folder):
    """From now on, children started with this environment (or a copy of it) write their
    sanitizer reports to files `folder`/report.<pid> instead of stderr. Harmless for
    programs built without sanitizers (they never read these variables)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "report")
    for var in SANITIZER_OPTIONS:
        current = os.environ.get(var, "")
        os.environ[var] = (current + ":" if current else "") + "log_path=" + path  # the last one wins


def sanitizer_reports(folder):
    """{file name: text} of every report written to `folder`."""
    reports = {}
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return reports
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        if text.strip():
            reports[name] = text
    return reports


def exit_on_signal(signum, _frame):
    # CTest's timeout or a Ctrl-C: unwind so finally blocks and tearDownClass run.
    raise SystemExit(128 + signum)


def die_with_parent():
    # Runs in the child before exec: if the test process dies (even by SIGKILL), the kernel
    # kills the child too. Linux only; harmless to skip elsewhere.
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort only
        pass


def free_ports(n):
    """n distinct free loopback ports: bound to port 0 together, then released."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def shop_from_argv(argv, default):
    """(the shop binary, the other arguments): argv[0] when it names a file (it wins over
    `default`, e.g. $PIT_SHOP_BIN), else `default`. Prints why and returns (None, ...) when
    there is no executable binary."""
    import os
    import sys

    rest = list(argv)
    binary = default
    if rest and not rest[0].startswith("-") and os.path.isfile(rest[0]):
        binary = os.path.abspath(rest.pop(0))
    if not binary or not os.access(binary, os.X_OK):
        print("the shop binary is missing: pass it as argv[1] or $PIT_SHOP_BIN", file=sys.stderr)
        return None, rest
    return binary, rest


def run_tests(argv, log_root):
    """Runs this file's unittest cases (verbose) with every child stopped afterwards; keeps
    the logs in `log_root` only when something failed (or PIT_E2E_KEEP_LOGS is set). Any
    sanitizer report of a child is printed and fails the run. Returns the exit code."""
    import shutil
    import sys
    import unittest

    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGHUP, exit_on_signal)
    reports_folder = os.path.join(log_root, "sanitizer-reports")
    route_sanitizer_reports(reports_folder)
    ok = False
    try:
        program = unittest.main(argv=[sys.argv[0]] + argv, verbosity=2, exit=False)
        ok = program.result.wasSuccessful()
    finally:
        stop_all_children()
        reports = sanitizer_reports(reports_folder)
        commands = {str(p.pid): " ".join(str(a) for a in p.args) for p in CHILDREN}
        for name, text in reports.items():
            lines = text.splitlines()
            shown = "\n".join(lines[:300]) + ("\n[... %d more lines]" % (len(lines) - 300) if len(lines) > 300 else "")
            pid = name.rsplit(".", 1)[-1]
            print("=== sanitizer report of child process %s (%s):\n%s"
                  % (pid, commands.get(pid, "not started through CHILDREN"), shown), file=sys.stderr, flush=True)
        if reports:
            print("FAILED: %d sanitizer report(s) from child processes (in %s)" % (len(reports), reports_folder),
                  file=sys.stderr, flush=True)
            ok = False
        if ok and not os.environ.get("PIT_E2E_KEEP_LOGS"):
            shutil.rmtree(log_root, ignore_errors=True)
        else:
            print("logs kept in %s" % log_root, file=sys.stderr, flush=True)
    return 0 if ok else 1
