#!/usr/bin/env python3
"""End-to-end: the example shop as three real processes on loopback, called from outside.

    gateway (:P1) --HTTP--> orders (:P2) --HTTP--> inventory (:P3)

Every check here goes through the public wire only (POST /{contract}/{operation} with JSON,
RFC 9457 problem+json faults) with clients that share no code with pit: Python's standard
library (http.client, urllib.request) and curl. The processes' stdout (one JSON log object
per line) is captured to files and read back to check correlation, tracing, deadlines and
fault masking across the three processes.

Usage: test_shop.py [SHOP_BINARY] [--port-base N] [unittest args...]
  SHOP_BINARY   the `shop` example binary (else $PIT_SHOP_BIN)
  --port-base N use ports N.. instead of free ports picked by the OS (else $PIT_E2E_PORT_BASE)
  $PIT_E2E_KEEP_LOGS=1 keeps the log folder even when everything passes (it is always kept,
  and its path printed, when something fails).
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
import time
import unittest
import urllib.error
import urllib.request
import uuid

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
PORT_BASE = int(os.environ.get("PIT_E2E_PORT_BASE", "0") or 0)
LOG_ROOT = tempfile.mkdtemp(prefix="pit-e2e-")

GATEWAY_BUY = "/shop.v1.Gateway/buy"
SECRET = "hunter2"  # in the inventory's exception text; must never leave the inventory
READY_TIMEOUT_S = 10.0
LOG_WAIT_S = 5.0
STOP_TIMEOUT_S = 5.0
HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import CHILDREN as _CHILDREN  # noqa: E402
from children import die_with_parent as _die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import run_tests  # noqa: E402
from dev_identity import dev_identity  # noqa: E402


def new_id(tag):
    return "e2e-%s-%s" % (tag, uuid.uuid4().hex[:12])


# ---------------------------------------------------------------------------------------
# HTTP from outside: http.client (exact control of method, headers, body) and urllib.


class Response:
    def __init__(self, status, headers, body, elapsed=0.0):
        self.status = status
        self.headers = headers  # list of (name, value), as received
        self.body = body  # bytes
        self.elapsed = elapsed

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def header_count(self, name):
        return sum(1 for k, _ in self.headers if k.lower() == name.lower())

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def raw(self):
        """Everything the caller received, as one string: status, headers, body."""
        head = "\n".join("%s: %s" % (k, v) for k, v in self.headers)
        return "%d\n%s\n\n%s" % (self.status, head, self.text)

    def __repr__(self):
        return "<HTTP %d in %.3fs>\n%s" % (self.status, self.elapsed, self.raw())


RESPONSES = []  # every response any test received, for the "secret never leaks" check
# Sent with every call unless a test says otherwise (a header given as None is not sent):
# the shop runs with identity on (tests/support/dev_identity.py), so the suites call as a
# client holding every scope. ShopTestCase.setUpClass fills it.
AUTH = {}


def with_auth(headers):
    merged = dict(AUTH)
    merged.update(headers or {})
    return {k: v for k, v in merged.items() if v is not None}


def http_call(port, path, body=None, headers=None, method="POST", content_type="application/json",
              timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {}
        if content_type is not None:
            h["Content-Type"] = content_type
        h.update(with_auth(headers))
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        start = time.monotonic()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        resp = Response(r.status, r.getheaders(), data, time.monotonic() - start)
        RESPONSES.append(resp)
        return resp
    finally:
        conn.close()


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def urllib_call(port, path, payload, headers=None, timeout=10.0):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=json.dumps(payload).encode(),
                                 method="POST", headers={"Content-Type": "application/json", **with_auth(headers)})
    start = time.monotonic()
    try:
        with _NO_PROXY_OPENER.open(req, timeout=timeout) as r:
            resp = Response(r.status, list(r.headers.items()), r.read(), time.monotonic() - start)
    except urllib.error.HTTPError as e:
        resp = Response(e.code, list(e.headers.items()), e.read(), time.monotonic() - start)
    RESPONSES.append(resp)
    return resp


# ---------------------------------------------------------------------------------------
# The three processes.


class ShopSystem:
    ROLES = ("inventory", "orders", "gateway")  # started back to front

    def __init__(self, name, port_base=0, role_args=None):
        self.dir = os.path.join(LOG_ROOT, name)
        self.role_args = role_args or {}  # {role: [extra arguments]}, e.g. a --config file
        os.makedirs(self.dir, exist_ok=True)
        self.port_base = port_base
        self.procs = {}
        self.ports = {}
        self._files = []

    def log_path(self, role):
        return os.path.join(self.dir, role + ".log")

    def audit_path(self, role):
        return os.path.join(self.dir, role + ".audit.jsonl")

    def role_environment(self, role):
        """Identity on: each process verifies the run's dev tokens and writes its own audit
        file. A subclass may configure another issuer (test_shop_identity.py)."""
        env = dict(os.environ)
        env.update(dev_identity(SHOP_BIN, LOG_ROOT).env(self.audit_path(role)))
        return env

    def audit(self, role, correlation_id=None):
        """The audit records one process wrote so far (all, or those of one correlation id)."""
        try:
            with open(self.audit_path(role), "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        records = [json.loads(l) for l in text[: text.rfind("\n") + 1].splitlines() if l.strip()]
        return [r for r in records if correlation_id is None or r.get("correlation_id") == correlation_id]

    def start(self):
        last_error = None
        for attempt in range(3):  # a port picked as free may be taken before we bind it
            if self.port_base:
                ports = [self.port_base + 3 * attempt + i for i in range(3)]
            else:
                ports = free_ports(3)
            self.ports = dict(zip(("gateway", "orders", "inventory"), ports))
            try:
                self._spawn_all()
                self._wait_ready()
                return
            except RuntimeError as e:
                last_error = e
                self.kill()
        raise RuntimeError("the shop did not start after 3 attempts; last error:\n%s" % last_error)

    def _spawn_all(self):
        p = self.ports
        args = {
            "inventory": ["inventory", "--listen", "127.0.0.1:%d" % p["inventory"],
                          "--admin", "127.0.0.1:0"],
            "orders": ["orders", "--listen", "127.0.0.1:%d" % p["orders"], "--admin", "127.0.0.1:0",
                       "--inventory", "http://127.0.0.1:%d" % p["inventory"]],
            "gateway": ["gateway", "--listen", "127.0.0.1:%d" % p["gateway"], "--admin", "127.0.0.1:0",
                        "--orders", "http://127.0.0.1:%d" % p["orders"]],
        }
        for role in self.ROLES:
            out = open(self.log_path(role), "wb")
            err = open(os.path.join(self.dir, role + ".stderr"), "wb")
            self._files += [out, err]
            # cwd: the system's folder, where a process keeps what it writes by default (the
            # store of its deduplicated operations, docs/durability.md).
            proc = subprocess.Popen([SHOP_BIN] + args[role] + self.role_args.get(role, []), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=self.role_environment(role), cwd=self.dir, preexec_fn=_die_with_parent)
            _CHILDREN.append(proc)
            self.procs[role] = proc

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        for role in self.ROLES:
            port = self.ports[role]
            while True:
                proc = self.procs[role]
                if proc.poll() is not None:
                    raise RuntimeError("%s exited with %s before it was ready\n%s" % (role, proc.returncode,
                                                                                     self.tail(role)))
                listening = any(l.get("msg") == "listening" and l.get("port") == port for l in self.lines(role))
                if listening:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                        break
                    except OSError:
                        pass
                if time.monotonic() > deadline:
                    raise RuntimeError("%s not ready on port %d within %.0fs\n%s" % (role, port, READY_TIMEOUT_S,
                                                                                 self.tail(role)))
                time.sleep(0.02)

    def alive(self):
        return {role: p.poll() is None for role, p in self.procs.items()}

    def terminate(self, role, timeout=STOP_TIMEOUT_S):
        """SIGTERM; returns (exit code or None if still running after timeout, seconds)."""
        proc = self.procs[role]
        start = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - start
        return proc.returncode, time.monotonic() - start

    def stop(self):
        """SIGTERM everything, SIGKILL whatever did not stop; returns {role: exit code}."""
        codes = {}
        for role in reversed(self.ROLES):
            if role in self.procs:
                codes[role], _ = self.terminate(role)
        self.kill()
        return codes

    def kill(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        for f in self._files:
            f.close()
        self._files = []
        self.procs = {}

    # -- logs -----------------------------------------------------------------------------

    def raw_log(self, role):
        try:
            with open(self.log_path(role), "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def lines(self, role):
        """The complete JSON lines of one process's log so far."""
        out = []
        text = self.raw_log(role)
        complete = text[: text.rfind("\n") + 1]
        for line in complete.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"msg": "<not JSON>", "_raw": line}
            if isinstance(obj, dict):
                obj.setdefault("_raw", line)
                out.append(obj)
        return out

    def tail(self, role, n=20):
        lines = self.raw_log(role).splitlines()[-n:]
        try:
            with open(os.path.join(self.dir, role + ".stderr"), "rb") as f:
                err = f.read().decode("utf-8", errors="replace").strip()
        except FileNotFoundError:
            err = ""
        return "--- %s stdout (last %d lines):\n%s\n--- %s stderr:\n%s" % (role, n, "\n".join(lines), role, err)

    def with_id(self, role, correlation_id):
        return [l for l in self.lines(role) if l.get("correlation_id") == correlation_id]

    def calls(self, role, correlation_id, kind=None):
        return [l for l in self.with_id(role, correlation_id)
                if l.get("msg") == "call" and (kind is None or l.get("kind") == kind)]

    def wait_for(self, predicate, timeout=LOG_WAIT_S):
        """Polls until predicate() is truthy (the log sinks write asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    def wait_for_calls(self, correlation_id, expected):
        """Waits until each role has its expected number of "call" lines for the id."""
        def done():
            return all(len(self.calls(role, correlation_id)) >= n for role, n in expected.items())
        self.wait_for(done)
        return {role: self.calls(role, correlation_id) for role in self.ROLES}

    def dump(self, correlation_id):
        """Every line of all three logs under one correlation id, for failure messages."""
        parts = []
        for role in ("gateway", "orders", "inventory"):
            parts.append("--- %s:" % role)
            parts += [l["_raw"] for l in self.with_id(role, correlation_id)]
        return "\n".join(parts)


# ---------------------------------------------------------------------------------------


class ShopTestCase(unittest.TestCase):
    maxDiff = None
    system_name = "shop"
    role_args = {}  # extra arguments per role, for subclasses

    @classmethod
    def setUpClass(cls):
        if not SHOP_BIN or not os.access(SHOP_BIN, os.X_OK):
            raise RuntimeError("the shop binary is missing or not executable: %r (argv[1] or $PIT_SHOP_BIN)"
                               % SHOP_BIN)
        AUTH.update(dev_identity(SHOP_BIN, LOG_ROOT).headers())
        cls.shop = ShopSystem(cls.system_name, PORT_BASE, cls.role_args)
        try:
            cls.shop.start()
        except BaseException:
            cls.shop.kill()  # tearDownClass does not run when setUpClass fails
            raise
        cls.gateway = cls.shop.ports["gateway"]

    @classmethod
    def tearDownClass(cls):
        cls.shop.stop()

    def buy(self, payload, headers=None, **kw):
        return http_call(self.gateway, GATEWAY_BUY, payload, headers=headers, **kw)

    def stock(self, sku):
        r = http_call(self.shop.ports["inventory"], "/shop.v1.Inventory/stock", {"sku": sku})
        self.assertEqual(r.status, 200, r)
        return r.json()["available"]

    def assertProblem(self, resp, status, code):
        """An RFC 9457 problem+json with the given status and pit code; returns the body."""
        self.assertEqual(resp.status, status, resp)
        self.assertEqual((resp.header("Content-Type") or "").split(";")[0].strip(), "application/problem+json", resp)
        try:
            problem = resp.json()
        except ValueError:
            self.fail("the fault body is not JSON: %r" % resp)
        for field in ("type", "title", "status", "detail", "code", "correlation_id"):
            self.assertIn(field, problem, resp)
        self.assertEqual(problem["status"], status, resp)
        if code is not None:
            self.assertEqual(problem["code"], code, resp)
        self.assertEqual(problem["correlation_id"], resp.header("X-Request-Id"), resp)
        tp = resp.header("traceparent")
        if tp is not None and problem.get("trace_id"):
            self.assertEqual(TRACEPARENT.match(tp).group(1), problem["trace_id"], resp)
        return problem

    def assertTraceparent(self, resp):
        tp = resp.header("traceparent")
        self.assertIsNotNone(tp, resp)
        m = TRACEPARENT.match(tp)
        self.assertIsNotNone(m, "malformed traceparent in the response: %r" % tp)
        return m.group(1), m.group(2)


class ShopEndToEnd(ShopTestCase):
    """gateway → orders → inventory as three processes, called from outside."""

    system_name = "main"

    def tearDown(self):
        dead = {role: p.returncode for role, p in self.shop.procs.items() if p.poll() is not None}
        if dead:
            self.fail("processes died during the test: %s\n%s" % (dead, "\n".join(self.shop.tail(r) for r in dead)))

    # -- the happy path -------------------------------------------------------------------

    def test_success_through_gateway_orders_inventory(self):
        before = self.stock("apple")
        cid = new_id("ok")
        r = urllib_call(self.gateway, GATEWAY_BUY, {"sku": "apple", "quantity": 2}, {"X-Request-Id": cid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.header("Content-Type") or "").split(";")[0], "application/json", r)
        self.assertEqual(r.header("X-Request-Id"), cid, r)
        self.assertTraceparent(r)
        receipt = r.json()
        self.assertRegex(receipt.get("order_id", ""), r"^o-r-\d+$", r)
        self.assertEqual(receipt.get("served_by"), "gateway", r)
        self.assertEqual(receipt.get("remaining_stock"), before - 2, r)
        self.assertEqual(self.stock("apple"), before - 2, "the inventory process really reserved 2")
        calls = self.shop.wait_for_calls(cid, {"gateway": 2, "orders": 2, "inventory": 1})
        for role in ShopSystem.ROLES:
            for line in calls[role]:
                self.assertEqual((line.get("outcome"), line.get("code")), ("ok", "ok"), self.shop.dump(cid))

    # -- faults ---------------------------------------------------------------------------

    def test_declared_fault_reaches_the_outside_as_404_with_the_inventory_message(self):
        cid = new_id("plum")
        r = self.buy({"sku": "plum", "quantity": 1}, {"X-Request-Id": cid})
        problem = self.assertProblem(r, 404, "not_found")
        self.assertEqual(problem["detail"], "unknown sku", "the inventory's own message, through two hops")
        self.assertEqual(problem["correlation_id"], cid, r)
        self.assertNotIn("retryable", problem, r)
        calls = self.shop.wait_for_calls(cid, {"gateway": 1, "orders": 1, "inventory": 1})
        for role in ShopSystem.ROLES:
            servers = [l for l in calls[role] if l.get("kind") == "server"]
            self.assertEqual(len(servers), 1, "%s\n%s" % (role, self.shop.dump(cid)))
            self.assertEqual(servers[0].get("code"), "not_found", "declared at every hop\n" + self.shop.dump(cid))
            self.assertFalse([l for l in self.shop.with_id(role, cid) if l.get("msg") == "fault masked"],
                             "a declared fault is not masked\n" + self.shop.dump(cid))

    def test_business_faults_keep_their_codes(self):
        r = self.buy({"sku": "apple", "quantity": 0})
        self.assertEqual(self.assertProblem(r, 400, "invalid_argument")["detail"], "quantity must be positive")
        r = self.buy({"sku": "pear", "quantity": 100})
        self.assertEqual(self.assertProblem(r, 429, "resource_exhausted")["detail"], "not enough stock")

    def test_masked_failure_is_500_internal_and_the_secret_stays_in_the_inventory_log(self):
        cid = new_id("cursed")
        r = self.buy({"sku": "cursed-sku", "quantity": 1}, {"X-Request-Id": cid})
        problem = self.assertProblem(r, 500, "internal")
        self.assertEqual(problem["detail"], "internal error", r)
        self.assertEqual(problem["correlation_id"], cid, r)
        for leak in (SECRET, "runtime_error", "password", "pg:"):
            self.assertNotIn(leak, r.raw(), "the masked cause leaked to the caller")
        # No response this run received, from any test so far, carries the secret.
        for resp in RESPONSES:
            self.assertNotIn(SECRET, resp.raw())
        # The real cause is in the inventory's log, under the caller's correlation id.
        masked = self.shop.wait_for(lambda: [l for l in self.shop.with_id("inventory", cid)
                                             if l.get("msg") == "fault masked" and SECRET in l["_raw"]])
        self.assertTrue(masked, "no 'fault masked' line with the cause in the inventory log for %s\n%s\n%s"
                        % (cid, self.shop.dump(cid), self.shop.tail("inventory")))
        self.assertEqual(masked[0].get("level"), "error", masked[0]["_raw"])
        # The cause never crossed the wire: orders and gateway cannot know it.
        calls = self.shop.wait_for_calls(cid, {"gateway": 2, "orders": 2, "inventory": 1})
        for role in ("orders", "gateway"):
            leaked = [l for l in self.shop.raw_log(role).splitlines() if SECRET in l]
            self.assertEqual(leaked, [], "%s learned the secret over the wire" % role)
        for role in ShopSystem.ROLES:
            server = [l for l in calls[role] if l.get("kind") == "server"]
            self.assertEqual([l.get("code") for l in server], ["internal"], "%s\n%s" % (role, self.shop.dump(cid)))

    # -- context across processes -----------------------------------------------------------

    def _span_chain(self, cid):
        """The five call lines of one request: gateway server/client, orders server/client,
        inventory server; each exactly once."""
        calls = self.shop.wait_for_calls(cid, {"gateway": 2, "orders": 2, "inventory": 1})
        dump = self.shop.dump(cid)

        def one(role, kind, contract, operation):
            found = [l for l in calls[role] if l.get("kind") == kind]
            self.assertEqual(len(found), 1, "one %s line in %s for %s\n%s" % (kind, role, cid, dump))
            self.assertEqual((found[0].get("contract"), found[0].get("operation")), (contract, operation), dump)
            return found[0]

        return dump, [
            one("gateway", "server", "shop.v1.Gateway", "buy"),
            one("gateway", "client", "shop.v1.Orders", "place"),
            one("orders", "server", "shop.v1.Orders", "place"),
            one("orders", "client", "shop.v1.Inventory", "reserve"),
            one("inventory", "server", "shop.v1.Inventory", "reserve"),
        ]

    def test_one_correlation_id_one_trace_and_linked_spans_across_three_processes(self):
        cid = new_id("corr")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Request-Id"), cid, r)
        trace_id, response_span = self.assertTraceparent(r)
        dump, (gw_server, gw_client, orders_server, orders_client, inv_server) = self._span_chain(cid)
        # Every line under the id (calls and application lines) in every process: one trace.
        for role in ShopSystem.ROLES:
            lines = self.shop.with_id(role, cid)
            self.assertTrue(lines, "no line with correlation id %s in %s\n%s" % (cid, role, dump))
            self.assertEqual({l.get("trace_id") for l in lines}, {trace_id}, "%s\n%s" % (role, dump))
        self.assertTrue([l for l in self.shop.with_id("orders", cid) if l.get("msg") == "order placed"], dump)
        self.assertTrue([l for l in self.shop.with_id("inventory", cid) if l.get("msg") == "reserved"], dump)
        # Spans: each hop's server span is the child of the previous hop's client span.
        spans = [l.get("span_id") for l in (gw_server, gw_client, orders_server, orders_client, inv_server)]
        for s in spans:
            self.assertRegex(s or "", HEX16, dump)
        self.assertEqual(len(set(spans)), 5, "five distinct spans\n" + dump)
        self.assertEqual(gw_server["span_id"], response_span, "the response's traceparent names the gateway span")
        self.assertEqual(gw_client.get("parent_span_id"), gw_server["span_id"], dump)
        self.assertEqual(orders_server.get("parent_span_id"), gw_client["span_id"], "gateway → orders\n" + dump)
        self.assertEqual(orders_client.get("parent_span_id"), orders_server["span_id"], dump)
        self.assertEqual(inv_server.get("parent_span_id"), orders_client["span_id"], "orders → inventory\n" + dump)

    def test_callers_traceparent_is_continued_through_every_process(self):
        trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        cid = new_id("trace")
        r = self.buy({"sku": "apple", "quantity": 1},
                     {"X-Request-Id": cid, "traceparent": "00-%s-%s-01" % (trace_id, parent)})
        self.assertEqual(r.status, 200, r)
        got_trace, got_span = self.assertTraceparent(r)
        self.assertEqual(got_trace, trace_id, "the response continues the caller's trace")
        self.assertNotEqual(got_span, parent, "the gateway's span is a new child span")
        dump, chain = self._span_chain(cid)
        self.assertEqual(chain[0].get("parent_span_id"), parent, "the gateway span's parent is the caller's\n" + dump)
        for role in ShopSystem.ROLES:
            self.assertEqual({l.get("trace_id") for l in self.shop.with_id(role, cid)}, {trace_id},
                             "%s\n%s" % (role, dump))

    # -- deadlines ------------------------------------------------------------------------

    def test_outside_deadline_bounds_a_hanging_call_and_shrinks_along_the_hops(self):
        cid = new_id("deadline")
        r = self.buy({"sku": "slow-sku", "quantity": 1}, {"X-Request-Id": cid, "Pit-Timeout": "300m"})
        self.assertProblem(r, 504, "deadline_exceeded")
        self.assertLess(r.elapsed, 1.0, "a 300 ms deadline must be answered within ~1 s")
        self.assertGreaterEqual(r.elapsed, 0.2, "answered long before the deadline: was it honoured?")
        dump, (gw_server, _, orders_server, _, inv_server) = self._span_chain(cid)
        budgets = [l.get("budget_ms") for l in (gw_server, orders_server, inv_server)]
        for b in budgets:
            self.assertIsInstance(b, int, "budget_ms on every server line\n" + dump)
        self.assertLessEqual(budgets[0], 300, "the gateway saw the caller's 300 ms\n" + dump)
        self.assertGreater(budgets[2], 0, dump)
        self.assertTrue(budgets[0] > budgets[1] > budgets[2],
                        "budget strictly decreasing gateway → orders → inventory: %s\n%s" % (budgets, dump))
        self.assertEqual(gw_server.get("code"), "deadline_exceeded", dump)
        # The inner hops end at their own deadline or, when the hop before gives up first
        # (its deadline is a few ms later, but load can reorder them), by that caller's
        # disconnect (cancelled); either way they end, well before the inventory's 5-minute
        # hang, and never as a masked internal failure.
        for line in (orders_server, inv_server):
            self.assertIn(line.get("code"), ("deadline_exceeded", "cancelled"), dump)
            self.assertLess(line.get("duration_us", 10 ** 9), 1_000_000,
                            "the hanging call was cancelled at the deadline\n" + dump)

    # -- hostile input at the edge ----------------------------------------------------------

    def test_hostile_input_is_refused_at_the_gateway_and_the_system_keeps_serving(self):
        refused_ids = []

        def refused(resp, status, code):
            problem = self.assertProblem(resp, status, code)
            refused_ids.append(problem["correlation_id"])
            return problem

        with self.subTest("wrong method → 405 with Allow: POST"):
            r = http_call(self.gateway, GATEWAY_BUY, method="GET", content_type=None)
            refused(r, 405, None)
            self.assertEqual(r.header("Allow"), "POST", r)
        with self.subTest("wrong or missing content type → 415"):
            refused(self.buy('{"sku":"apple"}', content_type="text/plain"), 415, "invalid_argument")
            refused(self.buy('{"sku":"apple"}', content_type=None), 415, "invalid_argument")
        with self.subTest("malformed JSON → 400 naming the problem"):
            p = refused(self.buy('{"sku":'), 400, "invalid_argument")
            self.assertIn("JSON", p["detail"])
        with self.subTest("wrong field type → 400 naming the field"):
            p = refused(self.buy({"sku": "apple", "quantity": "two"}), 400, "invalid_argument")
            self.assertIn("quantity", p["detail"])
        with self.subTest("body that is not an object → 400"):
            refused(self.buy("[1,2]"), 400, "invalid_argument")
        with self.subTest("a required field missing or null → 400 naming it (PIT_REQUIRED)"):
            for body in ({}, {"sku": None, "quantity": 1}):
                p = refused(self.buy(body), 400, "invalid_argument")
                self.assertIn("field 'sku': required", p["detail"])
        with self.subTest("unknown route → 404"):
            for path in ("/shop.v1.Nope/buy", "/shop.v1.Gateway/nope", "/", "/shop.v1.Gateway",
                         "/shop.v1.Inventory/reserve"):  # inventory is not served by the gateway
                r = http_call(self.gateway, path, {"sku": "apple"})
                refused(r, 404, "not_found")
        with self.subTest("invalid Pit-Timeout → 400"):
            for bad in ("abc", "1", "123456789S", "5x", "-5S", "5 S", "0.5S"):
                r = self.buy({"sku": "apple"}, {"Pit-Timeout": bad})
                refused(r, 400, "invalid_argument")
        with self.subTest("control characters in a header → 400"):
            r = self.buy({"sku": "apple"}, {"X-Request-Id": "a\x01b"})
            self.assertEqual(r.status, 400, r)
            self.assertNotIn("\x01", r.raw())
        with self.subTest("an invalid X-Request-Id is replaced, never echoed"):
            for evil in ('evil id "quoted" <script>', "x" * 129, "semi;colon", "slash/id"):
                r = self.buy({"sku": "plum", "quantity": 1}, {"X-Request-Id": evil})
                generated = self.assertProblem(r, 404, "not_found")["correlation_id"]
                self.assertRegex(generated or "", HEX32, "a generated id replaces %r" % evil)
                self.assertNotIn(evil, r.raw())
                self.shop.wait_for_calls(generated, {"gateway": 2, "orders": 2, "inventory": 1})
                for role in ShopSystem.ROLES:
                    self.assertTrue(self.shop.calls(role, generated), "%s runs under the generated id" % role)
                    logged = [l for l in self.shop.raw_log(role).splitlines() if evil in l]
                    self.assertEqual(logged, [], "%s logged the raw id %r" % (role, evil))

        # After all of that, a success; and nothing refused at the edge reached orders.
        cid = new_id("after-hostile")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid})
        self.assertEqual(r.status, 200, r)
        self.shop.wait_for_calls(cid, {"gateway": 2, "orders": 2, "inventory": 1})
        self.assertTrue(self.shop.calls("inventory", cid), self.shop.dump(cid))
        self.assertGreaterEqual(len(refused_ids), 15)
        for rid in refused_ids:
            for role in ("orders", "inventory"):
                self.assertFalse(self.shop.with_id(role, rid), "refused request %s reached %s" % (rid, role))

    # -- identity (a dev key here; the real identity provider: test_shop_identity.py) ----------

    def test_strangers_are_refused_at_the_gateway_and_reach_no_other_process(self):
        cases = [
            ("no token", {"Authorization": None}, 401, "unauthenticated", "Bearer"),
            ("not a token", {"Authorization": "Bearer not.a.token"}, 401, "unauthenticated",
             'Bearer error="invalid_token"'),
            ("a token without shop.buy", dev_identity(SHOP_BIN, LOG_ROOT).headers(scope="inventory.read"), 403,
             "permission_denied", None),
        ]
        for name, headers, status, code, challenge in cases:
            with self.subTest(name):
                cid = new_id("stranger")
                r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, **headers})
                problem = self.assertProblem(r, status, code)
                self.assertEqual(r.header("WWW-Authenticate"), challenge, r)
                self.assertNotIn("scope", problem["detail"], "a refusal does not say why")
                denied = self.shop.wait_for(lambda: self.shop.audit("gateway", cid))
                self.assertEqual([d.get("decision") for d in denied], ["deny"], denied)
                for role in ("orders", "inventory"):
                    self.assertEqual(self.shop.with_id(role, cid), [], "refused call %s reached %s" % (cid, role))
                    self.assertEqual(self.shop.audit(role, cid), [], role)

    def test_an_allowed_call_is_audited_in_all_three_processes_under_the_callers_identity(self):
        cid = new_id("audited")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid})
        self.assertEqual(r.status, 200, r)
        expected = {"gateway": ("shop.v1.Gateway", "buy", "scope:shop.buy"),
                    "orders": ("shop.v1.Orders", "place", "scope:orders.place"),
                    "inventory": ("shop.v1.Inventory", "reserve", "scope:inventory.reserve")}
        hashes = set()
        for role, (contract, operation, rule) in expected.items():
            records = self.shop.wait_for(lambda: self.shop.audit(role, cid))
            self.assertEqual(len(records), 1, "%s: %s" % (role, records))
            rec = records[0]
            self.assertEqual((rec["decision"], rec["reason"], rec["contract"], rec["operation"], rec["rule"]),
                             ("allow", "allowed", contract, operation, rule), rec)
            self.assertEqual((rec["issuer"], rec["subject"], rec["auth"]), ("pit-dev", "e2e-client", "bearer"), rec)
            self.assertEqual(rec["actors"], [], "the token was forwarded, not exchanged")
            self.assertNotIn(AUTH["Authorization"].split()[1], json.dumps(rec), "the token itself is never audited")
            hashes.add(rec["token_hash"])
        self.assertEqual(len(hashes), 1, "one token, forwarded across both hops (auth.audiences)")

    # -- curl -----------------------------------------------------------------------------

    def curl(self, *args):
        exe = shutil.which("curl")
        if exe is None:
            self.skipTest("curl is not installed")
        proc = subprocess.run([exe, "-sS", "--noproxy", "*", "--max-time", "10"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertEqual(proc.returncode, 0, "curl failed: %s" % proc.stderr.decode(errors="replace"))
        return proc.stdout.decode()

    def test_curl_success_and_status_code(self):
        url = "http://127.0.0.1:%d%s" % (self.gateway, GATEWAY_BUY)
        cid = new_id("curl")
        auth = "Authorization: " + AUTH["Authorization"]
        out = self.curl("-X", "POST", url, "-H", "Content-Type: application/json", "-H", "X-Request-Id: " + cid, "-H", auth,
                        "-d", '{"sku":"apple","quantity":1}', "-w", "\n%{http_code}")
        body, _, code = out.rpartition("\n")
        self.assertEqual(code, "200", out)
        receipt = json.loads(body)
        self.assertEqual(receipt.get("served_by"), "gateway", out)
        self.assertRegex(receipt.get("order_id", ""), r"^o-r-\d+$", out)
        self.assertIsInstance(receipt.get("remaining_stock"), int, out)
        self.shop.wait_for_calls(cid, {"inventory": 1})
        self.assertTrue(self.shop.calls("inventory", cid), "curl's X-Request-Id reached the inventory")
        code = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url, "-H", auth,
                         "-H", "Content-Type: application/json", "-d", '{"sku":"plum","quantity":1}')
        self.assertEqual(code, "404")
        code = self.curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url,
                         "-H", "Content-Type: application/json", "-d", '{"sku":"apple","quantity":1}')
        self.assertEqual(code, "401", "curl without a token is a stranger")


class CleanStop(ShopTestCase):
    """SIGTERM stops each process with exit code 0 within a few seconds, even with an idle
    keep-alive connection from the outside and pooled connections between the hops."""

    system_name = "stop"

    def test_sigterm_stops_every_process_with_exit_code_0(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway, timeout=10)
        try:
            conn.request("POST", GATEWAY_BUY, body='{"sku":"apple","quantity":1}',
                         headers=with_auth({"Content-Type": "application/json"}))
            r = conn.getresponse()
            self.assertEqual(r.status, 200, r.read())
            r.read()  # the connection stays open (keep-alive) while the gateway is stopped
            for role in ("gateway", "orders", "inventory"):
                code, took = self.shop.terminate(role)
                self.assertIsNotNone(code, "%s still running %.0fs after SIGTERM\n%s"
                                     % (role, STOP_TIMEOUT_S, self.shop.tail(role)))
                self.assertEqual(code, 0, "%s exit code after SIGTERM\n%s" % (role, self.shop.tail(role)))
                self.assertLess(took, STOP_TIMEOUT_S, role)
                stopping = self.shop.wait_for(lambda: [l for l in self.shop.lines(role) if l.get("msg") == "stopping"])
                self.assertTrue(stopping, "%s logged that it stopped\n%s" % (role, self.shop.tail(role)))
        finally:
            conn.close()


def main():
    global SHOP_BIN, PORT_BASE
    args = sys.argv[1:]
    rest = []
    binary_from_argv = False
    i = 0
    while i < len(args):
        if args[i] == "--port-base" and i + 1 < len(args):
            PORT_BASE = int(args[i + 1])
            i += 1
        elif not binary_from_argv and not args[i].startswith("-") and os.path.isfile(args[i]):
            SHOP_BIN = os.path.abspath(args[i])  # argv wins over $PIT_SHOP_BIN
            binary_from_argv = True
        else:
            rest.append(args[i])  # for unittest: -k PATTERN, test names, ...
        i += 1
    print("shop binary: %s\nlogs: %s" % (SHOP_BIN, LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
