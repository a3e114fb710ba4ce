#!/usr/bin/env python3
"""Shutdown is bounded: a sync operation that ignores cancellation cannot hold a process
that was told to stop. Real processes (tests/host/stuck_service.cpp), real signals.

Usage: test_stuck_shutdown.py STUCK_SERVICE_BINARY [unittest args...]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from children import CHILDREN, run_tests  # noqa: E402

BINARY = sys.argv.pop(1) if len(sys.argv) > 1 else "stuck_service"
LOG_ROOT = tempfile.mkdtemp(prefix="pit-stuck-")


class Service:
    def __init__(self, grace_ms):
        self.log_path = os.path.join(LOG_ROOT, f"stuck-{grace_ms}-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BINARY, str(grace_ms)], stdout=self.log, stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)
        self.port = None
        deadline = time.monotonic() + 10
        while self.port is None and time.monotonic() < deadline:
            for line in self.lines():
                if line.get("msg") == "listening" and line.get("listener") == "http":
                    self.port = line["port"]
            time.sleep(0.02)
        assert self.port, "the service did not start"

    def lines(self):
        out = []
        with open(self.log_path) as f:
            for raw in f:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    out.append({"raw": raw})
        return out

    def call_hang_in_background(self, ms, request_id):
        def call():
            req = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/test.v1.Hang/hang", data=json.dumps({"ms": ms}).encode(),
                headers={"Content-Type": "application/json", "X-Request-Id": request_id}, method="POST")
            try:
                urllib.request.urlopen(req, timeout=30).read()
            except (urllib.error.URLError, OSError):
                pass
        t = threading.Thread(target=call, daemon=True)
        t.start()
        time.sleep(0.3)  # the call is on a worker by now
        return t


class BoundedShutdown(unittest.TestCase):
    def test_sigterm_ends_the_process_even_while_a_sync_call_ignores_cancellation(self):
        s = Service(grace_ms=200)
        s.call_hang_in_background(60_000, "stuck-call-1")
        start = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=10)
        took = time.monotonic() - start
        self.assertEqual(code, 1, "a process that abandoned a call exits non-zero")
        self.assertLess(took, 4.0, "grace 0.2 s + cancellation + 1 s for the stuck call, not 60 s")
        abandoned = [l for l in s.lines() if "abandoned" in l.get("msg", "")]
        self.assertEqual(len(abandoned), 1, s.lines())
        self.assertEqual(abandoned[0]["operation"], "test.v1.Hang/hang")
        self.assertEqual(abandoned[0]["correlation_id"], "stuck-call-1")
        self.assertGreaterEqual(abandoned[0]["age_ms"], 1000)
        self.assertTrue(any(l.get("msg") == "exiting with sync operations still running" for l in s.lines()))

    def test_a_second_signal_while_draining_exits_at_once(self):
        s = Service(grace_ms=30_000)
        s.call_hang_in_background(60_000, "stuck-call-2")
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(s.proc.poll(), "still draining: the grace period is 30 s")
        start = time.monotonic()
        s.proc.send_signal(signal.SIGINT)
        code = s.proc.wait(timeout=10)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(code, 1)
        self.assertTrue(any("second signal" in l.get("msg", "") for l in s.lines()), s.lines())

    def test_a_clean_stop_still_exits_zero(self):
        s = Service(grace_ms=200)
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.proc.wait(timeout=10), 0)


if __name__ == "__main__":
    sys.exit(run_tests(sys.argv[1:], LOG_ROOT))
