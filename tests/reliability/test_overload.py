#!/usr/bin/env python3
"""Overload: about twice its capacity offered to a real `shop inventory` process.

The service: `shop.v1.Inventory/stock`, made slow by fault injection (every call waits
SERVICE_MS before it is dispatched, as if it waited on a dependency), behind a small
host-wide admission limit (MAX_IN_FLIGHT calls at once, MAX_QUEUE waiting). The injected
wait sits after admission, so a call holds its slot for at least SERVICE_MS: the service
cannot complete more than MAX_IN_FLIGHT / SERVICE_MS calls per second (Little's law),
however fast the machine is. That is its capacity; the test offers about twice that,
open loop (calls start on a fixed schedule, whatever the answers do), for LOAD_S seconds.

Checked (qualitative only: this also runs under ASan and TSan, 2-10x slower, on a busy
machine; the figures live in bench/README.md, "Overload", measured by bench/overload/):
  - every call is answered: 200, or 503 refused at once; no reset, no timeout, no other status;
  - every 503 carries Retry-After and an application/problem+json body with code
    "unavailable", rejected and retryable;
  - some calls were served and some refused, and no more were served than the limit allows;
  - /metrics: pit_admission_rejected_total equals the 503s counted; the admission gauges
    never exceed the limit and the queue; resident memory stays bounded; the gauges drain
    to 0 once the load stops;
  - the process stays up: /healthz answers, a normal call succeeds afterwards, and SIGTERM
    still stops it with exit code 0.

Standard library only. Usage: test_overload.py SHOP_BINARY [unittest args...]  (or $PIT_SHOP_BIN)
  $PIT_E2E_KEEP_LOGS=1 keeps the log folder even when everything passes.
"""

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-overload-")
READY_TIMEOUT_S = 20.0  # sanitizer builds start slowly
INVENTORY = "shop.v1.Inventory"

# The scenario. Capacity = MAX_IN_FLIGHT / SERVICE_MS = 40 calls/s; offered: 80 calls/s.
MAX_IN_FLIGHT = 4
MAX_QUEUE = 2
SERVICE_MS = 100
OFFERED_PER_S = 80
LOAD_S = 4.0
SENDERS = 24  # paced threads: each sends every SENDERS-th call of the schedule (one per 0.3 s)
CALL_TIMEOUT_S = 30.0  # only so that a hung call fails the test instead of hanging it
RSS_GROWTH_LIMIT = 256 << 20  # generous: sanitizer builds carry large allocator caches

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import CHILDREN as _CHILDREN  # noqa: E402
from children import die_with_parent as _die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402
from dev_identity import dev_identity  # noqa: E402

CONFIG = """\
[log]
level = "warn"

[admission]
max_in_flight = %d
max_queue = %d

[fault_injection]
enabled = true

# A slow dependency: every call waits first (after admission, so it holds its slot).
[contracts."shop.v1.Inventory".operations.stock]
log_calls = false
inject_percent = 100
inject_delay_ms = %d
""" % (MAX_IN_FLIGHT, MAX_QUEUE, SERVICE_MS)


