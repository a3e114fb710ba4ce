#!/usr/bin/env python3
"""Deduplicated operations with real processes (issue 14, docs/durability.md): the example
shop's `Orders.place` (declared `.deduplicated(24h)`, key required) and `Gateway.buy`
(`.deduplicated(24h, Key::optional)`), called from outside over HTTP, on a store each
process opens itself: SQLite (a file per test class) or PostgreSQL (a throwaway cluster,
tests/support/pg_cluster.sh, started by this file and destroyed after it).

What counts as "ran" is read from the processes, not from the answers: orders' own counter
(`Orders.placed`: how many times place's implementation ran and placed an order, per sku)
and the inventory's stock, which each placed order lowers.

Proves, on each store:
  - 50 concurrent calls with one new key: the implementation runs once; one caller gets
    the reply, every other a 409 `aborted` with Retry-After or the replay;
  - a replay is the first answer byte for byte, marked `Idempotent-Replayed: true`, also
    when the request's field order and whitespace differ; a settled declared fault is
    replayed too;
  - the same key with another request is 422, also while the first is still running
    (checked before the 409);
  - keys are scoped per operation (one store shared by gateway and orders) and per
    principal (two subjects of the dev identity);
  - a missing, oversized or malformed key is 400 `invalid_argument` and runs nothing;
    a 503 admission refusal is not stored;
  - `kill -9` of orders while a call holds the key: the key answers 409 until the lease
    (the call's deadline) passes, then exactly one call runs it again; never wedged;
  - end to end: a TCP proxy between gateway and orders drops orders' first answer; the
    gateway's client retries with the same key and the order is placed once.
On PostgreSQL also: two orders replicas sharing the database deduplicate across each other.

Usage: test_dedup.py SHOP_BINARY [--store sqlite|postgres|all] [--postgres-url-file FILE] [unittest args...]
  --postgres-url-file: a running server's libpq URL (CTest's fixture `postgres`); else a
  cluster of this run's own is started and destroyed.
  $PIT_E2E_KEEP_LOGS=1 keeps the log folder even when everything passes.
Exit code 77 (skipped) when --store postgres is asked for and PostgreSQL is not installed.
"""

import http.client
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from children import CHILDREN as _CHILDREN  # noqa: E402
from children import die_with_parent as _die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402
from dev_identity import ALL_SCOPES  # noqa: E402
from dev_identity import dev_identity  # noqa: E402

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-durability-")
PG_CLUSTER = os.path.join(HERE, "..", "support", "pg_cluster.sh")

PLACE = "/shop.v1.Orders/place"
PLACED = "/shop.v1.Orders/placed"
BUY = "/shop.v1.Gateway/buy"
STOCK = "/shop.v1.Inventory/stock"
SKU = "bulk"  # never runs out (examples/shop/services.hpp)
SCOPES = ALL_SCOPES + " orders.read"  # orders.read: the counter (Orders.placed)
READY_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 20.0  # only so that a hung call fails the test instead of hanging it

# Set in main(): 1 in a normal build, more under a sanitizer (time bounds grow).
SLOW = 1.0


def new_key(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex)


def sanitized(binary):
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


# ---------------------------------------------------------------------------------------
# HTTP from outside (Python's standard library only).


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # [(name, value)] as received
        self.body = body  # bytes, exactly as received

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    @property
    def replayed(self):
        return (self.header("Idempotent-Replayed") or "").strip().lower() == "true"

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        head = "\n".join("%s: %s" % kv for kv in self.headers)
        return "<HTTP %d>\n%s\n\n%s" % (self.status, head, self.body.decode("utf-8", errors="replace"))


def call(port, path, body, key=None, headers=None, subject="durability-client", timeout=CALL_TIMEOUT_S):
    """POST one JSON body (a str is sent as it is: its bytes matter for fingerprints)."""
    h = {"Content-Type": "application/json"}
    h.update(dev_identity(SHOP_BIN, LOG_ROOT).headers(subject=subject, scope=SCOPES))
    if key is not None:
        h["Idempotency-Key"] = key
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=data, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def in_thread(fn, *args, **kwargs):
    """Runs fn in a thread; returns a function that joins it and gives fn's result."""
    box = {}

    def run():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the joining thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join(CALL_TIMEOUT_S + 5)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    return join


