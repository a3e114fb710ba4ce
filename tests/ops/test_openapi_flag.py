#!/usr/bin/env python3
"""`<service> --openapi` prints the service's OpenAPI document and starts nothing
(docs/openapi.md, "Getting the document"): exit 0, stdout exactly one JSON document, the
same whatever the listeners would be, and no port bound, not even one already taken.

The shop example's main is the documented one: `Config::from_args` reads the flag into
HostOptions::command, `Host::run()` carries it out instead of serving.

Usage: test_openapi_flag.py SHOP_BINARY [unittest args...]   (or $PIT_SHOP_BIN)
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-openapi-flag-")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import die_with_parent  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402

CONTRACT = {"gateway": "shop.v1.Gateway", "orders": "shop.v1.Orders", "inventory": "shop.v1.Inventory"}


def child_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIT_")}
    env.update(extra)
    return env


def openapi(args, env=None):
    return subprocess.run([SHOP_BIN, *args], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                          env=env or child_env(), preexec_fn=die_with_parent)


class OpenApiFlag(unittest.TestCase):
    def test_each_role_prints_its_document_and_exits_0_without_a_downstream(self):
        for role, contract in CONTRACT.items():
            with self.subTest(role):
                r = openapi([role, "--openapi"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertTrue(r.stdout.endswith("}\n"), r.stdout[-80:])
                doc = json.loads(r.stdout)  # one document, nothing else on stdout
                self.assertEqual(doc["openapi"], "3.1.0")
                self.assertEqual(doc["info"]["title"], contract)
                self.assertTrue(doc["paths"])
                for path, item in doc["paths"].items():
                    self.assertTrue(path.startswith("/%s/" % contract), path)
                    self.assertEqual(list(item), ["post"])

    def test_nothing_is_bound_not_even_a_port_already_taken(self):
        with socket.socket() as taken, socket.socket() as admin:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            admin.bind(("127.0.0.1", 0))
            admin.listen()
            ports = ["--listen", "127.0.0.1:%d" % taken.getsockname()[1],
                     "--admin", "127.0.0.1:%d" % admin.getsockname()[1]]
            r = openapi(["orders", *ports, "--inventory", "http://127.0.0.1:1", "--openapi"])
            self.assertEqual(r.returncode, 0, r.stderr)
            # The listeners do not change the document: it is what the process would serve.
            self.assertEqual(r.stdout, openapi(["orders", "--openapi"]).stdout)

    def test_the_configuration_is_read_and_its_service_keys_reach_the_info(self):
        path = os.path.join(LOG_ROOT, "service.toml")
        with open(path, "w") as f:
            f.write('[host]\nservice_name = "shop inventory"\nservice_version = "1.4.0"\n')
        r = openapi(["inventory", "--config", path, "--openapi"], child_env(PIT_HOST_SERVICE_LICENSE="MIT"))
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)["info"]
        self.assertEqual((info["title"], info["version"], info["license"]["identifier"]),
                         ("shop inventory", "1.4.0", "MIT"))

    def test_a_configuration_error_still_exits_2_before_printing(self):
        path = os.path.join(LOG_ROOT, "bad.toml")
        with open(path, "w") as f:
            f.write('[host]\nservice_nmae = "x"\n')
        r = openapi(["inventory", "--config", path, "--openapi"])
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("service_nmae", r.stderr)


def main():
    global SHOP_BIN
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