def child_env():
    """The environment without any pit configuration variable: only the file configures,
    besides identity (on: the run's dev key) and where the audit records go."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIT_")}
    env.update(dev_identity(SHOP_BIN, LOG_ROOT).env(os.path.join(LOG_ROOT, "inventory.audit.jsonl")))
    return env


def call_headers():
    """Every call carries a token (a cached one: the same token each time, as a real client)."""
    return {"Content-Type": "application/json", **dev_identity(SHOP_BIN, LOG_ROOT).headers()}


def http_get(port, path, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


def metrics(admin_port):
    """{name or name{labels}: value} of the unlabelled samples and of the ones we read."""
    status, text = http_get(admin_port, "/metrics")
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


REJECTED = 'pit_admission_rejected_total{contract="%s",operation="stock",limit="host"}' % INVENTORY


class Outcome:
    def __init__(self, index):
        self.index = index
        self.status = None
        self.headers = {}
        self.body = b""
        self.error = None
        self.late_s = 0.0  # how far behind its schedule the call started
        self.elapsed_s = 0.0

    def __repr__(self):
        return "<call %d: %s %s %r %s>" % (self.index, self.status, self.headers, self.body[:300], self.error or "")


def offer_load(port, rate, seconds, senders):
    """Open loop: call i starts at t0 + i/rate, sent by thread i % senders on its own
    keep-alive connection; returns the outcomes of every call and the elapsed seconds."""
    total = int(rate * seconds)
    outcomes = [Outcome(i) for i in range(total)]
    body = json.dumps({"sku": "apple"})
    t0 = time.monotonic() + 0.2

    def sender(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
        try:
            for i in range(k, total, senders):
                o = outcomes[i]
                due = t0 + i / rate
                now = time.monotonic()
                if now < due:
                    time.sleep(due - now)
                start = time.monotonic()
                o.late_s = max(0.0, start - due)
                try:
                    conn.request("POST", "/%s/stock" % INVENTORY, body=body,
                                 headers=call_headers())
                    r = conn.getresponse()
                    o.status = r.status
                    o.headers = {name.lower(): value for name, value in r.getheaders()}
                    o.body = r.read()
                except Exception as e:  # noqa: BLE001 - every failure is recorded and reported
                    o.error = repr(e)
                    conn.close()  # a fresh connection for the next call
                o.elapsed_s = time.monotonic() - start
        finally:
            conn.close()

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 2 * CALL_TIMEOUT_S)
    return outcomes, time.monotonic() - t0, any(t.is_alive() for t in threads)


class Sampler(threading.Thread):
    """Reads /metrics every 100 ms while the load runs: the admission gauges and RSS."""

    def __init__(self, admin_port):
        super().__init__(daemon=True)
        self.admin_port = admin_port
        self.samples = []
        self.errors = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.samples.append(metrics(self.admin_port))
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
            self.stop.wait(0.1)

    def peak(self, name):
        return max((m.get(name, 0.0) for m in self.samples), default=0.0)


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p * len(v)) - 1))]


class Overload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        config = os.path.join(LOG_ROOT, "overload.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        last = None
        for attempt in range(3):  # a port picked as free may be taken before the child binds it
            cls.http, cls.admin = free_ports(2)
            cls.out = open(os.path.join(LOG_ROOT, "inventory-%d.stdout" % attempt), "wb")
            cls.err = open(os.path.join(LOG_ROOT, "inventory-%d.stderr" % attempt), "wb")
            cls.proc = subprocess.Popen(
                [SHOP_BIN, "inventory", "--listen", "127.0.0.1:%d" % cls.http,
                 "--admin", "127.0.0.1:%d" % cls.admin, "--config", config],
                stdin=subprocess.DEVNULL, stdout=cls.out, stderr=cls.err, env=child_env(),
                preexec_fn=_die_with_parent)
            _CHILDREN.append(cls.proc)
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline and cls.proc.poll() is None:
                try:
                    if http_get(cls.admin, "/readyz", timeout=1)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            last = cls.tail()
            if cls.proc.poll() is None:
                cls.proc.kill()
                cls.proc.wait(timeout=5)
        raise RuntimeError("shop inventory did not become ready:\n%s" % last)

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait(timeout=5)
        cls.out.close()
        cls.err.close()

    @classmethod
    def tail(cls, n=20):
        def read(f):
            f.flush()
            with open(f.name, "rb") as g:
                return "\n".join(g.read().decode("utf-8", errors="replace").splitlines()[-n:])

        return "--- stdout:\n%s\n--- stderr:\n%s" % (read(cls.out), read(cls.err))

    def call_stock(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=CALL_TIMEOUT_S)
        try:
            conn.request("POST", "/%s/stock" % INVENTORY, body=json.dumps({"sku": "apple"}),
                         headers=call_headers())
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def test_twice_the_capacity_is_shed_fast_and_the_service_stays_up(self):
        capacity = MAX_IN_FLIGHT * 1000.0 / SERVICE_MS
        self.assertEqual(self.call_stock()[0], 200, self.tail())  # warm: one call, unloaded
        before = metrics(self.admin)
        self.assertEqual(before.get("pit_admission_limit"), MAX_IN_FLIGHT, "the config file took effect")
        rejected_before = before.get(REJECTED, 0.0)
        rss_before = before["process_resident_memory_bytes"]

        sampler = Sampler(self.admin)
        sampler.start()
        outcomes, elapsed, hung = offer_load(self.http, OFFERED_PER_S, LOAD_S, SENDERS)
        sampler.stop.set()
        sampler.join(timeout=10)

        ok = [o for o in outcomes if o.status == 200]
        refused = [o for o in outcomes if o.status == 503]
        late = max(o.late_s for o in outcomes)
        print("\noverload: offered %d calls in %.2fs (%.0f/s, capacity %.0f/s): %d served, %d refused, "
              "%d other; served p50/p99 %.0f/%.0f ms, refused p50/p99 %.1f/%.1f ms; sender lag max %.0f ms; "
              "peak in flight %d, queue %d; RSS %.1f -> peak %.1f MiB"
              % (len(outcomes), elapsed, len(outcomes) / elapsed, capacity, len(ok), len(refused),
                 len(outcomes) - len(ok) - len(refused),
                 1000 * percentile([o.elapsed_s for o in ok], 0.5), 1000 * percentile([o.elapsed_s for o in ok], 0.99),
                 1000 * percentile([o.elapsed_s for o in refused], 0.5),
                 1000 * percentile([o.elapsed_s for o in refused], 0.99), 1000 * late,
                 sampler.peak("pit_admission_in_flight"), sampler.peak("pit_admission_queue_length"),
                 rss_before / 2**20, max(sampler.peak("process_resident_memory_bytes"), rss_before) / 2**20),
              file=sys.stderr, flush=True)

        # The process stayed up.
        self.assertIsNone(self.proc.poll(), "the service died under load\n%s" % self.tail())
        self.assertFalse(hung, "a sender thread was still waiting for an answer")
        self.assertEqual(http_get(self.admin, "/healthz")[0], 200)

        # Every call answered: 200 or 503, nothing else, no transport error.
        unanswered = [o for o in outcomes if o.error is not None or o.status is None]
        self.assertEqual(unanswered, [], "calls without an answer (first 5): %r" % unanswered[:5])
        others = [o for o in outcomes if o.status not in (200, 503)]
        self.assertEqual(others, [], "answers other than 200 or 503 (first 5): %r" % others[:5])

        # Every refusal is a proper one.
        for o in refused:
            self.assertEqual(o.headers.get("retry-after"), "1", o)
            self.assertEqual((o.headers.get("content-type") or "").split(";")[0].strip(),
                             "application/problem+json", o)
            problem = json.loads(o.body)
            self.assertEqual(problem.get("status"), 503, o)
            self.assertEqual(problem.get("code"), "unavailable", o)
            self.assertIs(problem.get("retryable"), True, o)
        for o in ok:
            self.assertEqual(json.loads(o.body).get("sku"), "apple", o)

        # Overload was real and was shed: some served, some refused, and the limit held: a
        # slot is held at least SERVICE_MS, so no more than MAX_IN_FLIGHT per SERVICE_MS.
        self.assertGreater(len(ok), 0)
        self.assertGreater(len(refused), 0, "twice the capacity offered and nothing refused")
        most = MAX_IN_FLIGHT * (elapsed * 1000.0 / SERVICE_MS + 1) + MAX_QUEUE + 1  # +1: the warm-up call
        self.assertLessEqual(len(ok), most, "more served than the admission limit allows")

        # /metrics agrees, and the gauges stayed within the limit and the queue.
        self.assertEqual(sampler.errors, [])
        self.assertGreater(len(sampler.samples), 0)
        self.assertLessEqual(sampler.peak("pit_admission_in_flight"), MAX_IN_FLIGHT)
        self.assertLessEqual(sampler.peak("pit_admission_queue_length"), MAX_QUEUE)
        after = metrics(self.admin)
        self.assertEqual(after.get(REJECTED, 0.0) - rejected_before, len(refused),
                         "pit_admission_rejected_total counts exactly the 503s")
        rss_peak = max(sampler.peak("process_resident_memory_bytes"), after["process_resident_memory_bytes"])
        self.assertLess(rss_peak - rss_before, RSS_GROWTH_LIMIT,
                        "resident memory grew from %d to %d bytes" % (rss_before, rss_peak))

        # Once the load stops, the slots and the queue drain and a call is served again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = metrics(self.admin)
            if m.get("pit_admission_in_flight") == 0 and m.get("pit_admission_queue_length") == 0:
                break
            time.sleep(0.05)
        self.assertEqual((m.get("pit_admission_in_flight"), m.get("pit_admission_queue_length")), (0, 0))
        status, body = self.call_stock()
        self.assertEqual(status, 200, body)

        # And it still stops cleanly.
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
        self.assertEqual(code, 0, "exit code after SIGTERM\n%s" % self.tail())


def main():
    global SHOP_BIN
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    print("shop: %s\nlogs: %s" % (SHOP_BIN, LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
