#!/usr/bin/env python3
"""Outbound resilience, proved with real processes on loopback (issue 11, docs/resilience.md).

    load (this file) --HTTP--> orders --HTTP--> inventory replica 0
                                           \\--> inventory replica 1
                                            \\-> inventory replica 2

One `shop orders` process calls three `shop inventory` replicas through its resilient
client, configured only by `[clients."shop.v1.Inventory"]` in its TOML file (the endpoints
replace the URL of --inventory). The load calls two operations of orders:
  - `availability` reads `Inventory.stock`, which is idempotent: it may be retried and hedged;
  - `place` calls `Inventory.reserve`, which is not: it must never run twice for one call.
Each call carries its own correlation id (X-Request-Id), so every replica's call lines say
which logical call reached it. Replicas are slowed or made to fail by fault injection
(docs/reliability.md), or SIGKILLed.

Checked, one scenario per test (the figures are printed to stderr; bench/resilience measures
them on a quiet machine, docs/resilience.md quotes them):
  - SIGKILL of one replica mid-load: idempotent calls succeed >= 99.9%, no reserve runs twice
    for one correlation id (server-side, every replica's call lines), the dead replica stops
    getting attempts, and attempts <= 1.2 x calls + the retry budget's per-second allowance;
  - one replica 200 ms slow: the balancer keeps the p99 near the healthy one, hedging brings
    it lower, and hedges stay <= 10% of calls;
  - one replica answering `unavailable` at once: it gets <= 10% of the calls;
  - every replica failing: attempts per call stay <= 1.2 with the retry budget, and reach
    about max attempts without it (percent 100, a large allowance);
  - a 300 ms deadline with replicas that take 1 s: every call is deadline_exceeded within
    330 ms, retries and hedges included;
  - a DNS name (`localhost`) as the endpoint set; a name that does not resolve at start: the
    process starts and calls fail `unavailable` at once, no crash or hang.

Loads are bounded in count and time and target 127.0.0.1 only. In a sanitizer build (ASan,
TSan: 2-10x slower, and CTest runs other suites beside this one) the loads are smaller and
the timing bounds wider (SLOW below); the rules that do not depend on time hold as tightly.

Standard library only. Usage: test_replicas.py SHOP_BINARY [unittest args...] (or $PIT_SHOP_BIN)
  $PIT_E2E_KEEP_LOGS=1 keeps the log folder even when everything passes.
"""

import http.client
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-resilience-")
READY_TIMEOUT_S = 30.0  # sanitizer builds start slowly
INVENTORY = "shop.v1.Inventory"
ORDERS = "shop.v1.Orders"
REPLICAS = 3
CALL_TIMEOUT_S = 30.0  # only so that a hung call fails the test instead of hanging it
# The retry budget's defaults (include/pit/host.hpp RetryOptions): 20% of the requests of the
# last 10 s, plus 10 per second of that window.
BUDGET_PER_SECOND = 10.0
BUDGET_WINDOW_S = 10.0
WARM_CALLS = 30  # before each measured load

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import CHILDREN as _CHILDREN  # noqa: E402
from children import die_with_parent as _die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402
from dev_identity import dev_identity  # noqa: E402


def sanitized(binary):
    """True for an ASan or TSan build of the shop (scripts/test's asan and tsan stages)."""
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


# Set in main(): 1 in a normal build; in a sanitizer build loads shrink and time bounds grow.
SLOW = 1.0


def scaled(n):
    """A call count: n in a normal build, a quarter of it under a sanitizer."""
    return int(n if SLOW == 1.0 else max(50, n // 4))


# ---------------------------------------------------------------------------------------
# HTTP and /metrics.


def http_get(port, path, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """One /metrics page: sum() adds the samples of a name whose labels match."""

    def __init__(self, text):
        self.samples = []
        for line in text.splitlines():
            m = SAMPLE.match(line)
            if m and not line.startswith("#"):
                self.samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))

    def sum(self, name, **labels):
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == str(want) for k, want in labels.items()))

    def by(self, name, label, **labels):
        """{value of `label`: sum} over the samples of `name` matching `labels`."""
        out = {}
        for n, l, v in self.samples:
            if n == name and all(l.get(k) == str(want) for k, want in labels.items()):
                out[l.get(label)] = out.get(l.get(label), 0.0) + v
        return out

    def names(self):
        return sorted({n for n, _, _ in self.samples})


