"""Identity ON for the shop in the Python suites, without an identity provider: a local
signing key made by `shop_dev_token` (examples/shop/dev_token.cpp, built beside the `shop`
binary), the environment that makes a shop process accept its tokens, and the tokens.

    identity = dev_identity(SHOP_BIN, LOG_ROOT)          # the key: made once per run
    env = identity.env(os.path.join(folder, "gateway.audit.jsonl"))
    headers = identity.headers()                        # {"Authorization": "Bearer ..."}

Every token has the audience SHOP_AUDIENCE, which every process also accepts
(auth.audiences), so the default outbound identity `forward` carries the caller's token from
the gateway to orders to the inventory (docs/security.md, "Delegation across hops"). The
tests of the real identity provider (token exchange, rotation, provider down) are in
tests/e2e/test_shop_identity.py.

Only Python's standard library."""

import os
import subprocess

DEV_ISSUER = "pit-dev"
# An audience of the whole shop: accepted by each process besides its own contract's name.
SHOP_AUDIENCE = "urn:pit:shop"
# Every scope an operation of the shop requires (examples/shop/contracts.hpp).
ALL_SCOPES = "shop.buy orders.place inventory.reserve inventory.read"
# Longer than any suite runs, so no test sees its token expire.
TOKEN_TTL_S = 3600


def dev_token_binary(shop_bin):
    """$PIT_SHOP_DEV_TOKEN, else shop_dev_token beside the shop binary."""
    return os.environ.get("PIT_SHOP_DEV_TOKEN") or os.path.join(os.path.dirname(os.path.abspath(shop_bin)),
                                                                "shop_dev_token")


class DevIdentity:
    def __init__(self, tool, folder):
        self.tool = tool
        self.folder = folder
        self.jwks_file = os.path.join(folder, "jwks.json")
        self._tokens = {}
        if not os.access(tool, os.X_OK):
            raise RuntimeError("%s is missing: build the target shop_dev_token (or set $PIT_SHOP_DEV_TOKEN)" % tool)
        self._run("keys", folder)

    def _run(self, *args):
        r = subprocess.run([self.tool, *args], capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("%s %s failed (%d): %s" % (self.tool, " ".join(args[:2]), r.returncode,
                                                          r.stderr.decode(errors="replace")))
        return r.stdout.decode().strip()

    def env(self, audit_path):
        """The variables that make one shop process verify this key's tokens over plaintext
        loopback, and write its audit records to `audit_path` (not ./audit.jsonl)."""
        return {
            "PIT_AUTH_ISSUER": DEV_ISSUER,
            "PIT_AUTH_JWKS_FILE": self.jwks_file,
            "PIT_AUTH_PLAINTEXT_BEARER": "true",
            "PIT_AUTH_AUDIENCES": SHOP_AUDIENCE,
            "PIT_AUDIT_PATH": audit_path,
        }

    def token(self, subject="e2e-client", scope=ALL_SCOPES, audience=SHOP_AUDIENCE, ttl=TOKEN_TTL_S, claims=None):
        """An at+jwt access token signed with the key; the same arguments give the same token
        for the whole run (a process's token cache sees a repeated token)."""
        key = (subject, scope, audience, ttl, claims)
        if key not in self._tokens:
            args = ["mint", self.folder, "--subject", subject, "--audience", audience, "--ttl", str(ttl)]
            if scope:
                args += ["--scope", scope]
            if claims:
                args += ["--claims", claims]
            self._tokens[key] = self._run(*args)
        return self._tokens[key]

    def headers(self, **token_args):
        return {"Authorization": "Bearer " + self.token(**token_args)}


_IDENTITIES = {}


def dev_identity(shop_bin, log_root):
    """The run's DevIdentity: its key is made once, in `log_root`/dev-identity."""
    folder = os.path.join(log_root, "dev-identity")
    if folder not in _IDENTITIES:
        os.makedirs(folder, exist_ok=True)
        _IDENTITIES[folder] = DevIdentity(dev_token_binary(shop_bin), folder)
    return _IDENTITIES[folder]
