#!/usr/bin/env python3
"""Start-up errors end the process cleanly: one line on stderr naming the problem, a
non-zero exit code, no `terminate called`, no abort, no core dump.

The shop example's main is the documented one (examples/shop/main.cpp):
`Config::from_args` → `Host` → `serve<>` → `run()`. A configuration error exits 2 from
`Config::from_args`; any other (a port in use, an unknown operation in the settings, a bad
client URL) is reported by `Host::run()`, exit 1. docs/operations.md, "When the start fails".

Usage: test_startup_errors.py SHOP_BINARY [unittest args...]   (or $PIT_SHOP_BIN)
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import unittest

SHOP_BIN = os.environ.get("PIT_SHOP_BIN", "")
LOG_ROOT = tempfile.mkdtemp(prefix="pit-startup-")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from children import die_with_parent  # noqa: E402
from children import free_ports  # noqa: E402
from children import run_tests  # noqa: E402
from children import shop_from_argv  # noqa: E402


def child_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("PIT_")}


class StartupErrors(unittest.TestCase):
    def write(self, name, text):
        path = os.path.join(LOG_ROOT, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start_failing(self, args, want_code):
        """Runs `shop ARGS`, which must fail to start; returns its one stderr line."""
        r = subprocess.run([SHOP_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                           env=child_env(), preexec_fn=die_with_parent)
        out = r.stdout.decode(errors="replace")
        err = r.stderr.decode(errors="replace")
        what = "exit %s\n--- stdout:\n%s\n--- stderr:\n%s" % (r.returncode, out, err)
        # A negative code is a signal: SIGABRT from std::terminate, SIGSEGV, ...
        self.assertEqual(r.returncode, want_code, what)
        self.assertNotIn("terminate", err, what)
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, what)
        # Nothing else says "error" (the structured log has no second error line).
        self.assertNotRegex(out, r'"level":"(error|fatal)"', what)
        return lines[0]

    def test_a_config_file_error_exits_2_with_one_line_naming_file_line_and_key(self):
        path = self.write("typo.toml", "[host]\nworkers = 4\n\n[http]\nlisen = \"127.0.0.1:0\"\n")
        line = self.start_failing(["inventory", "--config", path], 2)
        self.assertRegex(line, "^pit: configuration: " + re.escape(path) + r":5:\d+: http\.lisen: unknown key")

    def test_a_missing_config_file_exits_2_with_one_line(self):
        line = self.start_failing(["inventory", "--config", os.path.join(LOG_ROOT, "absent.toml")], 2)
        self.assertRegex(line, r"^pit: configuration: .*absent\.toml: cannot read the configuration file")

    def test_a_port_in_use_exits_1_with_one_line_naming_the_address(self):
        for listener in ("--listen", "--admin"):
            with self.subTest(listener=listener):
                taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    taken.bind(("127.0.0.1", 0))
                    taken.listen(1)
                    port = taken.getsockname()[1]
                    other = free_ports(1)[0]
                    flags = {"--listen": "127.0.0.1:%d" % other, "--admin": "127.0.0.1:%d" % other}
                    flags[listener] = "127.0.0.1:%d" % port
                    line = self.start_failing(["inventory", "--listen", flags["--listen"],
                                               "--admin", flags["--admin"]], 1)
                finally:
                    taken.close()
                self.assertEqual(line, "pit: cannot start: cannot listen on 127.0.0.1:%d: Address already in use"
                                 % port)

    def test_an_unknown_operation_in_the_settings_exits_1_with_one_line_naming_it(self):
        path = self.write("unknown-op.toml",
                          '[contracts."shop.v1.Inventory".operations.reserv]\ntimeout_ms = 300\n')
        http_port, admin_port = free_ports(2)
        line = self.start_failing(["inventory", "--config", path, "--listen", "127.0.0.1:%d" % http_port,
                                   "--admin", "127.0.0.1:%d" % admin_port], 1)
        self.assertEqual(line, "pit: cannot start: settings for 'shop.v1.Inventory/reserv': "
                               "shop.v1.Inventory has no such operation")

    def test_a_tls_certificate_that_does_not_load_exits_1_with_one_line_naming_the_key(self):
        cert = self.write("not-a-cert.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n")
        path = self.write("tls.toml", '[http]\ntls_cert_file = "%s"\ntls_key_file = "%s"\n' % (cert, cert))
        http_port, admin_port = free_ports(2)
        line = self.start_failing(["inventory", "--config", path, "--listen", "127.0.0.1:%d" % http_port,
                                   "--admin", "127.0.0.1:%d" % admin_port], 1)
        self.assertTrue(line.startswith("pit: cannot start: http.tls_cert_file '%s': " % cert), line)

    def test_a_bad_client_url_exits_1_with_one_line_naming_it(self):
        http_port, admin_port = free_ports(2)
        line = self.start_failing(["orders", "--listen", "127.0.0.1:%d" % http_port,
                                   "--admin", "127.0.0.1:%d" % admin_port, "--inventory", "ftp://127.0.0.1:1"], 1)
        self.assertEqual(line, "pit: cannot start: client base URL 'ftp://127.0.0.1:1': must start with http:// or https://")


def main():
    global SHOP_BIN
    SHOP_BIN, rest = shop_from_argv(sys.argv[1:], SHOP_BIN)
    if SHOP_BIN is None:
        return 1
    return run_tests(rest, LOG_ROOT)


if __name__ == "__main__":
    sys.exit(main())