# ---------------------------------------------------------------------------------------
# Stores: what a process is told about where its claims and replies are kept.


class SqliteStore:
    name = "sqlite"

    def __init__(self, path):
        self.path = path

    def env(self):
        return {"PIT_DURABILITY_STORE": "sqlite", "PIT_DURABILITY_SQLITE_PATH": self.path}


class PostgresStore:
    name = "postgres"

    def __init__(self, url):
        self.url = url

    def env(self):
        return {"PIT_DURABILITY_STORE": "postgres", "PIT_DURABILITY_POSTGRES_URL": self.url}


class PostgresCluster:
    """One throwaway cluster for the whole run (tests/support/pg_cluster.sh)."""

    instance = None

    def __init__(self):
        self.dir = os.path.join(LOG_ROOT, "postgres")
        # As root the cluster runs as the user postgres (pg_cluster.sh), which must reach
        # DIR through the run's folder (mkdtemp makes it 0700).
        os.chmod(LOG_ROOT, 0o711)
        r = subprocess.run(["bash", PG_CLUSTER, "start", self.dir], capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("pg_cluster.sh start failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
        self.url = r.stdout.decode().strip().splitlines()[-1]

    def destroy(self):
        subprocess.run(["bash", PG_CLUSTER, "destroy", self.dir], capture_output=True, timeout=60)

    @classmethod
    def get(cls):
        if cls.instance is None:
            cls.instance = PostgresCluster()
        return cls.instance


class SharedCluster:
    """A server someone else started and stops (CTest's fixture `postgres`)."""

    def __init__(self, url):
        self.url = url

    def destroy(self):
        pass


# ---------------------------------------------------------------------------------------
# Processes.


class Node:
    """One shop process: its role, arguments, environment, log; started, killed, restarted
    on the same port and store."""

    def __init__(self, folder, name, role, args, env, config=None):
        self.folder = folder
        self.name = name
        self.role = role
        self.args = args  # after --listen/--admin
        self.env = env
        self.config = config  # TOML text, or None
        self.port = None
        self.proc = None
        self.starts = 0

    def log_path(self):
        return os.path.join(self.folder, "%s.%d.log" % (self.name, self.starts))

    def lines(self):
        try:
            with open(self.log_path(), "rb") as f:
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

    def tail(self, n=30):
        parts = []
        for suffix in ("log", "stderr"):
            path = os.path.join(self.folder, "%s.%d.%s" % (self.name, self.starts, suffix))
            try:
                with open(path, "rb") as f:
                    parts.append("--- %s %s:\n%s" % (self.name, suffix, "\n".join(
                        f.read().decode("utf-8", errors="replace").splitlines()[-n:])))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def start(self, config=None):
        """Starts the process (on its previous port when it had one); waits until it listens."""
        if config is not None:
            self.config = config
        last = None
        for _ in range(3):  # a port picked as free may be taken before the process binds it
            port = self.port if self.port else free_ports(1)[0]
            self.starts += 1
            argv = [SHOP_BIN, self.role, "--listen", "127.0.0.1:%d" % port, "--admin", "127.0.0.1:0"] + self.args
            if self.config:
                path = os.path.join(self.folder, "%s.%d.toml" % (self.name, self.starts))
                with open(path, "w") as f:
                    f.write(self.config)
                argv += ["--config", path]
            env = dict(os.environ)
            env.update(dev_identity(SHOP_BIN, LOG_ROOT).env(os.path.join(self.folder, self.name + ".audit.jsonl")))
            env.update(self.env)
            with open(self.log_path(), "wb") as out, \
                    open(os.path.join(self.folder, "%s.%d.stderr" % (self.name, self.starts)), "wb") as err:
                # cwd: the process's own folder, so nothing it writes by default lands elsewhere.
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                             cwd=self.folder, preexec_fn=_die_with_parent)
            _CHILDREN.append(self.proc)
            try:
                self._wait_ready(port)
                self.port = port
                return self
            except RuntimeError as e:
                last = e
                self.kill9()
                if self.port:  # a restart must keep its port: the others point at it
                    break
        raise RuntimeError("%s did not start: %s" % (self.name, last))

    def _wait_ready(self, port):
        deadline = time.monotonic() + READY_TIMEOUT_S * SLOW
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with %s before it was ready\n%s" % (self.proc.returncode, self.tail()))
            if any(l.get("msg") == "listening" and l.get("port") == port for l in self.lines()):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    return
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("not ready on port %d\n%s" % (port, self.tail()))
            time.sleep(0.02)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 * SLOW)
            except subprocess.TimeoutExpired:
                self.kill9()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class LosingProxy:
    """A TCP proxy from the gateway to orders that loses orders' first answer: once the
    request has reached orders and its reply starts to come back, the reply is dropped and
    the gateway's connection reset. Everything after that is forwarded as it is. Keeps every
    byte the gateway sent, to read the requests' Idempotency-Key headers."""

    def __init__(self, upstream_port, drop=1):
        self.upstream_port = upstream_port
        self.drop = drop
        self.dropped = 0
        self.sent = []  # bytearray per connection from the gateway
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        # One thread per connection pair, both sockets in one select loop: a socket is only
        # closed by the thread that reads it, so the reset below really goes out.
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=CALL_TIMEOUT_S)
        except OSError:
            client.close()
            return
        sent = bytearray()
        with self.lock:
            self.sent.append(sent)
        try:
            while not self.closed:
                readable, _, _ = select.select([client, upstream], [], [], 0.5)
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        break
                    with self.lock:
                        sent.extend(data)
                    upstream.sendall(data)
                if upstream in readable:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    with self.lock:
                        lose = self.dropped < self.drop
                        if lose:
                            self.dropped += 1
                    if lose:
                        # RST, not FIN: the gateway sees its connection die mid-answer.
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        break
                    client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def requests(self, path):
        """The Idempotency-Key header of each request for `path` the gateway sent, in order."""
        keys = []
        with self.lock:
            streams = [bytes(s) for s in self.sent]
        for stream in streams:
            for head in re.findall(rb"POST [^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n", stream):
                if not head.startswith(b"POST " + path.encode() + b" "):
                    continue
                m = re.search(rb"(?im)^idempotency-key:[ \t]*([^\r\n]*?)[ \t]*\r?$", head)
                keys.append(m.group(1).decode() if m else None)
        return keys

    def close(self):
        self.closed = True
        self.listener.close()


