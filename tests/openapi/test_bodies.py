#!/usr/bin/env python3
"""Real bodies, recorded from the running shop (gateway -> orders -> inventory, identity on),
validate with Ajv (JSON Schema 2020-12, strict) against the schema the process's own OpenAPI
document (GET /openapi.json) gives for that operation and status:

  - requests the shop accepted, and the replies: successes of every operation;
  - declared faults (problem+json): not_found 404, resource_exhausted 429, invalid_argument 400;
  - what the runtime answers on its own: 400 for a body that does not decode, 401 without a
    token, 403 without the scope, 500 for a masked failure, 503 refused by admission (with
    Retry-After), 504 past the caller's deadline;
  - and the other way round: a request body the shop refused with 400 is invalid under the
    request schema too, and a reply or a problem with a field of the wrong type is rejected
    (so this check can fail).

Usage: test_bodies.py SHOP_BINARY [unittest args...]
"""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_shop as shop  # noqa: E402
from openapi_shop import e2e  # noqa: E402

PLACE = "/shop.v1.Orders/place"
RESERVE = "/shop.v1.Inventory/reserve"
STOCK = "/shop.v1.Inventory/stock"


def media_type(resp):
    return (resp.header("Content-Type") or "").split(";")[0].strip()


class RecordedBodies(shop.ToolShop):
    system_name = "openapi-bodies"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.documents = {role: shop.write_json(cls.folder, role + ".openapi.json", cls.served_document(role)[1])
                         for role in shop.ROLES}
        cls.records = {role: [] for role in shop.ROLES}  # validated against that role's document
        cls.responses = {}
        cls.record_exchanges()
        cls.results = {}
        for role, records in cls.records.items():
            path = shop.write_json(cls.folder, role + ".records.json", records)
            r = shop.node(["validate_bodies.mjs", cls.documents[role], path])
            try:
                results = json.loads(r.stdout)
            except ValueError:
                raise AssertionError("validate_bodies.mjs printed no JSON (exit %d)\n%s\n%s"
                                     % (r.returncode, r.stdout, r.stderr))
            for record, result in zip(records, results):
                cls.results[(role, record["name"])] = (record, result)

    # -- recording ------------------------------------------------------------------------

    @classmethod
    def exchange(cls, role, name, path, body, expect_status, headers=None, request_valid=True):
        """One call: its request body and its response body become records of `role`."""
        r = cls.admitted_call(role, path, body, headers)
        cls.responses[name] = r
        if r.status != expect_status:
            raise AssertionError("%s: expected %d, the shop answered %r" % (name, expect_status, r))
        cls.record(role, name, path, r, request=body, request_valid=request_valid)
        return r

    @classmethod
    def record(cls, role, name, path, r, request=None, request_valid=True):
        if request is not None:
            cls.records[role].append({"name": name + " request", "path": path, "kind": "request", "body": request,
                                      "expect_valid": request_valid})
        cls.records[role].append({"name": name + " response", "path": path, "kind": "response", "status": r.status,
                                  "content_type": media_type(r), "body": r.json(), "expect_valid": True})

    @classmethod
    def record_exchanges(cls):
        x = cls.exchange
        # Successes of every operation, each on its own process.
        x("gateway", "buy", shop.BUY, {"sku": "apple", "quantity": 2}, 200)
        x("gateway", "buy with the default quantity", shop.BUY, {"sku": "apple"}, 200)
        # place is deduplicated, its key required (docs/durability.md): each call its own key.
        x("orders", "place", PLACE, {"sku": "apple", "quantity": 1}, 200,
          headers={"Idempotency-Key": e2e.new_id("place")})
        x("inventory", "reserve", RESERVE, {"sku": "apple", "quantity": 1}, 200)
        x("inventory", "stock", STOCK, {"sku": "apple"}, 200)
        # Declared faults.
        x("gateway", "buy an unknown sku", shop.BUY, {"sku": "no-such-sku", "quantity": 1}, 404)
        x("gateway", "buy more than there is", shop.BUY, {"sku": "apple", "quantity": 1000000}, 429)
        x("gateway", "buy nothing", shop.BUY, {"sku": "apple", "quantity": 0}, 400)
        x("orders", "place an unknown sku", PLACE, {"sku": "no-such-sku", "quantity": 1}, 404,
          headers={"Idempotency-Key": e2e.new_id("place")})
        x("inventory", "stock of an unknown sku", STOCK, {"sku": "no-such-sku"}, 404)
        # The runtime's own answers. A body that does not decode is invalid for the schema too.
        x("gateway", "buy without a sku", shop.BUY, {"quantity": 1}, 400, request_valid=False)
        x("gateway", "buy with a number for a sku", shop.BUY, {"sku": 5, "quantity": 1}, 400, request_valid=False)
        x("gateway", "buy with a string for a quantity", shop.BUY, {"sku": "apple", "quantity": "2"}, 400,
          request_valid=False)
        x("gateway", "buy without a token", shop.BUY, {"sku": "apple"}, 401, headers={"Authorization": None})
        x("gateway", "buy without the scope", shop.BUY, {"sku": "apple"}, 403,
          headers=e2e.dev_identity(e2e.SHOP_BIN, e2e.LOG_ROOT).headers(scope="orders.place"))
        x("gateway", "buy what breaks deep inside", shop.BUY, {"sku": "cursed-sku"}, 500)
        x("gateway", "buy past the deadline", shop.BUY, {"sku": "slow-sku"}, 504, headers={"Pit-Timeout": "200m"})
        refused, slow = cls.refused_buy({"sku": "apple"})
        cls.responses["refused"] = refused
        cls.record("gateway", "buy refused", shop.BUY, refused)
        cls.record("gateway", "buy holding the only slot", shop.BUY, slow)
        # Bodies of the wrong shape, which the schemas must reject.
        receipt = copy.deepcopy(cls.responses["buy"].json())
        receipt["remaining_stock"] = str(receipt["remaining_stock"])
        cls.records["gateway"].append({"name": "a receipt with a string for remaining_stock", "path": shop.BUY,
                                       "kind": "response", "status": 200, "content_type": "application/json",
                                       "body": receipt, "expect_valid": False})
        problem = copy.deepcopy(cls.responses["buy an unknown sku"].json())
        problem["status"] = "404"
        cls.records["gateway"].append({"name": "a problem with a string for status", "path": shop.BUY,
                                       "kind": "response", "status": 404, "content_type": "application/problem+json",
                                       "body": problem, "expect_valid": False})

    # -- the checks -----------------------------------------------------------------------

    def check(self, names, role="gateway"):
        for name in names:
            with self.subTest(name):
                record, result = self.results[(role, name)]
                self.assertNotIn("schema_error", result, "no schema for %s: %s" % (name, result.get("schema_error")))
                if record["expect_valid"]:
                    self.assertTrue(result["valid"], "%s does not match its schema:\n%s\nbody: %s"
                                    % (name, json.dumps(result["errors"], indent=1), json.dumps(record["body"])))
                else:
                    self.assertFalse(result["valid"], "%s matches its schema: %s" % (name, json.dumps(record["body"])))

    def test_successes_of_every_operation_match_their_schemas(self):
        self.check(["buy request", "buy response", "buy with the default quantity request",
                    "buy with the default quantity response"])
        self.check(["place request", "place response"], "orders")
        self.check(["reserve request", "reserve response", "stock request", "stock response"], "inventory")

    def test_declared_faults_match_their_problem_schemas(self):
        for name in ("buy an unknown sku", "buy more than there is", "buy nothing"):
            self.assertEqual(media_type(self.responses[name]), "application/problem+json", self.responses[name])
        self.check(["buy an unknown sku response", "buy more than there is response", "buy nothing response"])
        self.check(["place an unknown sku response"], "orders")
        self.check(["stock of an unknown sku response"], "inventory")

    def test_the_runtimes_own_answers_match_their_schemas(self):
        self.check(["buy without a sku response", "buy with a number for a sku response",
                    "buy with a string for a quantity response", "buy without a token response",
                    "buy without the scope response", "buy what breaks deep inside response",
                    "buy past the deadline response"])

    def test_a_refused_call_is_a_503_that_matches_its_schema(self):
        refused = self.responses["refused"]
        self.assertEqual(refused.status, 503, refused)
        self.assertEqual(refused.header("Retry-After"), "1", refused)
        self.assertEqual(refused.json()["code"], "unavailable", refused)
        self.check(["buy refused response", "buy holding the only slot response"])

    def test_bodies_the_shop_refused_with_400_are_invalid_under_the_request_schema(self):
        self.check(["buy without a sku request", "buy with a number for a sku request",
                    "buy with a string for a quantity request"])

    def test_a_field_of_the_wrong_type_is_rejected(self):
        self.check(["a receipt with a string for remaining_stock", "a problem with a string for status"])
        _, result = self.results[("gateway", "a receipt with a string for remaining_stock")]
        self.assertIn(("/remaining_stock", "type"), [(e["instancePath"], e["keyword"]) for e in result["errors"]],
                      result)


if __name__ == "__main__":
    sys.exit(shop.main(sys.argv[1:]))
