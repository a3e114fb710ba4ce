#!/usr/bin/env python3
"""The contract lock from the command line, on the shop binary (docs/evolution.md):
`shop ROLE --contract-lock write FILE` / `check FILE` go through Config::from_args and
Host::run, start nothing, and exit 0 (the contracts honour the lock), 1 (breaking changes,
printed with their rule and where) or 2 (no usable lock, or a usage error).

Usage: test_lock_cli.py SHOP_BINARY [unittest args...]   (or $PIT_SHOP_BIN)
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-lock-cli-")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import die_with_parent  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402


def child_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("PIT_")}


class LockCommandLine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=LOG_ROOT)
        self.lock = os.path.join(self.dir, "inventory.lock")

    def shop(self, *args, role=("inventory",)):
        # With listeners on free ports a started host would serve until the timeout: the
        # command must answer without starting.
        r = subprocess.run([SHOP_BIN, *role, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", *args],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=child_env(),
                           preexec_fn=die_with_parent)
        out = r.stdout.decode(errors="replace")
        err = r.stderr.decode(errors="replace")
        self.assertNotIn("terminate", err)
        self.assertNotIn('"listening"', out)
        return r.returncode, out, err

    def edit(self, change):
        with open(self.lock) as f:
            lock = json.load(f)
        change(lock)
        with open(self.lock, "w") as f:
            json.dump(lock, f, indent=2, sort_keys=True)

    def test_write_then_check_exits_0_and_the_lock_holds_the_contract(self):
        code, out, err = self.shop("--contract-lock", "write", self.lock)
        self.assertEqual(code, 0, out + err)
        self.assertIn("written", out)
        with open(self.lock) as f:
            lock = json.load(f)
        self.assertEqual([c["name"] for c in lock["contracts"]], ["shop.v1.Inventory"])
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 0, out + err)
        self.assertIn("the contracts honour the lock", out)

    def test_a_breaking_change_exits_1_naming_rule_and_where_until_acknowledged(self):
        self.assertEqual(self.shop("--contract-lock", "write", self.lock)[0], 0)

        def add_reply_field(lock):  # the lock knew a reply field the code no longer sends
            reply = next(m for m in lock["messages"] if m["name"] == "shop::v1::Reservation")
            reply["fields"].append({"default_value": '""', "name": "note", "required": False, "type": "string"})
        self.edit(add_reply_field)
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 1, out + err)
        self.assertIn("BREAKING field_removed at shop.v1.Inventory/reserve reply: note", out)
        # write refuses to make an unacknowledged break the new baseline
        code, out, err = self.shop("--contract-lock", "write", self.lock)
        self.assertEqual(code, 1, out + err)

        def acknowledge(lock):
            lock["acknowledgements"].append({"reason": "no caller reads note (test)", "rule": "field_removed",
                                             "where": "shop.v1.Inventory/reserve reply: note"})
        self.edit(acknowledge)
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 0, out + err)
        self.assertIn("acknowledged field_removed", out)

    def test_a_missing_corrupted_or_unknown_version_lock_exits_2_naming_the_file(self):
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 2, out + err)
        self.assertIn(self.lock + ": cannot be read", out)

        with open(self.lock, "w") as f:
            f.write('{"format": "pit-contract-lock", "version": 1, "contracts": [')
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 2, out + err)
        self.assertIn(self.lock + ": not valid JSON", out)

        self.assertEqual(self.shop("--contract-lock", "write", os.path.join(self.dir, "ok.lock"))[0], 0)
        self.lock = os.path.join(self.dir, "ok.lock")
        self.edit(lambda lock: lock.update(version=2))
        code, out, err = self.shop("--contract-lock", "check", self.lock)
        self.assertEqual(code, 2, out + err)
        self.assertIn("lock format version 2 is unknown", out)

    def test_a_bad_command_is_a_usage_error_exit_2(self):
        code, out, err = self.shop("--contract-lock", "frob", self.lock)
        self.assertEqual(code, 2, out + err)
        self.assertIn("--contract-lock: expects `check FILE` or `write FILE`", err)


def main():
    global SHOP_BIN
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