class Deployment:
    """inventory, orders replicas and a gateway, each its own process, on one store each."""

    def __init__(self, name):
        self.folder = os.path.join(LOG_ROOT, name)
        os.makedirs(self.folder, exist_ok=True)
        self.nodes = {}
        self.proxies = []

    def add(self, name, role, args, store=None, config=None):
        env = store.env() if store is not None else {}
        node = Node(self.folder, name, role, args, env, config)
        self.nodes[name] = node
        return node.start()

    def stop(self):
        for proxy in self.proxies:
            proxy.close()
        for node in reversed(list(self.nodes.values())):
            node.stop()

    def dead(self):
        return {n.name: n.proc.returncode for n in self.nodes.values() if n.proc is not None and not n.alive()}


# ---------------------------------------------------------------------------------------


def fault_injection(delay_ms, timeout_ms=None, extra=""):
    """Orders' configuration: every place waits delay_ms first (after its claim, before the
    implementation: fault injection is the pipeline's last policy)."""
    text = "[fault_injection]\nenabled = true\n\n[contracts.\"shop.v1.Orders\".operations.place]\n"
    text += "inject_percent = 100\ninject_delay_ms = %d\n" % delay_ms
    if timeout_ms is not None:
        text += "timeout_ms = %d\n" % timeout_ms
    return text + extra


