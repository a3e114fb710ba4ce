#!/usr/bin/env python3
"""End-to-end identity with a REAL identity provider: the example shop as three processes,
each its own client at tests/idp (npm oidc-provider), called from outside with the
provider's tokens.

    alice-app --token--> gateway --exchange--> orders --exchange--> inventory
                              \\________ each: keys from the provider's JWKS URL ________/

Each process is configured with auth.issuer and auth.jwks_url from the provider,
auth.plaintext_bearer (loopback), and auth.token_url/client_id/client_secret: its own
identity, so its outbound identity is `exchange` (the default with a token URL). Proves:
  - a real token is accepted end to end across the three processes;
  - a stranger (no token, or a token for another audience) is refused 401, a token without
    the operation's scope 403, and nothing reaches the next process;
  - token exchange across two hops: orders and inventory audit the original caller as the
    subject, with the actor chain (gateway, then orders) recorded;
  - a key rotation at the provider costs exactly one JWKS fetch per process;
  - a provider that is down before the services start: calls with a token get 503 with
    Retry-After, never 200.

Usage: test_shop_identity.py SHOP_BINARY [unittest args...]   (or $PIT_SHOP_BIN)
Exit 77 (CTest: skipped) when node is not installed.
"""

import os
import re
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, HERE)
import test_shop as e2e  # noqa: E402  (the shop's process handling and HTTP helpers)
from children import run_tests, shop_from_argv  # noqa: E402
from idp import Idp, decode, http, node_binary  # noqa: E402

GATEWAY = "urn:pit:shop.v1.Gateway"
ORDERS = "urn:pit:shop.v1.Orders"
INVENTORY = "urn:pit:shop.v1.Inventory"
# What alice's application may ask for at the gateway: the scopes of the whole purchase
# (token exchange narrows them to each downstream resource's), and one that buys nothing.
ALICE_SCOPES = "shop.buy orders.place inventory.reserve"
# Unknown-kid refetches are rate-limited per process; short here, so the rotation test need
# not wait out the default 5 s after the start-up fetch.
MIN_REFETCH_MS = 300

IDP_CONFIG = {
    "alg": "ES256",
    "resources": {
        # No "audience": a token's aud is the indicator itself, urn:pit:<contract>, which pit
        # accepts as the contract's audience.
        GATEWAY: {"scope": ALICE_SCOPES + " shop.browse"},
        ORDERS: {"scope": "orders.place inventory.reserve"},
        INVENTORY: {"scope": "inventory.reserve inventory.read"},
    },
    "clients": [
        {"client_id": "alice-app", "client_secret": "alice-secret", "resources": [GATEWAY, ORDERS]},
        # Each process is its own client; it may exchange only tokens meant for itself.
        {"client_id": "gateway", "client_secret": "gateway-secret", "exchange": True, "accepts": [GATEWAY]},
        {"client_id": "orders", "client_secret": "orders-secret", "exchange": True, "accepts": [ORDERS]},
        {"client_id": "inventory", "client_secret": "inventory-secret", "exchange": True, "accepts": [INVENTORY]},
    ],
}


class IdpShop(e2e.ShopSystem):
    """The three processes configured against the provider (no dev key)."""

    def __init__(self, name, idp):
        super().__init__(name)
        self.idp = idp
        self.started_at = None

    def role_environment(self, role):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIT_AUTH_", "PIT_AUDIT_"))}
        env.update({
            "PIT_AUTH_ISSUER": self.idp.issuer,
            "PIT_AUTH_JWKS_URL": self.idp.jwks_uri,
            "PIT_AUTH_PLAINTEXT_BEARER": "true",
            "PIT_AUTH_JWKS_MIN_REFETCH_MS": str(MIN_REFETCH_MS),
            "PIT_AUTH_TOKEN_URL": self.idp.token_endpoint,
            "PIT_AUTH_CLIENT_ID": role,
            "PIT_AUTH_CLIENT_SECRET": role + "-secret",
            "PIT_AUDIT_PATH": self.audit_path(role),
        })
        return env

    def start(self):
        self.started_at = time.monotonic()
        super().start()

    def admin_port(self, role):
        ports = [l.get("port") for l in self.lines(role) if l.get("msg") == "listening" and l.get("listener") == "admin"]
        return ports[0]

    def admin_get(self, role, path):
        status, _, body = http("GET", "http://127.0.0.1:%d%s" % (self.admin_port(role), path))
        return status, body.decode(errors="replace")

    def jwks_fetches(self, role):
        """The process's own count of key-set fetches (pit_auth_jwks_fetches_total, every result)."""
        _, text = self.admin_get(role, "/metrics")
        return sum(float(v) for v in re.findall(r"^pit_auth_jwks_fetches_total\{[^}]*\} (\S+)$", text, re.M))


