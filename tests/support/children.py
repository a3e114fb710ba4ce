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


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


_PORT_DIR = os.path.join(os.environ.get("TMPDIR", "/tmp"), "pit-test-ports")
_PORT_LEASE_S = 30 * 60


def _reserve(port):
    """True when this process now holds `port`'s reservation: a file created exclusively
    in a folder shared by every test process of the machine, stale after 30 minutes."""
    path = os.path.join(_PORT_DIR, str(port))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        try:
            if time.time() - os.stat(path).st_mtime < _PORT_LEASE_S:
                return False
            os.utime(path)  # a stale reservation: taken over
            return True
        except OSError:
            return False
    except OSError:
        return True  # no shared folder to write in: the bind check alone
    os.close(fd)
    return True


def free_ports(n):
    """n distinct free loopback ports for children to listen on.

    Not from the kernel's ephemeral range: a port bound to 0 and released is handed out
    again as the source port of the next outgoing connection (pit's own outbound clients,
    a test's HTTP client), so a child started a moment later could find it taken ("Address
    already in use" in CI). These come from below that range, are checked free by binding
    them, and are reserved for 30 minutes in a folder every test process shares, so two
    tests running at once (ctest -j) never pick the same one."""
    import random

    low, _ = _ephemeral_range()
    first, last = (10000, low - 1) if low > 12000 else (1024, low - 1)
    try:
        os.makedirs(_PORT_DIR, exist_ok=True)
        os.chmod(_PORT_DIR, 0o1777)  # shared by every user's tests, like /tmp
    except OSError:
        pass
    ports = []
    rng = random.SystemRandom()
    for _ in range(20000):
        if len(ports) == n:
            return ports
        port = rng.randint(first, last)
        if port in ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        if _reserve(port):
            ports.append(port)
    raise RuntimeError("no %d free loopback ports below the ephemeral range" % n)


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