class DurabilityCase(unittest.TestCase):
    """A deployment per test class. Subclasses say which store (store_kind) and how orders
    is configured (orders_config)."""

    maxDiff = None
    store_kind = "sqlite"
    orders_config = None
    gateway_config = None
    shared_store = False  # the gateway uses the orders' store (one SQLite file / database)
    lose_answers = False  # the gateway reaches orders through a LosingProxy (cls.proxy)

    @classmethod
    def make_store(cls, tag):
        if cls.store_kind == "postgres":
            return PostgresStore(PostgresCluster.get().url)
        return SqliteStore(os.path.join(LOG_ROOT, "%s-%s.dedup.sqlite" % (cls.__name__, tag)))

    @classmethod
    def setUpClass(cls):
        if not SHOP_BIN or not os.access(SHOP_BIN, os.X_OK):
            raise RuntimeError("the shop binary is missing: %r" % SHOP_BIN)
        cls.d = Deployment("%s-%s" % (cls.store_kind, cls.__name__))
        try:
            cls.orders_store = cls.make_store("orders")
            cls.inventory = cls.d.add("inventory", "inventory", [])
            cls.orders = cls.d.add("orders", "orders", ["--inventory", cls.inventory.url()], cls.orders_store,
                                   cls.orders_config)
            orders_url = cls.orders.url()
            if cls.lose_answers:
                cls.proxy = LosingProxy(cls.orders.port, drop=0)
                cls.d.proxies.append(cls.proxy)
                orders_url = "http://127.0.0.1:%d" % cls.proxy.port
            gateway_store = cls.orders_store if cls.shared_store else cls.make_store("gateway")
            cls.gateway = cls.d.add("gateway", "gateway", ["--orders", orders_url], gateway_store, cls.gateway_config)
        except BaseException:
            cls.d.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def tearDown(self):
        dead = self.d.dead()
        if dead:
            self.fail("processes died during the test: %s\n%s" % (dead, "\n".join(
                self.d.nodes[n].tail() for n in dead)))

    # -- what ran, read from the processes ---------------------------------------------------

    def counts(self, node=None, sku=SKU):
        """(runs, placed) of place on one orders process, for one sku, since it started."""
        r = call((node or self.orders).port, PLACED, {"sku": sku})
        self.assertEqual(r.status, 200, r)
        return r.json()["runs"], r.json()["placed"]

    def stock(self, sku=SKU):
        r = call(self.inventory.port, STOCK, {"sku": sku})
        self.assertEqual(r.status, 200, r)
        return r.json()["available"]

    def place(self, key, body=None, node=None, **kw):
        return call((node or self.orders).port, PLACE, body if body is not None else {"sku": SKU, "quantity": 1},
                    key=key, **kw)

    def assertProblem(self, r, status, code=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual((r.header("Content-Type") or "").split(";")[0].strip(), "application/problem+json", r)
        if code is not None:
            self.assertEqual(r.json().get("code"), code, r)
        return r.json()

    def assertFirst(self, r):
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.replayed, "a first answer is not marked as a replay: %r" % r)

    def assertReplayOf(self, r, first):
        self.assertEqual(r.status, first.status, r)
        self.assertTrue(r.replayed, "a replay is marked Idempotent-Replayed: true: %r" % r)
        self.assertEqual(r.body, first.body, "a replay is the first answer byte for byte")

    def wait_until(self, predicate, timeout, step=0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(step)


# ---------------------------------------------------------------------------------------
# The scenarios, each written once, run on each store (the classes at the end).


class Concurrent:
    """orders' place waits 400 ms before its implementation: calls overlap."""

    orders_config = fault_injection(400)

    def test_fifty_concurrent_calls_with_one_new_key_run_the_implementation_once(self):
        key = new_key("fifty")
        runs0, placed0 = self.counts()
        stock0 = self.stock()
        barrier = threading.Barrier(50)

        def one():
            barrier.wait(10)
            return self.place(key)

        joins = [in_thread(one) for _ in range(50)]
        answers = [j() for j in joins]
        firsts = [r for r in answers if r.status == 200 and not r.replayed]
        self.assertEqual(len(firsts), 1, "exactly one caller gets the first answer: %r" % answers)
        for r in answers:
            if r is firsts[0]:
                continue
            if r.status == 409:
                self.assertProblem(r, 409, "aborted")
                self.assertTrue(r.header("Retry-After"), "a 409 says when to come back: %r" % r)
            else:
                self.assertReplayOf(r, firsts[0])
        self.assertEqual(self.counts(), (runs0 + 1, placed0 + 1), "the implementation ran once")
        self.assertEqual(self.stock(), stock0 - 1, "one order reached the inventory")
        # Settled: everyone who comes back now gets the replay, and nothing runs again.
        self.assertReplayOf(self.place(key), firsts[0])
        self.assertEqual(self.counts(), (runs0 + 1, placed0 + 1))

    def test_another_request_under_a_running_key_is_422_before_409(self):
        key = new_key("mismatch")
        runs0, _ = self.counts()
        first = in_thread(self.place, key, {"sku": SKU, "quantity": 1})
        # Let it arrive first (a probe sent before it would own the key), well within place's
        # 400 ms delay: not scaled by SLOW, or under the sanitizers the first call is over
        # before the first probe.
        time.sleep(0.1)
        # The claim exists once the same request is told "still running".
        running = self.wait_until(lambda: self.place(key).status == 409, 5 * SLOW, step=0.02)
        self.assertTrue(running, "the first call holds its key while it runs")
        other = self.place(key, {"sku": SKU, "quantity": 2})
        self.assertProblem(other, 422)
        r = first()
        self.assertFirst(r)
        self.assertProblem(self.place(key, {"sku": SKU, "quantity": 2}), 422)
        self.assertReplayOf(self.place(key), r)
        self.assertEqual(self.counts()[0], runs0 + 1)


class Replays:
    """Undelayed; the gateway and orders share one store (one file / one database), and the
    gateway admits one buy at a time."""

    shared_store = True
    gateway_config = '[contracts."shop.v1.Gateway".operations.buy]\nmax_in_flight = 1\nmax_queue = 0\n'

    def test_a_replay_is_byte_identical_and_marked_and_runs_nothing(self):
        key = new_key("replay")
        runs0, placed0 = self.counts()
        stock0 = self.stock()
        first = self.place(key, '{"sku":"bulk","quantity":3}')
        self.assertFirst(first)
        # Field order and whitespace are not part of the fingerprint (canonical encoding).
        for body in ('{"sku":"bulk","quantity":3}', '{ "quantity" : 3,\n  "sku" : "bulk" }'):
            self.assertReplayOf(self.place(key, body), first)
        self.assertEqual(self.counts(), (runs0 + 1, placed0 + 1))
        self.assertEqual(self.stock(), stock0 - 3)

    def test_a_quoted_key_is_the_same_key(self):
        key = new_key("quoted")
        first = self.place('"%s"' % key)
        self.assertFirst(first)
        self.assertReplayOf(self.place(key), first)

    def test_a_settled_declared_fault_is_replayed(self):
        key = new_key("fault")
        runs0, _ = self.counts(sku="plum")
        first = self.place(key, {"sku": "plum", "quantity": 1})
        self.assertProblem(first, 404, "not_found")
        again = self.place(key, {"sku": "plum", "quantity": 1})
        self.assertProblem(again, 404, "not_found")
        self.assertTrue(again.replayed, again)
        self.assertEqual(again.json()["detail"], first.json()["detail"])
        self.assertEqual(self.counts(sku="plum")[0], runs0 + 1)

    def test_keys_are_scoped_per_operation(self):
        # One store, one key, two operations: neither sees the other's record.
        key = new_key("per-op")
        bought = call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}, key=key)
        self.assertFirst(bought)
        self.assertIn("served_by", bought.json())
        runs0, _ = self.counts()
        placed = self.place(key, {"sku": SKU, "quantity": 1})
        self.assertFirst(placed)
        self.assertNotIn("served_by", placed.json())
        self.assertEqual(self.counts()[0], runs0 + 1)
        self.assertReplayOf(call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}, key=key), bought)
        self.assertReplayOf(self.place(key), placed)

    def test_keys_are_scoped_per_principal(self):
        key = new_key("per-principal")
        runs0, _ = self.counts()
        alice = self.place(key, subject="alice")
        bob = self.place(key, subject="bob")
        self.assertFirst(alice)
        self.assertFirst(bob)
        self.assertNotEqual(alice.body, bob.body, "two orders")
        self.assertEqual(self.counts()[0], runs0 + 2)
        self.assertReplayOf(self.place(key, subject="alice"), alice)
        self.assertReplayOf(self.place(key, subject="bob"), bob)

    def test_a_missing_oversized_or_malformed_key_is_400_and_runs_nothing(self):
        runs0, _ = self.counts()
        for key in (None, "", "k" * 300, 'bad"key', "caf\u00e9".encode().decode("latin-1")):
            with self.subTest(key=key):
                r = self.place(key)
                self.assertProblem(r, 400, "invalid_argument")
                if key:
                    self.assertNotIn(key, r.body.decode("utf-8", errors="replace"), "the key is not echoed")
        self.assertEqual(self.counts()[0], runs0, "nothing ran")
        # buy declares its key optional: without one it simply runs.
        self.assertFirst(call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}))

    def test_a_503_admission_refusal_is_not_stored(self):
        # The gateway admits one buy at a time (gateway_config): while a buy of the hanging
        # sku holds the slot, a buy with a key is refused before deduplication, and the key
        # stays new.
        def hold_the_slot():  # sent again while a probe below has the slot
            deadline = time.monotonic() + 5 * SLOW
            while True:
                r = call(self.gateway.port, BUY, {"sku": "slow-sku", "quantity": 1},
                         headers={"Pit-Timeout": "%dm" % int(3000 * SLOW)})  # long enough on a loaded machine
                if r.status != 503 or time.monotonic() > deadline:
                    return r

        hold = in_thread(hold_the_slot)
        time.sleep(0.1 * SLOW)
        refused_probe = self.wait_until(
            lambda: call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}, key=new_key("probe")).status == 503,
            5 * SLOW, step=0.02)
        self.assertTrue(refused_probe, "the slot is held")
        key = new_key("refused")
        refused = call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}, key=key)
        self.assertProblem(refused, 503, "unavailable")
        self.assertFalse(refused.replayed, refused)
        self.assertEqual(hold().status, 504)
        runs0, _ = self.counts()
        r = call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1}, key=key)
        self.assertFirst(r)
        self.assertEqual(self.counts()[0], runs0 + 1, "the refused key ran when it came back")

    def test_the_gateway_client_sends_a_key_of_its_own(self):
        # A caller without a key at the edge: the gateway's client gives its call to place a
        # key (place requires one), so the purchase works.
        r = call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1})
        self.assertFirst(r)


