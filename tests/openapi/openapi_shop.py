"""What the OpenAPI tool checks (tests/openapi/test_*.py) share: the shop as three processes
with their admin listeners known, the OpenAPI document of each process (from the binary's
--openapi flag and from the admin listener's GET /openapi.json), and node running the npm
tools pinned by tests/openapi/package-lock.json (installed by install.sh, the CTest fixture
`openapi`).

The gateway admits one buy at a time and queues none (GATEWAY_CONFIG), so a test can make it
refuse a call with 503: a buy of `slow-sku` (the inventory hangs on it until the deadline)
holds the only slot while another buy is refused."""

import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import test_shop as e2e  # noqa: E402  (the shop's process handling and HTTP helpers)
from children import run_tests  # noqa: E402,F401  (re-exported for the test files)
from idp import node_binary  # noqa: E402

NODE_MODULES = os.path.join(HERE, "node_modules")
ROLES = ("gateway", "orders", "inventory")
CONTRACT = {"gateway": "shop.v1.Gateway", "orders": "shop.v1.Orders", "inventory": "shop.v1.Inventory"}
BUY = "/shop.v1.Gateway/buy"
GATEWAY_CONFIG = '[contracts."shop.v1.Gateway".operations.buy]\nmax_in_flight = 1\nmax_queue = 0\n'
# The Redocly CLI asks the network for updates and sends usage data unless told not to.
QUIET_REDOCLY = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}


def node(args, timeout=120, env=None, cwd=HERE):
    """node ARGS (the node of the idp tests: $PIT_NODE, else the one on PATH) -> CompletedProcess
    with text stdout and stderr; never raises on a non-zero exit."""
    return subprocess.run([node_binary(), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def tool(*path):
    """A file of an installed npm package, e.g. tool("typescript", "bin", "tsc")."""
    p = os.path.join(NODE_MODULES, *path)
    if not os.path.isfile(p):
        raise RuntimeError("%s is missing: run tests/openapi/install.sh (the CTest fixture openapi_install)" % p)
    return p


def binary_document(role):
    """(text, parsed) of `shop ROLE --openapi`: the document, printed without starting a host."""
    r = subprocess.run([e2e.SHOP_BIN, role, "--openapi"], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError("shop %s --openapi exited %d\n%s" % (role, r.returncode, r.stderr))
    return r.stdout, json.loads(r.stdout)


def write_json(folder, name, value):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
    return path


class AdminPorts:
    """The admin listener of each running process, read from its `listening` log line."""

    @staticmethod
    def of(shop, role):
        lines = shop.wait_for(lambda: [l for l in shop.lines(role)
                                       if l.get("msg") == "listening" and l.get("listener") == "admin"])
        if not lines:
            raise AssertionError("%s logged no admin listener\n%s" % (role, shop.tail(role)))
        return lines[0]["port"]


class ToolShop(e2e.ShopTestCase):
    """The three shop processes (identity on, dev tokens); the gateway admits one buy at a time."""

    system_name = "openapi"

    @classmethod
    def setUpClass(cls):
        path = os.path.join(e2e.LOG_ROOT, cls.system_name + "-gateway.toml")
        with open(path, "w") as f:
            f.write(GATEWAY_CONFIG)
        cls.role_args = {"gateway": ["--config", path]}
        super().setUpClass()
        cls.folder = os.path.join(e2e.LOG_ROOT, cls.system_name + "-files")
        os.makedirs(cls.folder, exist_ok=True)
        cls.admin = {role: AdminPorts.of(cls.shop, role) for role in ROLES}
        cls.ports = {role: cls.shop.ports[role] for role in ROLES}

    def tearDown(self):
        dead = {role: p.returncode for role, p in self.shop.procs.items() if p.poll() is not None}
        if dead:
            self.fail("processes died during the test: %s\n%s" % (dead, "\n".join(self.shop.tail(r) for r in dead)))

    @classmethod
    def served_document(cls, role):
        """(text, parsed) of GET /openapi.json on the role's admin listener."""
        r = e2e.http_call(cls.admin[role], "/openapi.json", method="GET", content_type=None, headers={"Authorization": None})
        if r.status != 200:
            raise AssertionError("GET /openapi.json of %s: %r" % (role, r))
        return r.text, r.json()

    @classmethod
    def call(cls, role, path, body, headers=None):
        return e2e.http_call(cls.ports[role], path, body, headers=headers)

    @classmethod
    def admitted_call(cls, role, path, body, headers=None, within_s=10.0):
        """A call that is not meant to be refused: a retryable 503 is retried, as a client
        would. The gateway's only slot is freed when the previous buy's implementation
        returns, which may be just after its caller got the reply."""
        deadline = time.monotonic() + within_s
        while True:
            r = cls.call(role, path, body, headers)
            if r.status != 503 or r.header("Retry-After") is None or time.monotonic() > deadline:
                return r
            time.sleep(0.05)

    @classmethod
    def refused_buy(cls, body, headers=None, hold_s=3.0):
        """A buy the gateway refuses (503): while a buy of slow-sku holds its only slot, the
        same buy is sent until it is refused. Returns (the refused response, the slow one's).
        Bounded: fails after hold_s if no call was ever refused."""
        slow = {}

        def hold():
            # The slow buy itself may meet the slot still held by the previous call (see
            # admitted_call): it is sent again until admitted, within the bound.
            slow["r"] = cls.admitted_call("gateway", BUY, {"sku": "slow-sku"}, {"Pit-Timeout": "%dm" % int(hold_s * 1000)},
                                          within_s=hold_s / 2)

        t = threading.Thread(target=hold)
        t.start()
        refused = None
        try:
            deadline = time.monotonic() + hold_s
            while time.monotonic() < deadline and t.is_alive():
                r = cls.call("gateway", BUY, body, headers)
                if r.status == 503:
                    refused = r
                    break
                time.sleep(0.02)
        finally:
            t.join(timeout=hold_s + 10)
        if refused is None:
            raise AssertionError("no buy was refused while slow-sku held the gateway's only slot: %r" % slow.get("r"))
        return refused, slow.get("r")


def main(argv):
    """The test files' main: the shop binary from argv, skip (77) without node."""
    args = list(argv)
    if args and os.path.isfile(args[0]):
        e2e.SHOP_BIN = os.path.abspath(args.pop(0))
    if not node_binary():
        print("node is not installed: skipped (scripts/deps.sh installs it)", file=sys.stderr)
        return 77  # CTest's SKIP_RETURN_CODE
    print("shop binary: %s\nlogs: %s" % (e2e.SHOP_BIN, e2e.LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(args, e2e.LOG_ROOT)