def metrics(admin_port):
    status, text = http_get(admin_port, "/metrics")
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    return Metrics(text)


# The resilient client's metrics (r-attempts: docs/resilience.md, "Metrics").
ATTEMPTS = "pit_client_attempts_total"
SUPPRESSED = "pit_client_retries_suppressed_total"


def attempts_by_kind(m, operation):
    return m.by(ATTEMPTS, "kind", contract=INVENTORY, operation=operation)


def served(m, operation):
    """Calls of `operation` a replica finished (its server side), every outcome."""
    return m.sum("pit_calls_total", contract=INVENTORY, operation=operation, kind="server")


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p * len(v)) - 1))]


# ---------------------------------------------------------------------------------------
# The processes.


def child_env(audit_path):
    """No pit variable from outside: only the file configures, besides identity (the run's
    dev key) and where the audit records go."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIT_")}
    env.update(dev_identity(SHOP_BIN, LOG_ROOT).env(audit_path))
    return env


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


class Process:
    def __init__(self, folder, name, args, config_text):
        self.name = name
        self.folder = folder
        self.config = os.path.join(folder, name + ".toml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.http, self.admin = free_ports(2)
        self.args = args
        self.proc = None

    @property
    def log_path(self):
        return os.path.join(self.folder, self.name + ".log")

    def start(self):
        out = open(self.log_path, "ab")
        err = open(os.path.join(self.folder, self.name + ".stderr"), "ab")
        try:
            self.proc = subprocess.Popen(
                [SHOP_BIN, *self.args, "--listen", "127.0.0.1:%d" % self.http,
                 "--admin", "127.0.0.1:%d" % self.admin, "--config", self.config],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=self.folder,  # its dedup store lands there
                env=child_env(os.path.join(self.folder, self.name + ".audit.jsonl")), preexec_fn=_die_with_parent)
        finally:
            out.close()
            err.close()
        _CHILDREN.append(self.proc)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s before it was ready\n%s" % (self.name, self.proc.returncode,
                                                                                 self.tail()))
            try:
                if http_get(self.admin, "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready within %.0fs\n%s" % (self.name, READY_TIMEOUT_S, self.tail()))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        """SIGTERM (the normal exit runs LeakSanitizer's check), SIGKILL after 15 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def lines(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text[: text.rfind("\n") + 1].splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", errors="replace").splitlines()[-n:]
            with open(os.path.join(self.folder, self.name + ".stderr"), "rb") as f:
                err = f.read().decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            lines, err = [], ""
        return "--- %s stdout:\n%s\n--- %s stderr:\n%s" % (self.name, "\n".join(lines), self.name, err)

    def metrics(self):
        return metrics(self.admin)


def replica_config(stock=None, reserve=None):
    """A replica's TOML: call lines on (they prove which calls reached it); `stock` and
    `reserve` are fault injection settings ({"inject_delay_ms": 200, ...}) for one operation."""
    text = '[log]\nlevel = "info"\n\n[host]\nworkers = 8\n'
    if stock or reserve:
        text += "\n[fault_injection]\nenabled = true\n"
    for op, inject in (("stock", stock), ("reserve", reserve)):
        if inject:
            text += '\n[contracts."%s".operations.%s]\ninject_percent = 100\n' % (INVENTORY, op)
            text += "".join("%s = %s\n" % (k, toml_value(v)) for k, v in inject.items())
    return text


def orders_config(endpoints, client=None, operations=None):
    """orders' TOML: its client of the inventory over `endpoints`, with `client` keys and
    per-operation keys `operations` ({"stock": {"hedge": "fixed"}})."""
    text = '[log]\nlevel = "info"\n\n[host]\nworkers = 8\n\n[clients."%s"]\n' % INVENTORY
    settings = {"endpoints": endpoints} if endpoints is not None else {}
    settings.update(client or {})
    text += "".join("%s = %s\n" % (k, toml_value(v)) for k, v in settings.items())
    for op, keys in (operations or {}).items():
        text += '\n[clients."%s".operations.%s]\n' % (INVENTORY, op)
        text += "".join("%s = %s\n" % (k, toml_value(v)) for k, v in keys.items())
    return text


class Cluster:
    """REPLICAS inventory replicas (each its own fault injection) behind one orders process."""

    def __init__(self, name, replicas=None, client=None, operations=None, endpoints=True):
        """`client`: the client's keys, or a function of this cluster giving them (a key that
        names a replica's port); endpoints=False leaves the endpoint list out (dns instead)."""
        self.folder = os.path.join(LOG_ROOT, name)
        os.makedirs(self.folder, exist_ok=True)
        replicas = replicas or [{}] * REPLICAS
        self.replicas = [Process(self.folder, "inventory-%d" % i, ["inventory"], replica_config(**r))
                         for i, r in enumerate(replicas)]
        urls = ["http://127.0.0.1:%d" % r.http for r in self.replicas]
        client = client(self) if callable(client) else client
        self.orders = Process(self.folder, "orders", ["orders", "--inventory", urls[0]],
                              orders_config(urls if endpoints else None, client, operations))

    def start(self):
        for p in self.replicas:
            p.start()
        for p in self.replicas:
            p.wait_ready()
        self.orders.start()
        self.orders.wait_ready()
        return self

    def stop(self):
        for p in [self.orders, *self.replicas]:
            p.stop()

    def tails(self):
        return "\n".join(p.tail() for p in [self.orders, *self.replicas])

    def server_calls(self, operation):
        """{replica index: [correlation ids of the server call lines of `operation`]}."""
        return {i: [l.get("correlation_id") for l in r.lines()
                    if l.get("msg") == "call" and l.get("kind") == "server" and l.get("operation") == operation]
                for i, r in enumerate(self.replicas)}


# ---------------------------------------------------------------------------------------
# The load: closed loop, each thread on its own keep-alive connection to orders.


class Call:
    __slots__ = ("op", "cid", "status", "code", "elapsed_s", "error", "started")

    def __init__(self, op):
        self.op = op
        self.cid = "rs-%s" % uuid.uuid4().hex[:20]
        self.status = None
        self.code = None
        self.elapsed_s = 0.0
        self.error = None
        self.started = 0.0

    @property
    def ok(self):
        return self.status == 200

    def __repr__(self):
        return "<%s %s: %s %s in %.0f ms %s>" % (self.op, self.cid, self.status, self.code, 1000 * self.elapsed_s,
                                                 self.error or "")


BODIES = {"availability": json.dumps({"sku": "bulk"}), "place": json.dumps({"sku": "bulk", "quantity": 1})}


def call_orders(conn, call, timeout_header=None):
    headers = {"Content-Type": "application/json", "X-Request-Id": call.cid,
               **dev_identity(SHOP_BIN, LOG_ROOT).headers()}
    if timeout_header:
        headers["Pit-Timeout"] = timeout_header
    if call.op == "place":  # deduplicated, key required (docs/durability.md): one per logical call
        headers["Idempotency-Key"] = call.cid
    call.started = time.monotonic()
    try:
        conn.request("POST", "/%s/%s" % (ORDERS, call.op), body=BODIES[call.op], headers=headers)
        r = conn.getresponse()
        body = r.read()
        call.status = r.status
        if r.status != 200:
            try:
                call.code = json.loads(body).get("code")
            except ValueError:
                call.code = "<not JSON>"
        ok = True
    except Exception as e:  # noqa: BLE001 - every failure is recorded and reported
        call.error = repr(e)
        ok = False
    call.elapsed_s = time.monotonic() - call.started
    return ok


def run_load(port, ops, threads, on_progress=None, timeout_header=None):
    """Sends the calls `ops` (a list of operation names) over `threads` connections, each
    thread taking the next call when its last one is answered. on_progress(done) runs in
    the thread that finished call number `done`. Returns (calls, seconds)."""
    calls = [Call(op) for op in ops]
    lock = threading.Lock()
    state = {"next": 0, "done": 0}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
        try:
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= len(calls):
                    return
                if not call_orders(conn, calls[i], timeout_header):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
                with lock:
                    state["done"] += 1
                    done = state["done"]
                if on_progress:
                    on_progress(done)
        finally:
            conn.close()

    start = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=len(calls) * CALL_TIMEOUT_S)
    if any(t.is_alive() for t in pool):
        raise AssertionError("a load thread still waits for an answer")
    return calls, time.monotonic() - start