class KillDuringCall:
    """orders' place waits 30 s before its implementation, within a 3 s deadline (the lease)."""

    LEASE_MS = 3000
    orders_config = fault_injection(30000, timeout_ms=3000)

    def test_kill_9_during_the_call_then_one_rerun_after_the_lease_and_no_wedged_key(self):
        key = new_key("kill")
        stock0 = self.stock()
        first = in_thread(self.place, key, timeout=CALL_TIMEOUT_S)
        claimed_at = time.monotonic()
        # Let it arrive first (a probe sent before it would own the key), well within place's
        # 400 ms delay: not scaled by SLOW, or under the sanitizers the first call is over
        # before the first probe.
        time.sleep(0.1)
        held = self.wait_until(lambda: self.place(key).status == 409, 5 * SLOW, step=0.02)
        self.assertTrue(held, "the call holds its key")
        self.orders.kill9()
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            first()  # its caller lost the connection: it cannot know whether the order was placed
        # The new process: same port, same store, and no delay any more.
        self.orders.start(config="")
        early = self.place(key)
        if time.monotonic() - claimed_at < self.LEASE_MS / 1000.0 - 0.3:
            # Still within the dead call's lease: the key is taken, come back later.
            self.assertProblem(early, 409, "aborted")
            self.assertTrue(early.header("Retry-After"), early)
            rerun = self.wait_until(lambda: (lambda r: r if r.status != 409 else None)(self.place(key)),
                                    (self.LEASE_MS / 1000.0 + 5) * SLOW, step=0.1)
        else:  # a slow start (sanitizers) outlived the lease: the first call runs it
            rerun = early
        self.assertIsNotNone(rerun, "the key was still refused long after the lease: wedged")
        self.assertFirst(rerun)
        self.assertGreaterEqual(time.monotonic() - claimed_at, self.LEASE_MS / 1000.0 - 0.2,
                                "taken over only after the lease")
        self.assertEqual(self.counts(), (1, 1), "exactly one re-run in the new process")
        self.assertReplayOf(self.place(key), rerun)
        self.assertEqual(self.counts(), (1, 1))
        self.assertEqual(self.stock(), stock0 - 1, "one order in all")


