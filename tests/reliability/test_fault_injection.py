#!/usr/bin/env python3
"""Fault injection end to end: the example shop as three real processes on loopback, with
faults and latency injected into the inventory (the deepest hop) by configuration only.

    gateway --HTTP--> orders --HTTP--> inventory   (inventory's reserve: injected)

Proves, from outside and through the public wire, that
  - an injected code the operations declare passes through every hop with its code;
  - an injected code they do not declare is masked to `internal` at the first hop and
    stays masked (an injected `unavailable` never reaches the outside as a retryable 503);
  - injected latency is still bounded by the caller's deadline at every hop;
  - the master switch off means nothing is injected, whatever the operations say.

Usage: test_fault_injection.py SHOP_BINARY [unittest args...]
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import test_shop as e2e  # noqa: E402  (the shop's process handling and HTTP helpers)
from children import run_tests  # noqa: E402

RESERVE = '[contracts."shop.v1.Inventory".operations.reserve]\n'


class InjectedShop(e2e.ShopTestCase):
    """A shop whose inventory runs with `inventory_config` (TOML)."""

    inventory_config = ""

    @classmethod
    def setUpClass(cls):
        path = os.path.join(e2e.LOG_ROOT, cls.system_name + "-inventory.toml")
        with open(path, "w") as f:
            f.write(cls.inventory_config)
        cls.role_args = {"inventory": ["--config", path]}
        super().setUpClass()

    def tearDown(self):
        dead = {role: p.returncode for role, p in self.shop.procs.items() if p.poll() is not None}
        if dead:
            self.fail("processes died during the test: %s\n%s" % (dead, "\n".join(self.shop.tail(r) for r in dead)))

    def server_line(self, role, cid):
        lines = self.shop.wait_for(lambda: [l for l in self.shop.calls(role, cid) if l.get("kind") == "server"])
        self.assertTrue(lines, "%s has no call line\n%s" % (role, self.shop.dump(cid)))
        return lines[0]

    def assertInjectionAnnounced(self):
        announced = self.shop.wait_for(lambda: [l for l in self.shop.lines("inventory")
                                                if l.get("msg") == "fault injection is on"])
        self.assertTrue(announced, "the inventory logs that injection is on\n" + self.shop.tail("inventory"))
        self.assertEqual(announced[0].get("level"), "warn", announced[0]["_raw"])
        self.assertEqual(announced[0].get("target"), "shop.v1.Inventory/reserve", announced[0]["_raw"])


class DeclaredCodePassesThrough(InjectedShop):
    system_name = "inject-declared"
    inventory_config = "[fault_injection]\nenabled = true\n\n" + RESERVE + \
        'inject_percent = 100\ninject_code = "resource_exhausted"\n'

    def test_a_declared_injected_code_reaches_the_outside_with_its_code(self):
        self.assertInjectionAnnounced()
        before = self.stock("apple")
        cid = e2e.new_id("inject-declared")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid})
        problem = self.assertProblem(r, 429, "resource_exhausted")
        self.assertEqual(problem["detail"], "injected fault", r)
        self.assertEqual(self.stock("apple"), before, "the reservation never ran")
        for role in ("gateway", "orders", "inventory"):
            self.assertEqual(self.server_line(role, cid).get("code"), "resource_exhausted",
                             "declared at every hop\n" + self.shop.dump(cid))
            self.assertFalse([l for l in self.shop.with_id(role, cid) if l.get("msg") == "fault masked"],
                             "%s masked a declared fault\n%s" % (role, self.shop.dump(cid)))


class UndeclaredCodeIsMasked(InjectedShop):
    system_name = "inject-undeclared"
    inventory_config = "[fault_injection]\nenabled = true\n\n" + RESERVE + \
        'inject_percent = 100\ninject_code = "unavailable"\n'

    def test_an_undeclared_injected_code_is_masked_at_the_first_hop_and_stays_internal(self):
        cid = e2e.new_id("inject-undeclared")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid})
        problem = self.assertProblem(r, 500, "internal")
        self.assertNotIn("retryable", problem, "an injected unavailable must not turn into a retryable 503")
        self.assertIsNone(r.header("Retry-After"), r)
        self.assertEqual(self.server_line("inventory", cid).get("code"), "internal", self.shop.dump(cid))
        masked = self.shop.wait_for(lambda: [l for l in self.shop.with_id("inventory", cid)
                                             if l.get("msg") == "fault masked"])
        self.assertTrue(masked, "the inventory logs what it masked\n" + self.shop.dump(cid))
        self.assertEqual(masked[0].get("original_code"), "unavailable", masked[0]["_raw"])
        self.assertEqual(masked[0].get("original_message"), "injected fault", masked[0]["_raw"])
        for role in ("orders", "gateway"):
            self.assertEqual(self.server_line(role, cid).get("code"), "internal", self.shop.dump(cid))

    def test_other_operations_are_not_injected(self):
        self.assertIsInstance(self.stock("apple"), int)


class InjectedLatencyIsBoundedByTheDeadline(InjectedShop):
    system_name = "inject-latency"
    inventory_config = "[fault_injection]\nenabled = true\n\n" + RESERVE + \
        "inject_percent = 100\ninject_delay_ms = 5000\n"

    def test_the_callers_deadline_bounds_injected_latency_at_every_hop(self):
        cid = e2e.new_id("inject-latency")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, "Pit-Timeout": "300m"})
        self.assertProblem(r, 504, "deadline_exceeded")
        self.assertLess(r.elapsed, 2.0, "answered at the 300 ms deadline, not after the injected 5 s")
        gateway = self.server_line("gateway", cid)
        self.assertEqual(gateway.get("code"), "deadline_exceeded", self.shop.dump(cid))
        for role in ("orders", "inventory"):
            line = self.server_line(role, cid)
            # Ended by its own deadline, or by its caller hanging up first (cancelled).
            self.assertIn(line.get("code"), ("deadline_exceeded", "cancelled"), self.shop.dump(cid))
            self.assertLess(line.get("duration_us", 10 ** 9), 2_000_000,
                            "the injected delay was cancelled at the deadline\n" + self.shop.dump(cid))

    def test_without_a_deadline_of_the_callers_the_operations_timeout_bounds_it(self):
        # orders/place declares a 2 s timeout: the 5 s injected below it cannot outlast it.
        start = time.monotonic()
        r = self.buy({"sku": "apple", "quantity": 1})
        self.assertProblem(r, 504, "deadline_exceeded")
        self.assertLess(time.monotonic() - start, 4.5, r)


class SwitchedOff(InjectedShop):
    system_name = "inject-off"
    inventory_config = "[fault_injection]\nenabled = false\n\n" + RESERVE + \
        'inject_percent = 100\ninject_code = "unavailable"\ninject_delay_ms = 5000\n'

    def test_nothing_is_injected_without_the_master_switch(self):
        r = self.buy({"sku": "apple", "quantity": 1})
        self.assertEqual(r.status, 200, r)
        self.assertLess(r.elapsed, 4.0, r)
        off = self.shop.wait_for(lambda: [l for l in self.shop.lines("inventory")
                                          if "switched off" in l.get("msg", "")])
        self.assertTrue(off, "the inventory says injection is configured but off\n" + self.shop.tail("inventory"))


def main():
    args = sys.argv[1:]
    if args and os.path.isfile(args[0]):
        e2e.SHOP_BIN = os.path.abspath(args.pop(0))
    print("shop binary: %s\nlogs: %s" % (e2e.SHOP_BIN, e2e.LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(args, e2e.LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
