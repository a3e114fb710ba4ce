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