class LostAnswer:
    """gateway -> LosingProxy -> orders: orders' first answer never reaches the gateway."""

    lose_answers = True

    def test_the_gateway_retries_a_lost_answer_and_the_order_is_placed_once(self):
        runs0, placed0 = self.counts()
        stock0 = self.stock()
        with self.proxy.lock:
            self.proxy.drop = self.proxy.dropped + 1  # lose the next answer
        r = call(self.gateway.port, BUY, {"sku": SKU, "quantity": 1})
        self.assertEqual(self.proxy.dropped, self.proxy.drop, "the proxy lost orders' answer")
        self.assertFirst(r)
        self.assertEqual(self.counts(), (runs0 + 1, placed0 + 1), "placed once (orders' own counter)")
        self.assertEqual(self.stock(), stock0 - 1, "reserved once")
        keys = self.proxy.requests(PLACE)[-2:]
        self.assertEqual(len(keys), 2, "the gateway sent place twice: %r" % self.proxy.requests(PLACE))
        self.assertTrue(keys[0], "pit's client sends a key of its own: %r" % keys)
        self.assertEqual(keys[0], keys[1], "and keeps it across its retries")


class Replicas:
    """Two orders replicas on one PostgreSQL database."""

    orders_config = fault_injection(400)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.orders_b = cls.d.add("orders-b", "orders", ["--inventory", cls.inventory.url()], cls.orders_store,
                                 cls.orders_config)

    def test_two_replicas_sharing_postgresql_deduplicate_across_each_other(self):
        key = new_key("replicas")
        a0, b0 = self.counts(self.orders)[0], self.counts(self.orders_b)[0]
        stock0 = self.stock()
        barrier = threading.Barrier(20)

        def one(node):
            barrier.wait(10)
            return self.place(key, node=node)

        joins = [in_thread(one, self.orders if i % 2 else self.orders_b) for i in range(20)]
        answers = [j() for j in joins]
        firsts = [r for r in answers if r.status == 200 and not r.replayed]
        self.assertEqual(len(firsts), 1, answers)
        for r in answers:
            if r is not firsts[0]:
                if r.status == 409:
                    self.assertProblem(r, 409, "aborted")
                else:
                    self.assertReplayOf(r, firsts[0])
        ran = (self.counts(self.orders)[0] - a0) + (self.counts(self.orders_b)[0] - b0)
        self.assertEqual(ran, 1, "one run across both replicas")
        self.assertEqual(self.stock(), stock0 - 1)
        self.assertReplayOf(self.place(key, node=self.orders), firsts[0])
        self.assertReplayOf(self.place(key, node=self.orders_b), firsts[0])


