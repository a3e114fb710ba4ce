#!/usr/bin/env python3
"""Operability: what an operator relies on, checked against real processes and real tools.

  - the admin listener: /healthz, /readyz, /metrics (Prometheus text format 0.0.4, or
    OpenMetrics 1.0.0 with exemplars when the scraper asks for it);
  - `promtool check metrics` accepts /metrics, sampled calls or not;
  - a real Prometheus server scrapes the admin port and its query API sees the counters move;
    with exemplar storage on, the exemplar of a sampled call is found by its trace id;
  - graceful shutdown on SIGTERM: readiness off, listener closed, in-flight calls answered,
    exit code 0 within the grace period;
  - a configuration file takes effect, and a typo in it stops the start naming file:line.

docs/operations.md names these tests. Standard library only; the shop example binary runs
as `shop inventory` (one process: its operations are called directly).

Usage: test_operability.py SHOP_BINARY [unittest args...]   (or $PIT_SHOP_BIN)
  $PIT_PROMETHEUS, $PIT_PROMTOOL: the binaries (else `prometheus` and `promtool` on PATH).
  $PIT_E2E_KEEP_LOGS=1 keeps the log folder even when everything passes.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
PROMETHEUS = os.environ.get("PIT_PROMETHEUS") or shutil.which("prometheus") or ""
PROMTOOL = os.environ.get("PIT_PROMTOOL") or shutil.which("promtool") or ""
LOG_ROOT = tempfile.mkdtemp(prefix="pit-ops-")
READY_TIMEOUT_S = 10.0
INVENTORY = "shop.v1.Inventory"

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import CHILDREN as _CHILDREN  # noqa: E402
from children import die_with_parent as _die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import shop_from_argv  # noqa: E402
from children import run_tests  # noqa: E402
from dev_identity import dev_identity  # noqa: E402


def child_env(extra=None, audit_path=None):
    """The environment without any pit configuration variable, plus `extra`; with
    `audit_path`, a shop process's: identity on (the run's dev key), its audit records there."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIT_HOST_", "PIT_LOG_", "PIT_HTTP_", "PIT_ADMIN_", "PIT_AUTH_", "PIT_AUDIT_"))
           and k != "PIT_CONFIG"}
    if audit_path:
        env.update(dev_identity(SHOP_BIN, LOG_ROOT).env(audit_path))
    env.update(extra or {})
    return env


def with_auth(headers):
    """`headers` plus a bearer token with every scope of the shop (the shop runs with identity on)."""
    return {**dev_identity(SHOP_BIN, LOG_ROOT).headers(), **headers}


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<HTTP %d %s %r>" % (self.status, self.headers, self.text[:400])


