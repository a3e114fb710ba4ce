"""The tests' identity provider (tests/idp/idp.mjs) does what the other tests rely on: RFC 9068
access tokens for a requested resource, its JWKS, RFC 8693 token exchange with an act chain,
key rotation, its fetch counters, and a clean exit on SIGTERM."""

import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import run_tests  # noqa: E402
from idp import Idp, IdpError, decode, http_json, node_binary  # noqa: E402

ORDERS = "urn:pit:shop.v1.Orders"
INVENTORY = "urn:pit:shop.v1.Inventory"
GATEWAY = "urn:pit:shop.v1.Gateway"

CONFIG = {
    "resources": {
        GATEWAY: {"scope": "orders.place inventory.reserve", "audience": "shop.v1.Gateway"},
        ORDERS: {"scope": "orders.place orders.read", "audience": "shop.v1.Orders", "ttl": 120},
        INVENTORY: {"scope": "inventory.reserve"},  # audience: the indicator itself
    },
    "clients": [
        {"client_id": "alice-app", "client_secret": "alice-secret", "resources": [GATEWAY]},
        {"client_id": "gateway", "client_secret": "gateway-secret", "exchange": True, "accepts": ["shop.v1.Gateway"]},
        {"client_id": "orders", "client_secret": "orders-secret", "exchange": True, "accepts": ["shop.v1.Orders"],
         "token_endpoint_auth_method": "client_secret_post"},
    ],
}


class IdpSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = Idp(CONFIG, log_dir=LOG_ROOT).start()

    @classmethod
    def tearDownClass(cls):
        cls.idp.stop()

    def test_discovery_names_the_issuer_token_endpoint_and_jwks(self):
        d = self.idp.discovery()
        self.assertEqual(d["issuer"], self.idp.issuer)
        self.assertEqual(d["token_endpoint"], self.idp.token_endpoint)
        self.assertEqual(d["jwks_uri"], self.idp.jwks_uri)
        self.assertIn(TOKEN_EXCHANGE, d["grant_types_supported"])

    def test_client_credentials_token_is_an_rfc9068_access_token_for_the_resource(self):
        reply = self.idp.token_response("alice-app", "alice-secret", GATEWAY, "orders.place")
        self.assertEqual(reply["token_type"], "Bearer")
        header, claims = decode(reply["access_token"])
        self.assertEqual(header["typ"], "at+jwt")
        self.assertEqual(header["alg"], "RS256")
        self.assertIn(header["kid"], [k["kid"] for k in self.idp.jwks()["keys"]])
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["aud"], "shop.v1.Gateway")
        self.assertEqual(claims["scope"], "orders.place")
        self.assertEqual(claims["client_id"], "alice-app")
        self.assertEqual(claims["sub"], "alice-app")
        self.assertEqual(claims["exp"] - claims["iat"], 300)  # the default lifetime
        self.assertNotIn("act", claims)

    def test_jwks_holds_public_keys_only(self):
        for key in self.idp.jwks()["keys"]:
            self.assertEqual(key["kty"], "RSA")
            self.assertEqual(key["use"], "sig")
            for private in ("d", "p", "q", "dp", "dq", "qi"):
                self.assertNotIn(private, key)

    def test_refusals(self):
        cases = [
            ("wrong secret", lambda: self.idp.token("alice-app", "nope", GATEWAY), 401, "invalid_client"),
            ("resource not allowed to the client", lambda: self.idp.token("alice-app", "alice-secret", ORDERS),
             400, "invalid_target"),
            ("unknown resource", lambda: self.idp.token("gateway", "gateway-secret", "urn:pit:nope"), 400,
             "invalid_target"),
            ("not an absolute URI", lambda: self.idp.token("gateway", "gateway-secret", "shop.v1.Orders"), 400,
             "invalid_target"),
            ("exchange by a client without it",
             lambda: self.idp.exchange("alice-app", "alice-secret", self.alice_token(), GATEWAY), 400,
             "invalid_request"),  # oidc-provider: "requested grant type is not allowed for this client"
            ("exchange of a token not issued to the exchanging client",
             lambda: self.idp.exchange("orders", "orders-secret", self.alice_token(), INVENTORY), 400,
             "invalid_grant"),
            ("exchange of a forged token",
             lambda: self.idp.exchange("gateway", "gateway-secret", self.alice_token()[:-4] + "AAAA", ORDERS), 400,
             "invalid_grant"),
            ("exchange for a scope the subject lacks",
             lambda: self.idp.exchange("gateway", "gateway-secret", self.alice_token(), ORDERS, "orders.read"), 400,
             "invalid_scope"),
        ]
        for name, call, status, error in cases:
            with self.subTest(name):
                with self.assertRaises(IdpError) as e:
                    call()
                self.assertEqual(e.exception.status, status, e.exception.body)
                self.assertEqual(e.exception.body["error"], error, e.exception.body)

    def alice_token(self):
        return self.idp.token("alice-app", "alice-secret", GATEWAY, "orders.place inventory.reserve")

    def test_exchange_across_two_hops_keeps_the_subject_and_records_the_actor_chain(self):
        first = self.alice_token()
        hop1 = self.idp.exchange_response("gateway", "gateway-secret", first, ORDERS)
        self.assertEqual(hop1["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token")
        header, claims = decode(hop1["access_token"])
        self.assertEqual(header["typ"], "at+jwt")
        self.assertEqual(claims["sub"], "alice-app")
        self.assertEqual(claims["aud"], "shop.v1.Orders")
        self.assertEqual(claims["scope"], "orders.place")  # the subject's ∩ the resource's
        self.assertEqual(claims["client_id"], "gateway")
        self.assertEqual(claims["act"], {"sub": "gateway"})
        self.assertEqual(claims["exp"] - claims["iat"], 120)  # the resource's lifetime

        # orders authenticates with client_secret_post (the helper sends basic): by hand.
        status, _, body = http_json("POST", self.idp.token_endpoint, {
            "grant_type": TOKEN_EXCHANGE, "subject_token": hop1["access_token"], "resource": INVENTORY,
            "client_id": "orders", "client_secret": "orders-secret"})
        self.assertEqual(status, 200, body)
        _, claims2 = decode(body["access_token"])
        self.assertEqual(claims2["sub"], "alice-app")
        self.assertEqual(claims2["aud"], INVENTORY)
        self.assertNotIn("scope", claims2)  # orders.place is not an inventory scope
        self.assertEqual(claims2["act"], {"sub": "orders", "act": {"sub": "gateway"}})

    def test_rotation_adds_a_key_signs_with_it_and_can_drop_the_old(self):
        idp = Idp(CONFIG, log_dir=LOG_ROOT).start()
        try:
            old_kid = decode(idp.token("gateway", "gateway-secret", ORDERS))[0]["kid"]
            rotated = idp.rotate()
            self.assertNotEqual(rotated["kid"], old_kid)
            self.assertEqual(rotated["kids"], [rotated["kid"], old_kid])
            self.assertEqual([k["kid"] for k in idp.jwks()["keys"]], [rotated["kid"], old_kid])
            self.assertEqual(decode(idp.token("gateway", "gateway-secret", ORDERS))[0]["kid"], rotated["kid"])
            dropped = idp.rotate(drop_old=True)
            self.assertEqual([k["kid"] for k in idp.jwks()["keys"]], [dropped["kid"]])
            self.assertEqual(decode(idp.token("gateway", "gateway-secret", ORDERS))[0]["kid"], dropped["kid"])
        finally:
            idp.stop()

    def test_stats_count_jwks_fetches_and_token_requests(self):
        idp = Idp(CONFIG, log_dir=LOG_ROOT).start()
        try:
            self.assertEqual(idp.stats()["jwks_fetches"], 0)
            idp.jwks()
            idp.jwks()
            idp.token("gateway", "gateway-secret", ORDERS)
            s = idp.stats()
            self.assertEqual(s["jwks_fetches"], 2)
            self.assertEqual(s["token_requests"], 1)
        finally:
            idp.stop()

    def test_injected_failure_answers_503_with_retry_after_then_recovers(self):
        self.idp.fail_next(count=1, status=503)
        status, headers, _ = http_json("POST", self.idp.token_endpoint,
                                       {"grant_type": "client_credentials", "resource": ORDERS},
                                       ("gateway", "gateway-secret"))
        self.assertEqual(status, 503)
        self.assertEqual(headers["retry-after"], "1")
        self.assertTrue(self.idp.token("gateway", "gateway-secret", ORDERS))

    def test_es256_and_eddsa_keys(self):
        for alg, kty in (("ES256", "EC"), ("EdDSA", "OKP")):
            with self.subTest(alg), Idp(dict(CONFIG, alg=alg), log_dir=LOG_ROOT) as idp:
                header, _ = decode(idp.token("gateway", "gateway-secret", ORDERS))
                self.assertEqual(header["alg"], alg)
                self.assertEqual([k["kty"] for k in idp.jwks()["keys"]], [kty])

    def test_sigterm_exits_cleanly(self):
        idp = Idp(CONFIG, log_dir=LOG_ROOT).start()
        started = time.monotonic()
        self.assertEqual(idp.stop(), 0)
        self.assertLess(time.monotonic() - started, 10)


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
LOG_ROOT = tempfile.mkdtemp(prefix="pit-idp-smoke-")

if __name__ == "__main__":
    if not node_binary():
        print("node is not installed: skipped (scripts/deps.sh installs it)", file=sys.stderr)
        sys.exit(77)  # CTest's SKIP_RETURN_CODE
    sys.exit(run_tests(sys.argv[1:], LOG_ROOT))
