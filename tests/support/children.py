"""Child processes of the Python tests: started so that none outlives the test process,
whatever happens (a failure, CTest's timeout, a SIGKILL), and free loopback ports for them."""

import atexit
import signal
import socket
import subprocess

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


def run_tests(argv, log_root):
    """Runs this file's unittest cases (verbose) with every child killed afterwards; keeps
    the logs in `log_root` only when something failed (or PIT_E2E_KEEP_LOGS is set).
    Returns the process exit code."""
    import os
    import shutil
    import sys
    import unittest

    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGHUP, exit_on_signal)
    ok = False
    try:
        program = unittest.main(argv=[sys.argv[0]] + argv, verbosity=2, exit=False)
        ok = program.result.wasSuccessful()
    finally:
        kill_all_children()
        if ok and not os.environ.get("PIT_E2E_KEEP_LOGS"):
            shutil.rmtree(log_root, ignore_errors=True)
        else:
            print("logs kept in %s" % log_root, file=sys.stderr, flush=True)
    return 0 if ok else 1