def http_get(port, path, timeout=5.0, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def call(port, operation, payload, headers=None, timeout=10.0, conn=None):
    """POST /shop.v1.Inventory/<operation>; a fresh connection unless `conn` is given."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/%s/%s" % (INVENTORY, operation), body=json.dumps(payload),
                     headers=with_auth({"Content-Type": "application/json", **(headers or {})}))
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        if own:
            conn.close()


def parse_metrics(text):
    """{(name, frozenset(labels.items())): float} from the Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m is None:
            raise ValueError("not a sample line: %r" % line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def sample(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


def selector(name, **labels):
    return "%s{%s}" % (name, ",".join('%s="%s"' % kv for kv in sorted(labels.items())))


class Process:
    """One child process with its stdout and stderr in files under LOG_ROOT."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.out_path = os.path.join(LOG_ROOT, name + ".stdout")
        self.err_path = os.path.join(LOG_ROOT, name + ".stderr")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        # cwd: where a process keeps what it writes by default (its deduplication store).
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=env, cwd=LOG_ROOT, preexec_fn=_die_with_parent)
        _CHILDREN.append(self.proc)

    def read(self, which="stdout"):
        with open(self.out_path if which == "stdout" else self.err_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def log_lines(self):
        out = []
        for line in self.read().splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def tail(self, n=15):
        return "--- %s stdout:\n%s\n--- %s stderr:\n%s" % (
            self.name, "\n".join(self.read().splitlines()[-n:]), self.name, self.read("stderr").strip())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._out.close()
        self._err.close()

    def terminate(self, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.kill()


def start_inventory(name, extra_args=(), env=None):
    """`shop inventory` on free loopback ports; returns (process, http port, admin port) once
    /readyz answers 200."""
    return start_shop("inventory", name, extra_args, env)


def start_shop(role, name, extra_args=(), env=None):
    last = None
    for attempt in range(3):  # a port picked as free may be taken before the child binds it
        http_port, admin_port = free_ports(2)
        p = Process("%s-%d" % (name, attempt),
                    [SHOP_BIN, role, "--listen", "127.0.0.1:%d" % http_port,
                     "--admin", "127.0.0.1:%d" % admin_port, *extra_args],
                    env=child_env(env, audit_path=os.path.join(LOG_ROOT, "%s-%d.audit.jsonl" % (name, attempt))))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and p.proc.poll() is None:
            try:
                if http_get(admin_port, "/readyz", timeout=1).status == 200:
                    return p, http_port, admin_port
            except OSError:
                pass
            time.sleep(0.02)
        last = p.tail()
        p.kill()
    raise RuntimeError("shop %s did not become ready:\n%s" % (role, last))


# ---------------------------------------------------------------------------------------


class AdminEndpoints(unittest.TestCase):
    """One inventory process; its admin listener checked by hand, by promtool, by Prometheus."""

    @classmethod
    def setUpClass(cls):
        cls.shop, cls.http, cls.admin = start_inventory("admin")

    @classmethod
    def tearDownClass(cls):
        cls.shop.terminate()

    def tearDown(self):
        if self.shop.proc.poll() is not None:
            self.fail("the inventory died (exit %s)\n%s" % (self.shop.proc.returncode, self.shop.tail()))

    def metrics(self):
        r = http_get(self.admin, "/metrics")
        self.assertEqual(r.status, 200, r)
        return r

    def make_some_calls(self):
        """Success, a declared fault, a masked failure: several series exist afterwards."""
        self.assertEqual(call(self.http, "stock", {"sku": "apple"}).status, 200)
        self.assertEqual(call(self.http, "reserve", {"sku": "pear", "quantity": 1}).status, 200)
        self.assertEqual(call(self.http, "reserve", {"sku": "no-such-sku"}).status, 404)  # declared fault
        r = call(self.http, "reserve", {"sku": "cursed-sku"})  # masked to internal
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json()["code"], "internal", r)

    def test_1_healthz_is_200_ok(self):
        r = http_get(self.admin, "/healthz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.text.strip(), "ok", r)

    def test_1_readyz_is_200_ready_once_started(self):
        r = http_get(self.admin, "/readyz")
        self.assertEqual(r.status, 200, r)
        lines = r.text.strip().splitlines()
        self.assertEqual(lines[0], "ready", r)
        self.assertIn("identity_keys: ok", lines[1:], "the issuer's keys are one of the checks (identity is on)")

    def test_1_metrics_is_prometheus_text_format_0_0_4(self):
        self.make_some_calls()
        r = self.metrics()
        ctype = [p.strip() for p in (r.header("Content-Type") or "").split(";")]
        self.assertEqual(ctype[0], "text/plain", r.headers)
        self.assertIn("version=0.0.4", ctype, r.headers)
        m = parse_metrics(r.text)
        self.assertGreaterEqual(sample(m, "pit_calls_total", contract=INVENTORY, operation="stock", code="ok",
                                       transport="http", kind="server"), 1)
        for name in ("pit_calls_in_flight", "pit_worker_threads", "process_start_time_seconds"):
            self.assertIn((name, frozenset()), m, name)

    def test_1_call_lines_are_logged_by_default(self):
        # The contrast for test_5_config_file_takes_effect (log.calls = false).
        self.assertEqual(call(self.http, "stock", {"sku": "apple"}, headers={"X-Request-Id": "ops-default-log"}).status,
                         200)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(l.get("msg") == "call" and l.get("correlation_id") == "ops-default-log"
                   for l in self.shop.log_lines()):
                return
            time.sleep(0.05)
        self.fail("no call line for ops-default-log\n%s" % self.shop.tail())

    @unittest.skipUnless(PROMTOOL, "promtool not installed (Debian package prometheus)")
    def test_2_promtool_check_metrics_passes(self):
        self.make_some_calls()
        text = self.metrics().text
        for family in ("pit_calls_total", "pit_call_duration_seconds_bucket", "pit_faults_masked_total"):
            self.assertIn(family + "{", text)
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, "promtool check metrics failed:\n%s%s\n--- the input:\n%s"
                         % (r.stdout.decode(), r.stderr.decode(), text))

    def sampled_call(self, trace_id, flags="01"):
        """A stock call continuing the caller's trace `trace_id`; sampled unless flags is 00."""
        r = call(self.http, "stock", {"sku": "apple"},
                 headers={"traceparent": "00-%s-00f067aa0ba902b7-%s" % (trace_id, flags)})
        self.assertEqual(r.status, 200, r)

    @unittest.skipUnless(PROMTOOL, "promtool not installed (Debian package prometheus)")
    def test_2_text_scrape_after_sampled_calls_has_no_exemplars_and_passes_promtool(self):
        trace_id = "%032x" % (0x7e57 << 64 | os.getpid())
        self.sampled_call(trace_id)
        text = self.metrics().text
        self.assertNotIn(trace_id, text)
        self.assertNotIn(" # {", text)
        self.assertNotIn("# EOF", text)
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, "promtool check metrics failed:\n%s%s" % (r.stdout.decode(), r.stderr.decode()))

    def test_2_openmetrics_scrape_carries_exemplars_of_sampled_calls(self):
        sampled = "%032x" % (0x5a3 << 64 | os.getpid())
        unsampled = "%032x" % (0x0ff << 64 | os.getpid())
        self.sampled_call(unsampled, flags="00")
        self.sampled_call(sampled)
        r = http_get(self.admin, "/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8")
        text = r.text
        self.assertTrue(text.endswith("# EOF\n"), text[-200:])
        self.assertIn("# TYPE pit_calls counter\n", text)
        lines = [l for l in text.splitlines() if l.startswith("pit_call_duration_seconds_bucket{") and sampled in l]
        self.assertEqual(len(lines), 1, text)
        self.assertIn('contract="%s",operation="stock",kind="server"' % INVENTORY, lines[0])
        self.assertRegex(lines[0], r' # \{trace_id="%s",span_id="[0-9a-f]{16}"\} [0-9.e-]+ [0-9]+\.[0-9]{3}$' % sampled)
        self.assertNotIn(unsampled, text)

    # Bucket bounds must read as declared: a selector such as
    # pit_call_duration_seconds_bucket{le="0.1"} has to match.
    def test_2_histogram_bucket_bounds_are_written_as_declared(self):
        self.make_some_calls()
        bounds = sorted({dict(labels)["le"] for (name, labels) in parse_metrics(self.metrics().text)
                         if name == "pit_call_duration_seconds_bucket"}, key=float)
        self.assertEqual(bounds, ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                  "0.5", "1", "2.5", "5", "10", "+Inf"])

    @unittest.skipUnless(PROMETHEUS, "prometheus not installed (Debian package prometheus)")
    def test_3_prometheus_scrapes_the_admin_port(self):
        calls = dict(contract=INVENTORY, operation="stock", code="not_found", transport="http", kind="server")
        masked = dict(contract=INVENTORY, operation="reserve")
        before = parse_metrics(self.metrics().text)
        n = 7
        for _ in range(n):
            self.assertEqual(call(self.http, "stock", {"sku": "ops-unknown"}).status, 404)
        self.assertEqual(call(self.http, "reserve", {"sku": "cursed-sku"}).status, 500)
        want_calls = sample(before, "pit_calls_total", **calls) + n
        want_masked = sample(before, "pit_faults_masked_total", **masked) + 1

        prom = Prometheus(self.admin)
        self.addCleanup(prom.stop)
        prom.start()
        got = prom.wait_for_value(selector("pit_calls_total", **calls), want_calls, timeout=20)
        self.assertEqual(got, want_calls, prom.diagnostics())
        got = prom.wait_for_value(selector("pit_faults_masked_total", **masked), want_masked, timeout=5)
        self.assertEqual(got, want_masked, prom.diagnostics())
        self.assertEqual(prom.wait_for_value('up{job="pit"}', 1, timeout=5), 1, prom.diagnostics())

        # The counter moves again and Prometheus sees it at the next scrape.
        for _ in range(3):
            call(self.http, "stock", {"sku": "ops-unknown"})
        got = prom.wait_for_value(selector("pit_calls_total", **calls), want_calls + 3, timeout=10)
        self.assertEqual(got, want_calls + 3, prom.diagnostics())


class Exemplars(unittest.TestCase):
    """A real Prometheus with exemplar storage on finds a sampled call by its trace id."""

    @unittest.skipUnless(PROMETHEUS, "prometheus not installed (Debian package prometheus)")
    def test_3_prometheus_stores_the_exemplar_of_a_sampled_call(self):
        shop, http_port, admin = start_inventory("exemplars")
        self.addCleanup(shop.terminate)
        prom = Prometheus(admin, features=["exemplar-storage"])
        self.addCleanup(prom.stop)
        prom.start()
        trace_id = "%032x" % (0xe8e << 64 | os.getpid())
        unsampled = "%032x" % (0x0ff << 64 | os.getpid())
        for t, flags in ((unsampled, "00"), (trace_id, "01")):
            r = call(http_port, "stock", {"sku": "apple"},
                     headers={"traceparent": "00-%s-00f067aa0ba902b7-%s" % (t, flags)})
            self.assertEqual(r.status, 200, r)
        query = 'pit_call_duration_seconds_bucket{contract="%s",operation="stock",kind="server"}' % INVENTORY
        deadline = time.monotonic() + 20
        found = []
        while time.monotonic() < deadline and not found:
            stored = prom.exemplars(query)
            found = [x for x in stored if x[1].get("trace_id") == trace_id]
            if not found:
                time.sleep(0.25)
        self.assertEqual(len(found), 1, "no exemplar with trace_id %s: %r\n%s" % (trace_id, prom.exemplars(query),
                                                                                 prom.diagnostics()))
        series, labels, value = found[0]
        self.assertEqual(series["__name__"], "pit_call_duration_seconds_bucket")
        self.assertRegex(labels.get("span_id", ""), "^[0-9a-f]{16}$")
        self.assertEqual(set(labels), {"trace_id", "span_id"})
        self.assertLessEqual(value, float(series["le"]) if series["le"] != "+Inf" else float("inf"))
        self.assertFalse([x for x in prom.exemplars(query) if x[1].get("trace_id") == unsampled],
                         "an unsampled call is no exemplar")
        # The scrape was OpenMetrics, and valid: the target is up.
        self.assertEqual(prom.wait_for_value('up{job="pit"}', 1, timeout=5), 1, prom.diagnostics())


class Prometheus:
    """A real Prometheus server scraping one target on loopback every second."""

    def __init__(self, target_port, features=()):
        self.target_port = target_port
        self.features = list(features)
        self.dir = tempfile.mkdtemp(prefix="prom-", dir=LOG_ROOT)
        self.proc = None
        self.port = None

    def start(self):
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: pit\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.target_port)
        last = None
        for attempt in range(3):
            self.port = free_ports(1)[0]
            self.proc = Process("prometheus-%d" % attempt, [
                PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn",
                *["--enable-feature=" + f for f in self.features]], env=child_env())
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.proc.poll() is None:
                try:
                    if http_get(self.port, "/-/ready", timeout=1).status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            last = self.proc.tail()
            self.proc.kill()
        raise RuntimeError("prometheus did not become ready:\n%s" % last)

    def query(self, promql):
        r = http_get(self.port, "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        if r.status != 200:
            raise RuntimeError("query %s: %r" % (promql, r))
        data = r.json()
        if data.get("status") != "success":
            raise RuntimeError("query %s: %r" % (promql, data))
        return data["data"]["result"]

    def exemplars(self, promql):
        """Every exemplar stored for `promql` over the last 10 minutes, as (series labels,
        exemplar labels, value) tuples."""
        now = time.time()
        r = http_get(self.port, "/api/v1/query_exemplars?" + urllib.parse.urlencode(
            {"query": promql, "start": "%.3f" % (now - 600), "end": "%.3f" % (now + 60)}))
        if r.status != 200:
            raise RuntimeError("query_exemplars %s: %r" % (promql, r))
        data = r.json()
        if data.get("status") != "success":
            raise RuntimeError("query_exemplars %s: %r" % (promql, data))
        return [(series["seriesLabels"], e["labels"], float(e["value"]))
                for series in data["data"] or [] for e in series["exemplars"]]

    def wait_for_value(self, promql, want, timeout):
        """Polls the query API until the (single) series equals `want`; returns the last value."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            result = self.query(promql)
            if len(result) == 1:
                value = float(result[0]["value"][1])
                if value == want:
                    return value
            if time.monotonic() > deadline:
                return value
            time.sleep(0.25)

    def diagnostics(self):
        try:
            targets = http_get(self.port, "/api/v1/targets").text
        except OSError as e:
            targets = str(e)
        return "prometheus targets: %s\n%s" % (targets[:1500], self.proc.tail())

    def stop(self):
        if self.proc is not None:
            self.proc.terminate(timeout=10)


# ---------------------------------------------------------------------------------------


class GracefulShutdown(unittest.TestCase):
    GRACE_MS = 1500
    SLOW_CALLS = 4

    def test_4_sigterm_drains_answers_every_call_and_exits_0(self):
        shop, http_port, admin = start_inventory("drain", env={"PIT_HOST_SHUTDOWN_GRACE_MS": str(self.GRACE_MS)})
        self.addCleanup(shop.kill)
        # A keep-alive connection with quick calls on it before the signal.
        keep = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        self.addCleanup(keep.close)
        for _ in range(3):
            self.assertEqual(call(http_port, "stock", {"sku": "apple"}, conn=keep).status, 200)

        results = {}

        def slow(i, timeout_header):
            try:
                results[i] = call(http_port, "reserve", {"sku": "slow-sku"},
                                  headers={"Pit-Timeout": timeout_header}, timeout=30)
            except Exception as e:  # noqa: BLE001 - a dropped call is what this test looks for
                results[i] = e
            results[i, "t"] = time.monotonic()

        threads = [threading.Thread(target=slow, args=(i, "60S"), daemon=True) for i in range(self.SLOW_CALLS)]
        # One call whose own deadline (1 s) ends within the grace: it keeps running during the
        # drain and is answered by its deadline, not cut short by the shutdown.
        threads.append(threading.Thread(target=slow, args=("deadline", "1000m"), daemon=True))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while True:
            m = parse_metrics(http_get(admin, "/metrics").text)
            if sample(m, "pit_calls_in_flight") >= len(threads):
                break
            self.assertLess(time.monotonic(), deadline, "the slow calls never were in flight: %s"
                            % sample(m, "pit_calls_in_flight"))
            time.sleep(0.01)

        signalled = time.monotonic()
        shop.proc.send_signal(signal.SIGTERM)

        # Readiness turns off at once (or the admin port is gone).
        readyz = None
        while time.monotonic() - signalled < 1.0:
            try:
                readyz = http_get(admin, "/readyz", timeout=1)
                if readyz.status == 503:
                    break
            except OSError as e:
                readyz = e
                break
            time.sleep(0.01)
        ready_off = time.monotonic() - signalled
        if isinstance(readyz, Reply):
            self.assertEqual(readyz.status, 503, readyz)
            self.assertEqual(readyz.text.strip(), "draining", readyz)
        self.assertLess(ready_off, 0.5, "readiness still on %.3fs after SIGTERM" % ready_off)

        # No new connections on the HTTP port.
        time.sleep(max(0.0, 0.1 - (time.monotonic() - signalled)))
        with self.assertRaises(ConnectionRefusedError, msg="the HTTP port still accepts after SIGTERM"):
            socket.create_connection(("127.0.0.1", http_port), timeout=1).close()

        # A request on a connection opened before: refused as retryable, and the connection closes.
        r = call(http_port, "stock", {"sku": "apple"}, conn=keep)
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json().get("code"), "unavailable", r)
        self.assertEqual((r.header("Connection") or "").lower(), "close", r)

        # Every call in flight is answered; none is dropped.
        for t in threads:
            t.join(timeout=self.GRACE_MS / 1000 + 5)
        for i in range(self.SLOW_CALLS):
            r = results.get(i)
            self.assertIsInstance(r, Reply, "slow call %d got no answer: %r" % (i, r))
            if r.status != 200:
                self.assertEqual(r.status, 503, r)
                self.assertEqual((r.header("Content-Type") or "").split(";")[0], "application/problem+json", r)
                self.assertEqual(r.json()["code"], "unavailable", r)
            answered = results[i, "t"] - signalled
            self.assertGreaterEqual(answered, self.GRACE_MS / 1000 - 0.1,
                                    "slow call %d answered %.3fs after SIGTERM, before the grace ended" % (i, answered))
        r = results.get("deadline")
        self.assertIsInstance(r, Reply, "the 1 s call got no answer: %r" % (r,))
        self.assertEqual(r.status, 504, r)
        self.assertEqual(r.json()["code"], "deadline_exceeded", r)

        # The process exits 0 within the grace + 2 s.
        try:
            code = shop.proc.wait(timeout=max(0.1, self.GRACE_MS / 1000 + 2 - (time.monotonic() - signalled)))
        except subprocess.TimeoutExpired:
            self.fail("still running %.1fs after SIGTERM\n%s" % (time.monotonic() - signalled, shop.tail()))
        exited = time.monotonic() - signalled
        self.assertEqual(code, 0, shop.tail())
        print("  readiness off after %.3fs; slow calls answered %s; exit 0 after %.3fs (grace %d ms)"
              % (ready_off, sorted(results[i].status for i in range(self.SLOW_CALLS)), exited, self.GRACE_MS),
              file=sys.stderr)
        msgs = [l.get("msg") for l in shop.log_lines()]
        for msg in ("stopping", "draining", "stopped"):
            self.assertIn(msg, msgs, shop.tail())


    def gateway_shutdown(self):
        """gateway -> orders -> inventory, three slow calls in flight, SIGTERM to the gateway;
        returns the three replies. Orders' declared 2 s timeout is raised to 60 s by its config
        file so that only the gateway's shutdown ends the calls."""
        conf = os.path.join(LOG_ROOT, "orders-60s.toml")
        with open(conf, "w") as f:
            f.write('[contracts."shop.v1.Orders"]\ntimeout_ms = 60000\n')
        inv, inv_http, inv_admin = start_shop("inventory", "3p-inventory")
        self.addCleanup(inv.terminate)
        orders, orders_http, orders_admin = start_shop(
            "orders", "3p-orders", ["--config", conf, "--inventory", "http://127.0.0.1:%d" % inv_http])
        self.addCleanup(orders.terminate)
        gw, gw_http, gw_admin = start_shop("gateway", "3p-gateway", ["--orders", "http://127.0.0.1:%d" % orders_http],
                                           env={"PIT_HOST_SHUTDOWN_GRACE_MS": str(self.GRACE_MS)})
        self.addCleanup(gw.kill)
        buy = "/shop.v1.Gateway/buy"

        def post(i):
            conn = http.client.HTTPConnection("127.0.0.1", gw_http, timeout=30)
            try:
                conn.request("POST", buy, body=json.dumps({"sku": "slow-sku", "quantity": 1}),
                             headers=with_auth({"Content-Type": "application/json", "Pit-Timeout": "60S"}))
                r = conn.getresponse()
                results[i] = Reply(r.status, r.getheaders(), r.read())
            except Exception as e:  # noqa: BLE001
                results[i] = e
            finally:
                conn.close()

        results = {}
        threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(3)]
        for t in threads:
            t.start()

        def in_flight(admin):
            return sample(parse_metrics(http_get(admin, "/metrics").text), "pit_calls_in_flight")

        deadline = time.monotonic() + 5
        while in_flight(inv_admin) < 3:
            self.assertLess(time.monotonic(), deadline, "the calls never reached the inventory")
            time.sleep(0.01)
        signalled = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=self.GRACE_MS / 1000 + 5)
        for i in range(3):
            r = results.get(i)
            self.assertIsInstance(r, Reply, "call %d through the gateway got no answer: %r" % (i, r))
            self.assertEqual((r.header("Content-Type") or "").split(";")[0], "application/problem+json", r)
            self.assertIn((r.status, r.json()["code"]), ((503, "unavailable"), (500, "internal")), r)
        print("  through the gateway: %s" % sorted((results[i].status, results[i].json()["code"]) for i in range(3)),
              file=sys.stderr)
        replies = [results[i] for i in range(3)]
        try:
            self.assertEqual(gw.proc.wait(timeout=max(0.1, self.GRACE_MS / 1000 + 2 - (time.monotonic() - signalled))),
                             0, gw.tail())
        except subprocess.TimeoutExpired:
            self.fail("the gateway still runs %.1fs after SIGTERM\n%s" % (time.monotonic() - signalled, gw.tail()))
        # The cancelled calls do not linger downstream: orders and inventory see the callers
        # leave and cancel their parts too.
        deadline = time.monotonic() + 3
        while (in_flight(orders_admin), in_flight(inv_admin)) != (0, 0):
            if time.monotonic() > deadline:
                self.fail("calls still in flight downstream 3s after the gateway stopped: orders %s, inventory %s"
                          % (in_flight(orders_admin), in_flight(inv_admin)))
            time.sleep(0.05)
        self.assertEqual((orders.proc.poll(), inv.proc.poll()), (None, None), "a downstream process died")
        return replies

    def test_4_sigterm_on_the_gateway_of_three_processes_answers_all_and_cancels_downstream(self):
        self.gateway_shutdown()  # every call answered, exit 0 in time, nothing left downstream

    # A call waiting on an outbound call when the grace ends is answered 503 unavailable,
    # not a masked 500: every call is marked cancelled before any cancellation fires.
    def test_4_sigterm_on_the_gateway_answers_calls_waiting_downstream_503_unavailable(self):
        for r in self.gateway_shutdown():
            self.assertEqual((r.status, r.json()["code"]), (503, "unavailable"), r)


