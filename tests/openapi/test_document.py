#!/usr/bin/env python3
"""The shop's OpenAPI documents, checked by tools no one here wrote (npm, pinned by
tests/openapi/package-lock.json):

  - `shop ROLE --openapi` prints exactly the document the running process serves on its admin
    listener (GET /openapi.json), for each of the three processes;
  - each document (served and printed) validates with @apidevtools/swagger-parser and with
    @seriousme/openapi-schema-validator (OpenAPI 3.1), and every schema in it compiles under
    strict Ajv (JSON Schema 2020-12);
  - each lints clean (no error, no warning) under @redocly/cli with tests/openapi/redocly.yaml;
  - the tools really judge: a document with a broken $ref fails each validator and the lint.

Usage: test_document.py SHOP_BINARY [unittest args...]
"""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_shop as shop  # noqa: E402


class ShopDocuments(shop.ToolShop):
    system_name = "openapi-document"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.files = {}  # served by the running process
        cls.printed_files = {}  # printed by `shop ROLE --openapi`
        for role in shop.ROLES:
            cls.files[role] = shop.write_json(cls.folder, role + ".openapi.json", cls.served_document(role)[1])
            cls.printed_files[role] = shop.write_json(cls.folder, role + ".printed.openapi.json",
                                                      shop.binary_document(role)[1])

    def test_the_binary_prints_the_document_the_admin_listener_serves(self):
        for role in shop.ROLES:
            with self.subTest(role):
                printed_text, printed = shop.binary_document(role)
                served_text, served = self.served_document(role)
                self.assertEqual(printed, served, "shop %s --openapi and GET /openapi.json differ" % role)
                self.assertEqual(printed_text, served_text + "\n", "the same JSON, byte for byte (printed: a line)")

    def test_each_document_describes_its_contract(self):
        for role in shop.ROLES:
            with self.subTest(role):
                with open(self.files[role]) as f:
                    doc = json.load(f)
                self.assertTrue(doc["openapi"].startswith("3.1."), doc["openapi"])
                paths = sorted(doc["paths"])
                self.assertTrue(paths, "no operation in the %s document" % role)
                for path in paths:
                    self.assertTrue(path.startswith("/%s/" % shop.CONTRACT[role]), path)
                    self.assertIn("post", doc["paths"][path], path)

    def test_each_document_validates_with_swagger_parser_and_openapi_schema_validator(self):
        files = [self.files[role] for role in shop.ROLES] + [self.printed_files[role] for role in shop.ROLES]
        r = shop.node(["validate_document.mjs", *files])
        reports = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        self.assertEqual(len(reports), len(files), "one report per document\n%s\n%s" % (r.stdout, r.stderr))
        for report in reports:
            with self.subTest(report["file"]):
                self.assertEqual(report["swagger_parser"], "ok", report)
                self.assertEqual(report["schema_validator"], "ok", report)
                self.assertEqual(report["ajv_strict"], "ok", report)
        self.assertEqual(r.returncode, 0, r.stderr)

    def lint(self, path):
        r = shop.node([shop.tool("@redocly", "cli", "bin", "cli.js"), "lint", "--config", "redocly.yaml",
                       "--format=json", path], env=shop.QUIET_REDOCLY)
        try:
            return r, json.loads(r.stdout)
        except ValueError:
            self.fail("redocly lint printed no JSON (exit %d)\n%s\n%s" % (r.returncode, r.stdout, r.stderr))

    def test_each_document_lints_clean_under_redocly(self):
        for role in shop.ROLES:
            with self.subTest(role):
                r, result = self.lint(self.files[role])
                self.assertEqual(result["problems"], [], "redocly lint found problems in the %s document" % role)
                self.assertEqual((result["totals"]["errors"], result["totals"]["warnings"]), (0, 0), result["totals"])
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_tools_reject_a_document_with_a_broken_reference(self):
        # So that the checks above can fail: the gateway's document with its request body
        # pointing at a schema that does not exist.
        with open(self.files["gateway"]) as f:
            doc = json.load(f)
        broken = copy.deepcopy(doc)
        media = broken["paths"][shop.BUY]["post"]["requestBody"]["content"]["application/json"]
        media["schema"] = {"$ref": "#/components/schemas/NoSuchMessage"}
        path = shop.write_json(self.folder, "broken.openapi.json", broken)
        r = shop.node(["validate_document.mjs", path])
        report = json.loads(r.stdout.splitlines()[0])
        self.assertNotEqual(r.returncode, 0, report)
        self.assertIn("NoSuchMessage", report["swagger_parser"], report)
        self.assertIn("NoSuchMessage", json.dumps(report["schema_validator"]), report)
        self.assertIn("NoSuchMessage", json.dumps(report["ajv_strict"]), report)
        r, result = self.lint(path)
        self.assertNotEqual(r.returncode, 0, result)
        self.assertIn("no-unresolved-refs", [p["ruleId"] for p in result["problems"]], result)


if __name__ == "__main__":
    sys.exit(shop.main(sys.argv[1:]))