def bearer(token):
    return {"Authorization": "Bearer " + token}


class IdentityTestCase(e2e.ShopTestCase):
    system_name = "idp"

    @classmethod
    def setUpClass(cls):
        cls.idp = Idp(IDP_CONFIG, log_dir=os.path.join(e2e.LOG_ROOT, cls.system_name)).start()
        cls.shop = IdpShop(cls.system_name, cls.idp)
        try:
            cls.before_shop_starts()
            cls.shop.start()
        except BaseException:
            cls.shop.kill()
            cls.idp.stop()
            raise
        cls.gateway = cls.shop.ports["gateway"]

    @classmethod
    def before_shop_starts(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.shop.stop()
        cls.idp.stop()

    def tearDown(self):
        dead = {role: p.returncode for role, p in self.shop.procs.items() if p.poll() is not None}
        if dead:
            self.fail("processes died during the test: %s\n%s" % (dead, "\n".join(self.shop.tail(r) for r in dead)))

    def alice(self, scope=ALICE_SCOPES, resource=GATEWAY):
        return self.idp.token("alice-app", "alice-secret", resource, scope)

    def audited(self, role, cid):
        records = self.shop.wait_for(lambda: self.shop.audit(role, cid))
        self.assertEqual(len(records), 1, "%s: %s\n%s" % (role, records, self.shop.dump(cid)))
        return records[0]


class RealIdentityProvider(IdentityTestCase):
    def test_a_real_token_is_accepted_end_to_end_across_three_processes(self):
        cid = e2e.new_id("idp-ok")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, **bearer(self.alice())})
        self.assertEqual(r.status, 200, "%r\n%s" % (r, self.shop.dump(cid)))
        self.assertRegex(r.json()["order_id"], r"^o-r-\d+$", r)
        for role in e2e.ShopSystem.ROLES:
            rec = self.audited(role, cid)
            self.assertEqual((rec["decision"], rec["issuer"], rec["subject"], rec["auth"]),
                             ("allow", self.idp.issuer, "alice-app", "bearer"), rec)

    def test_token_exchange_across_two_hops_records_the_actor_chain(self):
        cid = e2e.new_id("idp-chain")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, **bearer(self.alice())})
        self.assertEqual(r.status, 200, "%r\n%s" % (r, self.shop.dump(cid)))
        gateway, orders, inventory = (self.audited(role, cid) for role in ("gateway", "orders", "inventory"))
        # The caller stays the subject at every hop; each hop's token is a new one, issued to
        # the process that exchanged it, with that process added to the actor chain.
        for rec in (gateway, orders, inventory):
            self.assertEqual((rec["subject"], rec["issuer"]), ("alice-app", self.idp.issuer), rec)
        self.assertEqual(gateway["client_id"], "alice-app", gateway)
        self.assertEqual(gateway["actors"], [], gateway)
        self.assertEqual(orders["client_id"], "gateway", orders)
        self.assertEqual([a["sub"] for a in orders["actors"]], ["gateway"], orders)
        self.assertEqual(inventory["client_id"], "orders", inventory)
        # Nearest first: orders called the inventory on behalf of the gateway's caller.
        self.assertEqual([a["sub"] for a in inventory["actors"]], ["orders", "gateway"], inventory)
        self.assertEqual(len({gateway["token_hash"], orders["token_hash"], inventory["token_hash"]}), 3,
                         "three tokens: exchanged at each hop, never forwarded")

    def test_a_stranger_is_refused_401_and_reaches_no_other_process(self):
        not_for_the_gateway = self.alice(scope="orders.place", resource=ORDERS)
        cases = [("no token", {}, "Bearer"),
                 ("a real token for another audience", bearer(not_for_the_gateway), 'Bearer error="invalid_token"'),
                 ("a forged token", bearer(self.alice()[:-6] + "AAAAAA"), 'Bearer error="invalid_token"')]
        for name, headers, challenge in cases:
            with self.subTest(name):
                cid = e2e.new_id("idp-stranger")
                r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, **headers})
                self.assertProblem(r, 401, "unauthenticated")
                self.assertEqual(r.header("WWW-Authenticate"), challenge, r)
                self.assertEqual(self.audited("gateway", cid)["decision"], "deny")
                for role in ("orders", "inventory"):
                    self.assertEqual(self.shop.audit(role, cid), [], role)

    def test_a_token_without_the_operations_scope_is_refused_403(self):
        cid = e2e.new_id("idp-scope")
        r = self.buy({"sku": "apple", "quantity": 1}, {"X-Request-Id": cid, **bearer(self.alice(scope="shop.browse"))})
        self.assertProblem(r, 403, "permission_denied")
        rec = self.audited("gateway", cid)
        self.assertEqual((rec["decision"], rec["reason"], rec["subject"]), ("deny", "requirement_not_met", "alice-app"))
        for role in ("orders", "inventory"):
            self.assertEqual(self.shop.audit(role, cid), [], role)

    def test_z_key_rotation_costs_exactly_one_jwks_fetch_per_process(self):
        # Runs last (z): the rotation changes the key every later token is signed with.
        self.assertEqual(self.buy({"sku": "apple", "quantity": 1}, bearer(self.alice())).status, 200)
        time.sleep(max(0.0, self.shop.started_at + 2 * MIN_REFETCH_MS / 1000 - time.monotonic()))
        before = self.idp.stats()["jwks_fetches"]
        mine_before = {role: self.shop.jwks_fetches(role) for role in e2e.ShopSystem.ROLES}
        rotated = self.idp.rotate()
        token = self.alice()
        self.assertEqual(decode(token)[0]["kid"], rotated["kid"], "signed with the new key")

        # Eight calls at once with the new key's token, then four more one by one. An unknown
        # sku: each call is authenticated at every hop, answered 404 by the inventory.
        results = []

        def one():
            results.append(self.buy({"sku": "plum", "quantity": 1}, bearer(token)).status)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        for _ in range(4):
            one()
        self.assertEqual(results, [404] * 12, "every call authenticated at every hop after the refetch")
        mine_after = {role: self.shop.jwks_fetches(role) for role in e2e.ShopSystem.ROLES}
        self.assertEqual({role: mine_after[role] - mine_before[role] for role in mine_after},
                         {role: 1 for role in e2e.ShopSystem.ROLES}, "one refetch in each process")
        self.assertEqual(self.idp.stats()["jwks_fetches"] - before, 3, "the provider served exactly those three")