def latency_summary(calls):
    ms = [1000 * c.elapsed_s for c in calls if c.ok]
    return {"n": len(calls), "ok": len(ms), "p50": percentile(ms, 0.5), "p99": percentile(ms, 0.99),
            "max": max(ms) if ms else float("nan")}


def report(label, **values):
    print("\nresilience %s: %s" % (label, ", ".join("%s=%s" % (k, ("%.3f" % v if isinstance(v, float) else v))
                                                     for k, v in values.items())),
          file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# The scenarios.


class Replicas(unittest.TestCase):
    def setUp(self):
        self.clusters = []

    def tearDown(self):
        # The logs stay in LOG_ROOT when a test fails (run_tests prints where).
        for c in self.clusters:
            c.stop()

    def cluster(self, name, **kwargs):
        c = Cluster(name, **kwargs)
        self.clusters.append(c)
        return c.start()

    def warm(self, cluster, n=None):
        """A few calls first: connections open, p95 estimates have samples."""
        calls, _ = run_load(cluster.orders.http, ["availability"] * (n or WARM_CALLS), 3)
        self.assertTrue(all(c.ok for c in calls), [c for c in calls if not c.ok][:5])

    # (a) ---------------------------------------------------------------------------------
    def test_sigkill_of_one_replica_mid_load_loses_no_idempotent_call_and_runs_no_reserve_twice(self):
        # Hostile to the reserve: hedging is on for the whole client (10 ms) and every reserve
        # takes 30 ms, so a hedge of a non-idempotent call would happen on every place.
        c = self.cluster("sigkill", replicas=[{"reserve": {"inject_delay_ms": int(30 * SLOW)}}] * REPLICAS,
                         client={"hedge": "fixed", "hedge_delay_ms": int(10 * SLOW)})
        self.warm(c)
        before = c.orders.metrics()
        total = scaled(3000)  # three idempotent reads for each reserve
        ops = ["place" if i % 4 == 3 else "availability" for i in range(total)]
        victim = c.replicas[2]
        killed = {}

        def kill_at_a_third(done):
            if done == total // 3 and not killed:
                killed["at"] = time.monotonic()
                victim.proc.send_signal(signal.SIGKILL)

        calls, elapsed = run_load(c.orders.http, ops, 8, on_progress=kill_at_a_third)
        victim.proc.wait(timeout=10)
        after = c.orders.metrics()
        time.sleep(0.5)  # the log sinks write asynchronously: the last lines reach the files
        self.assertIn("at", killed)

        reads = [x for x in calls if x.op == "availability"]
        places = [x for x in calls if x.op == "place"]
        failed_reads = [x for x in reads if not x.ok]
        stock = {k: v - attempts_by_kind(before, "stock").get(k, 0.0)
                 for k, v in attempts_by_kind(after, "stock").items()}
        reserve = attempts_by_kind(after, "reserve")
        attempts = sum(stock.values()) + sum(reserve.values())
        report("sigkill", calls=len(calls), seconds=elapsed, reads=len(reads),
               read_success=1 - len(failed_reads) / len(reads), places_ok=sum(x.ok for x in places),
               places_failed=sum(not x.ok for x in places), stock_attempts=stock, reserve_attempts=reserve)

        # Idempotent reads: >= 99.9% succeed through a replica's death.
        self.assertLessEqual(len(failed_reads), math.floor(0.001 * len(reads)), failed_reads[:10])

        # The non-idempotent reserve ran at most once per logical call, across all replicas.
        seen = {}
        for i, cids in c.server_calls("reserve").items():
            for cid in cids:
                seen.setdefault(cid, []).append(i)
        twice = {cid: where for cid, where in seen.items() if len(where) > 1}
        self.assertEqual(twice, {}, "reserve reached a replica twice for one call")
        self.assertEqual(reserve.get("retry", 0.0) + reserve.get("hedge", 0.0), 0.0,
                         "a written reserve was retried or hedged: %r" % reserve)
        # Each retried attempt has its own log line in orders (kind=client, its number), and the
        # call line says how many attempts the call took.
        lines = c.orders.lines()
        retried = [l for l in lines if l.get("msg") == "attempt" and l.get("kind") == "client"
                   and l.get("attempt_kind") == "retry" and l.get("operation") == "stock"]
        self.assertEqual(len(retried), stock.get("retry", 0.0), "one attempt line per retry")
        multi = {l.get("correlation_id") for l in lines if l.get("msg") == "call" and l.get("kind") == "client"
                 and l.get("operation") == "stock" and (l.get("attempts") or 1) > 1}
        self.assertGreaterEqual(len(multi), 1 if stock.get("retry") else 0)
        # The evidence is real: the survivors' call lines name most successful places (the
        # killed replica's last lines may be lost with its log buffer).
        found = sum(1 for x in places if x.ok and x.cid in seen)
        self.assertGreaterEqual(found, 0.5 * sum(x.ok for x in places), "reserve call lines are missing")

        # Attempts: at most 1.2 x calls + the budget's per-second allowance (the defaults:
        # 10 per second of a 10 s window; a window that slides over the run).
        inventory_calls = len(calls)
        allowance = BUDGET_PER_SECOND * (elapsed + BUDGET_WINDOW_S)
        self.assertLessEqual(attempts, 1.2 * inventory_calls + allowance, (stock, reserve, inventory_calls))

        # The dead replica stops getting attempts: a second load after the kill. Every attempt
        # on the dead replica fails, and orders logs each attempt of a call that needed more
        # than one or failed, with its endpoint: so the attempt lines naming the dead replica
        # count every attempt it got. Only ejection's rare probes may still reach it.
        dead = "http://127.0.0.1:%d" % victim.http

        def attempts_on_dead():
            return sum(1 for l in c.orders.lines() if l.get("msg") == "attempt" and l.get("endpoint") == dead)

        time.sleep(0.5)  # the log sink writes asynchronously
        mid, on_dead_before = c.orders.metrics(), attempts_on_dead()
        later, _ = run_load(c.orders.http, ["availability"] * scaled(1000), 8)
        time.sleep(0.5)
        end, on_dead_after = c.orders.metrics(), attempts_on_dead()
        requeues = attempts_by_kind(end, "stock").get("requeue", 0.0) - attempts_by_kind(mid, "stock").get("requeue", 0.0)
        report("after the kill", calls=len(later), ok=sum(x.ok for x in later), requeues=requeues,
               attempts_on_the_dead_replica_during_the_kill=on_dead_before,
               attempts_on_the_dead_replica_after=on_dead_after - on_dead_before)
        self.assertTrue(all(x.ok for x in later), [x for x in later if not x.ok][:5])
        self.assertLessEqual(on_dead_after - on_dead_before, max(3.0, 0.01 * len(later)),
                             "the dead replica still gets attempts")
        self.assertLessEqual(requeues, max(3.0, 0.01 * len(later)))

    # (b) ---------------------------------------------------------------------------------
    def slow_replica(self, name, client, operations=None, slow=True, calls=1500):
        """p99 of `calls` availability calls (4 at a time) with replica 0 200 ms slow on stock;
        returns (latency summary, attempts by kind, calls each replica served)."""
        replicas = [{"stock": {"inject_delay_ms": 200}} if slow else {}] + [{}] * (REPLICAS - 1)
        c = self.cluster(name, replicas=replicas, client=client, operations=operations)
        self.warm(c)
        before = c.orders.metrics()
        shares_before = [served(r.metrics(), "stock") for r in c.replicas]
        load, elapsed = run_load(c.orders.http, ["availability"] * scaled(calls), 4)
        after = c.orders.metrics()
        kinds = {k: v - attempts_by_kind(before, "stock").get(k, 0.0)
                 for k, v in attempts_by_kind(after, "stock").items()}
        summary = latency_summary(load)
        shares = [served(r.metrics(), "stock") - b for r, b in zip(c.replicas, shares_before)]
        report(name, seconds=elapsed, p50_ms=summary["p50"], p99_ms=summary["p99"], max_ms=summary["max"],
               ok=summary["ok"], n=summary["n"], attempts=kinds, replica_calls=shares)
        self.assertEqual(summary["ok"], summary["n"], [x for x in load if not x.ok][:5])
        c.stop()
        return summary, kinds, shares

    def test_one_slow_replica_is_avoided_by_the_balancer_and_hedged(self):
        # 20 ms: several times a healthy call (scaled under a sanitizer, where calls are slower).
        hedge = {"stock": {"hedge": "fixed", "hedge_delay_ms": int(20 * SLOW)}}
        healthy, _, _ = self.slow_replica("healthy", {"balancer": "p2c"}, slow=False)
        rr, _, _ = self.slow_replica("slow-round-robin", {"balancer": "round_robin"}, calls=600)
        # Round robin hedged: a third of the calls need a hedge, so the budget is raised to let
        # them (at the default 20% the budget would refuse some: that is its job).
        rr_hedged, rr_kinds, _ = self.slow_replica("slow-round-robin-hedged",
                                                   {"balancer": "round_robin", "retry_budget_percent": 50},
                                                   operations=hedge, calls=600)
        p2c, _, p2c_shares = self.slow_replica("slow-p2c", {"balancer": "p2c"})
        hedged, kinds, _ = self.slow_replica("slow-p2c-hedged", {"balancer": "p2c"}, operations=hedge)
        report("slow replica p99 (ms)", healthy=healthy["p99"], round_robin=rr["p99"],
               round_robin_hedged=rr_hedged["p99"], p2c=p2c["p99"], p2c_hedged=hedged["p99"],
               ratio_p2c=p2c["p99"] / healthy["p99"], ratio_p2c_hedged=hedged["p99"] / healthy["p99"],
               hedges_per_call_p2c=kinds.get("hedge", 0.0) / hedged["n"],
               hedges_per_call_rr=rr_kinds.get("hedge", 0.0) / rr_hedged["n"])
        # Round robin sends a third of the calls to the slow replica: its p99 is >= 200 ms.
        self.assertGreaterEqual(rr["p99"], 190.0)
        # p2c (outstanding calls x peak-EWMA latency) all but stops sending to the slow
        # replica, so it is out of the p99 (the ratio to the healthy p99, goal <= 1.5x, is
        # measured in bench/resilience; here a bound that holds on a loaded machine).
        self.assertLessEqual(p2c_shares[0], max(3.0, 0.01 * sum(p2c_shares)), p2c_shares)
        self.assertLess(p2c["p99"], 190.0, "p2c did not keep the slow replica out of the p99")
        # Hedging cuts the tail where the balancer does not: round robin's slow third is
        # answered by the hedge, 20 ms later.
        self.assertLess(rr_hedged["p99"], (0.5 if SLOW == 1.0 else 0.75) * rr["p99"])
        # With p2c, hedges are rare (<= 10% of calls) and the p99 stays out of the slow range.
        self.assertLessEqual(kinds.get("hedge", 0.0), 0.10 * hedged["n"], kinds)
        self.assertLess(hedged["p99"], 190.0)

    # (c) ---------------------------------------------------------------------------------
    def test_a_replica_answering_unavailable_gets_at_most_a_tenth_of_the_calls(self):
        replicas = [{"stock": {"inject_code": "unavailable"}}] + [{}] * (REPLICAS - 1)
        c = self.cluster("unavailable", replicas=replicas, client={"balancer": "p2c"})
        calls, elapsed = run_load(c.orders.http, ["availability"] * scaled(1500), 8)
        shares = [served(r.metrics(), "stock") for r in c.replicas]
        kinds = attempts_by_kind(c.orders.metrics(), "stock")
        ok = sum(x.ok for x in calls)
        report("unavailable replica", seconds=elapsed, calls=len(calls), ok=ok, replica_calls=shares,
               bad_share=shares[0] / sum(shares), attempts=kinds)
        self.assertLessEqual(shares[0], 0.10 * sum(shares), shares)
        self.assertGreaterEqual(ok, 0.9 * len(calls))

    # (d) ---------------------------------------------------------------------------------
    def all_replicas_down(self, name, client):
        c = self.cluster(name, client=client)
        self.warm(c)
        for r in c.replicas:
            r.kill()
        before = c.orders.metrics()
        calls, elapsed = run_load(c.orders.http, ["availability"] * scaled(1000), 4)
        after = c.orders.metrics()
        kinds = {k: v - attempts_by_kind(before, "stock").get(k, 0.0)
                 for k, v in attempts_by_kind(after, "stock").items()}
        suppressed = after.by(SUPPRESSED, "reason", contract=INVENTORY, operation="stock")
        per_call = sum(kinds.values()) / len(calls)
        report(name, seconds=elapsed, calls=len(calls), ok=sum(x.ok for x in calls), attempts=kinds,
               attempts_per_call=per_call, suppressed=suppressed,
               codes=sorted({x.code for x in calls}, key=str), p99_ms=percentile([1000 * x.elapsed_s for x in calls], 0.99))
        self.assertFalse(any(x.ok for x in calls))
        self.assertTrue(all(x.status == 503 and x.code == "unavailable" for x in calls), calls[:5])
        return per_call, elapsed, len(calls)

    def test_every_replica_down_the_budget_keeps_attempts_per_call_near_one(self):
        # The default 20%, with a small allowance (1 per second of the 10 s window) so that
        # the percentage is what a few hundred calls see.
        with_budget, elapsed, n = self.all_replicas_down("down-budget", {"retry_max_attempts": 3,
                                                                         "retry_budget_per_second": 1})
        default, _, _ = self.all_replicas_down("down-default-budget", {"retry_max_attempts": 3})
        without, _, _ = self.all_replicas_down("down-no-budget", {"retry_max_attempts": 3, "retry_budget_percent": 100,
                                                                  "retry_budget_per_second": 100000})
        report("every replica down: attempts per call", with_budget=with_budget, default_budget=default,
               without_budget=without)
        # The budget's own arithmetic: retries <= 20% of the requests of the window (the warm-up
        # calls count too) + 1 per second of the window; 2 retries of slack for rounding.
        self.assertLessEqual(with_budget * n, n + 0.2 * (n + WARM_CALLS) + 1.0 * BUDGET_WINDOW_S + 2, with_budget)
        # Without a budget every call makes its 3 attempts, and a requeue (the request was
        # never written) may make one more.
        self.assertGreaterEqual(without, 2.5)
        self.assertLessEqual(without, 3.0)

    # (e) ---------------------------------------------------------------------------------
    def test_a_300ms_deadline_holds_with_retries_and_hedges_against_1s_replicas(self):
        replicas = [{"stock": {"inject_delay_ms": 1000}}] * REPLICAS
        c = self.cluster("deadline", replicas=replicas, client={"retry_max_attempts": 3},
                         operations={"stock": {"hedge": "fixed", "hedge_delay_ms": 50}})  # hedges too
        # The first calls of a fresh process under a sanitizer on a loaded machine may stall
        # together (seen once under ASan: three first calls answered at 940-965 ms, at the
        # same instant); they must end deadline_exceeded too, but only the calls after them
        # are held to the time bound.
        first, _ = run_load(c.orders.http, ["availability"] * 4, 4, timeout_header="300m")
        for x in first:
            self.assertEqual((x.status, x.code), (504, "deadline_exceeded"), x)
        calls, _ = run_load(c.orders.http, ["availability"] * scaled(60), 4, timeout_header="300m")
        worst = max(x.elapsed_s for x in calls)
        report("deadline 300 ms", first_calls_max_ms=1000 * max(x.elapsed_s for x in first), calls=len(calls), codes=sorted({(x.status, x.code) for x in calls}, key=str),
               p50_ms=percentile([1000 * x.elapsed_s for x in calls], 0.5), max_ms=1000 * worst)
        for x in calls:
            self.assertEqual((x.status, x.code), (504, "deadline_exceeded"), x)
        # 330 ms; under a sanitizer 600 ms (still well before the replicas' 1 s answer).
        self.assertLessEqual(worst, 0.330 if SLOW == 1.0 else 0.600,
                             "a call outlived its 300 ms deadline by more than 30 ms")

    # (f) ---------------------------------------------------------------------------------
    def test_a_dns_name_is_an_endpoint_set(self):
        # `localhost` is 127.0.0.1 here: one replica, found through the resolver.
        c = self.cluster("dns-localhost", replicas=[{}], endpoints=False,
                         client=lambda cl: {"dns": "http://localhost:%d" % cl.replicas[0].http,
                                            "resolve_interval_ms": 200})
        calls, _ = run_load(c.orders.http, ["availability"] * 20, 2)
        self.assertTrue(all(x.ok for x in calls), calls[:5])
        self.assertEqual(served(c.replicas[0].metrics(), "stock"), 20.0)

    def test_a_dns_name_that_does_not_resolve_fails_calls_unavailable_without_a_crash(self):
        c = self.cluster("dns-nxdomain", replicas=[{}], endpoints=False,
                         client={"dns": "http://no-such-replica.invalid:80", "resolve_interval_ms": 200})
        calls, _ = run_load(c.orders.http, ["availability"] * 10, 2)
        report("dns nxdomain", codes=sorted({(x.status, x.code) for x in calls}, key=str),
               max_ms=1000 * max(x.elapsed_s for x in calls))
        for x in calls:
            self.assertEqual((x.status, x.code), (503, "unavailable"), x)
        self.assertIsNone(c.orders.proc.poll())


def main():
    global SHOP_BIN, SLOW
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    SLOW = 3.0 if sanitized(SHOP_BIN) else 1.0
    print("shop: %s (time bounds x%.0f)\nlogs: %s" % (SHOP_BIN, SLOW, LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
