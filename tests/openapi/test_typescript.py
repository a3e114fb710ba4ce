#!/usr/bin/env python3
"""A TypeScript client of the live shop, typed only by the gateway's OpenAPI document:

  - openapi-typescript turns the document (GET /openapi.json of the running gateway) into
    types; tsc (strict, tests/openapi/ts/tsconfig.json) type-checks ts/client.mts against
    them, and node runs it with openapi-fetch: a success (a typed Receipt), a declared fault
    (404 not_found, a typed problem) and a refusal (503 unavailable with Retry-After: 1);
  - ts/wrong_type.mts, which sends a string for the int `quantity` and reads the int
    `remaining_stock` as a string, does not compile: tsc fails with exactly those two errors.

Usage: test_typescript.py SHOP_BINARY [unittest args...]
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_shop as shop  # noqa: E402
from openapi_shop import e2e  # noqa: E402

TS = os.path.join(shop.HERE, "ts")


class TypedClient(shop.ToolShop):
    system_name = "openapi-typescript"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        doc = shop.write_json(cls.folder, "gateway.openapi.json", cls.served_document("gateway")[1])
        cls.types = os.path.join(cls.folder, "shop-api.d.ts")
        # --default-non-nullable false: a field with a default is optional where the document
        # does not list it as required (a request may leave `quantity` out).
        r = shop.node([shop.tool("openapi-typescript", "bin", "cli.js"), doc, "--output", cls.types,
                       "--default-non-nullable", "false"])
        if r.returncode != 0:
            raise AssertionError("openapi-typescript failed (%d)\n%s\n%s" % (r.returncode, r.stdout, r.stderr))
        cls.out = os.path.join(cls.folder, "out")
        # The compiled client imports openapi-fetch: node finds it through this link.
        os.symlink(shop.NODE_MODULES, os.path.join(cls.folder, "node_modules"))
        cls.compiled = cls.tsc("client", "client.mts", emit=True)

    @classmethod
    def tsc(cls, name, source, emit):
        """tsc on one file of ts/ with the generated types as `shop-api`; the CompletedProcess."""
        config = {
            "extends": os.path.join(TS, "tsconfig.json"),
            "compilerOptions": {"rootDir": TS, "outDir": cls.out, "noEmit": not emit,
                                "paths": {"shop-api": [cls.types]}},
            "files": [os.path.join(TS, source)],
        }
        path = shop.write_json(cls.folder, "tsconfig.%s.json" % name, config)
        return shop.node([shop.tool("typescript", "bin", "tsc"), "--project", path], timeout=240)

    def run_client(self, mode):
        self.assertEqual(self.compiled.returncode, 0, "client.mts does not compile\n%s" % self.compiled.stdout)
        base = "http://127.0.0.1:%d" % self.ports["gateway"]
        token = e2e.dev_identity(e2e.SHOP_BIN, e2e.LOG_ROOT).token()
        r = shop.node([os.path.join(self.out, "client.mjs"), base, token, mode], cwd=self.folder)
        self.assertEqual(r.returncode, 0, "client.mjs %s\n%s\n%s" % (mode, r.stdout, r.stderr))
        return json.loads(r.stdout.strip().splitlines()[-1])

    def test_the_client_compiles_under_strict_tsc(self):
        self.assertEqual(self.compiled.returncode, 0, self.compiled.stdout + self.compiled.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "client.mjs")))

    def test_a_success_is_a_typed_receipt(self):
        seen = self.run_client("success")
        self.assertEqual(seen["status"], 200, seen)
        self.assertTrue(seen["order_id"], seen)
        self.assertIsInstance(seen["remaining_stock"], int, seen)
        self.assertTrue(seen["served_by"], seen)

    def test_a_declared_fault_is_a_typed_problem(self):
        seen = self.run_client("fault")
        self.assertEqual((seen["status"], seen["code"], seen["problem_status"]), (404, "not_found", 404), seen)
        self.assertEqual(seen["correlation_id"], "ts-fault", seen)

    def test_a_refusal_is_a_typed_503_with_retry_after(self):
        seen = self.run_client("refused")
        self.assertEqual((seen["status"], seen["code"], seen["problem_status"], seen["retryable"], seen["retry_after"]),
                         (503, "unavailable", 503, True, "1"), seen)

    def test_a_wrong_field_type_does_not_compile(self):
        r = self.tsc("wrong_type", "wrong_type.mts", emit=False)
        self.assertNotEqual(r.returncode, 0, "wrong_type.mts compiled\n" + r.stdout)
        errors = re.findall(r"^(\S*wrong_type\.mts)\((\d+),\d+\): error (TS\d+): (.*)$", r.stdout, re.M)
        self.assertEqual([(int(line), code) for _, line, code, _ in errors], [(10, "TS2322"), (12, "TS2322")],
                         r.stdout)
        self.assertIn("Type 'string' is not assignable to type 'number'", errors[0][3], r.stdout)
        self.assertIn("is not assignable to type 'string", errors[1][3], r.stdout)
        other = [l for l in r.stdout.splitlines() if "error TS" in l and "wrong_type.mts" not in l]
        self.assertEqual(other, [], "errors outside wrong_type.mts: the failure must be the wrong types alone")


if __name__ == "__main__":
    sys.exit(shop.main(sys.argv[1:]))