class ProviderDownBeforeStart(IdentityTestCase):
    """The provider issued a token, then stopped before the services started: they have no
    key set at all. A call with a token is 503 + Retry-After at every process, never 200."""

    system_name = "idp-down"

    @classmethod
    def before_shop_starts(cls):
        cls.token = cls.idp.token("alice-app", "alice-secret", GATEWAY, ALICE_SCOPES)
        cls.orders_token = cls.idp.token("alice-app", "alice-secret", ORDERS, "orders.place")
        cls.idp.stop()

    def test_a_call_with_a_token_is_503_with_retry_after_never_200(self):
        calls = [("gateway", "/shop.v1.Gateway/buy", self.token),
                 ("orders", "/shop.v1.Orders/place", self.orders_token)]
        for role, path, token in calls:
            for _ in range(3):
                with self.subTest(role):
                    r = e2e.http_call(self.shop.ports[role], path, {"sku": "apple", "quantity": 1}, bearer(token))
                    problem = self.assertProblem(r, 503, "unavailable")
                    self.assertTrue(problem.get("retryable"), r)
                    self.assertTrue(r.header("Retry-After"), r)
        rec = self.shop.wait_for(lambda: [a for a in self.shop.audit("gateway") if a["reason"] == "keys_unavailable"])
        self.assertTrue(rec, self.shop.audit("gateway"))
        self.assertEqual(rec[0]["decision"], "deny", rec)
        self.assertEqual(self.shop.audit("inventory"), [], "nothing got past the first hop")

    def test_readyz_says_the_keys_are_missing(self):
        for role in e2e.ShopSystem.ROLES:
            status, text = self.shop.admin_get(role, "/readyz")
            self.assertEqual(status, 503, text)
            self.assertIn("identity_keys", text)

    def test_a_stranger_is_still_refused_401(self):
        r = self.buy({"sku": "apple", "quantity": 1}, {})
        self.assertProblem(r, 401, "unauthenticated")


def main():
    binary, rest = shop_from_argv(sys.argv[1:], e2e.SHOP_BIN)
    if binary is None:
        return 2
    e2e.SHOP_BIN = binary
    if not node_binary():
        print("node is not installed: skipped (scripts/deps.sh installs it)", file=sys.stderr)
        return 77  # CTest's SKIP_RETURN_CODE
    print("shop binary: %s\nlogs: %s" % (e2e.SHOP_BIN, e2e.LOG_ROOT), file=sys.stderr, flush=True)
    return run_tests(rest, e2e.LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