# ---------------------------------------------------------------------------------------


class ConfigurationFile(unittest.TestCase):
    def write(self, name, text):
        path = os.path.join(LOG_ROOT, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_5_config_file_takes_effect(self):
        path = self.write("ops.toml", "# operability test\n[log]\ncalls = false\n\n"
                                      '[contracts."shop.v1.Inventory".operations.reserve]\ntimeout_ms = 300\n')
        shop, http_port, _ = start_inventory("config", ["--config", path])
        self.addCleanup(shop.kill)
        # The operation's timeout from the file: a hanging call is answered 504 after ~300 ms.
        start = time.monotonic()
        r = call(http_port, "reserve", {"sku": "slow-sku"}, headers={"X-Request-Id": "ops-config-timeout"})
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 504, r)
        self.assertEqual(r.json()["code"], "deadline_exceeded", r)
        self.assertTrue(0.25 <= elapsed < 2.0, "answered after %.3fs, want ~0.3s" % elapsed)
        self.assertEqual(call(http_port, "stock", {"sku": "apple"}, headers={"X-Request-Id": "ops-config-ok"}).status,
                         200)
        # log.calls = false: no call lines at all (the logs are flushed at exit).
        self.assertEqual(shop.terminate(timeout=5), 0, shop.tail())
        lines = shop.log_lines()
        self.assertIn("listening", [l.get("msg") for l in lines], shop.tail())
        self.assertEqual([l for l in lines if l.get("msg") == "call"], [], shop.tail())

    def test_5_typo_in_config_stops_the_start_naming_file_line_and_key(self):
        path = self.write("typo.toml", "[host]\nworkers = 4\n\n[http]\nlisen = \"127.0.0.1:0\"\n")
        http_port, admin_port = free_ports(2)
        r = subprocess.run([SHOP_BIN, "inventory", "--config", path, "--listen", "127.0.0.1:%d" % http_port,
                            "--admin", "127.0.0.1:%d" % admin_port], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10, env=child_env(), preexec_fn=_die_with_parent)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 2, err)  # Config::from_args: a configuration error exits 2
        self.assertRegex(err, re.escape(path) + r":5:\d+: http\.lisen: unknown key")
        self.assertIn("did you mean http.listen", err)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", admin_port), timeout=1).close()


def main():
    global SHOP_BIN
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    print("shop: %s\nprometheus: %s\npromtool: %s\nlogs: %s" % (SHOP_BIN, PROMETHEUS, PROMTOOL, LOG_ROOT),
          file=sys.stderr, flush=True)
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