class SqliteConcurrent(Concurrent, DurabilityCase):
    pass


class SqliteReplays(Replays, DurabilityCase):
    pass


class SqliteKill(KillDuringCall, DurabilityCase):
    pass


class SqliteLostAnswer(LostAnswer, DurabilityCase):
    pass


class PostgresConcurrent(Concurrent, DurabilityCase):
    store_kind = "postgres"


class PostgresReplays(Replays, DurabilityCase):
    store_kind = "postgres"


class PostgresKill(KillDuringCall, DurabilityCase):
    store_kind = "postgres"


class PostgresReplicas(Replicas, DurabilityCase):
    store_kind = "postgres"


def main():
    global SHOP_BIN, SLOW
    binary, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if binary is None:
        return 2
    SHOP_BIN = binary
    SLOW = 3.0 if sanitized(SHOP_BIN) else 1.0
    store = "all"
    if "--store" in rest:
        i = rest.index("--store")
        store = rest[i + 1]
        del rest[i:i + 2]
    if "--postgres-url-file" in rest:  # the fixture's cluster, instead of one of our own
        i = rest.index("--postgres-url-file")
        path = rest[i + 1]
        del rest[i:i + 2]
        if os.path.isfile(path):
            with open(path) as f:
                lines = f.read().strip().splitlines()
            url = lines[-1] if lines else ""
            if url:
                PostgresCluster.instance = SharedCluster(url)
    names = [n for n, v in globals().items() if isinstance(v, type) and issubclass(v, DurabilityCase)
             and v is not DurabilityCase]
    if store == "postgres" and not os.access("/usr/lib/postgresql/15/bin/initdb", os.X_OK) \
            and not os.environ.get("PIT_POSTGRES_BIN"):
        print("PostgreSQL is not installed (scripts/deps.sh installs it): skipped", file=sys.stderr)
        return 77
    selected = [n for n in names if store == "all" or n.lower().startswith(store)]
    if not [a for a in rest if not a.startswith("-")]:
        rest += selected
    print("shop binary: %s\nstore: %s\nlogs: %s" % (SHOP_BIN, store, LOG_ROOT), file=sys.stderr, flush=True)
    try:
        return run_tests(rest, LOG_ROOT)
    finally:
        if PostgresCluster.instance is not None:
            PostgresCluster.instance.destroy()


if __name__ == "__main__":
    sys.exit(main())
