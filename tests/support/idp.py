"""The tests' identity provider: tests/idp/idp.mjs (npm oidc-provider) started on loopback as a
child process (tests/support/children.py: it never outlives the test), with the clients and
resources a test defines (tests/idp/README.md has the configuration format).

    with Idp({"resources": {...}, "clients": [...]}) as idp:
        token = idp.token("gateway", "gateway-secret", "urn:pit:shop.v1.Orders", "orders.place")
        onward = idp.exchange("orders", "orders-secret", token, "urn:pit:shop.v1.Inventory")
        header, claims = decode(onward)

Only Python's standard library. Needs node (>= 20.19) and tests/idp/node_modules (tests/idp/install.sh; scripts/test and the
CTest fixture idp_install run it)."""

import base64
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from children import CHILDREN, die_with_parent  # noqa: E402

IDP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "idp")
# Generous: a loaded machine's node may take seconds over its first requests.
HTTP_TIMEOUT_S = 20
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class IdpError(Exception):
    """The provider answered a token request with an error: .status and .body (its JSON)."""

    def __init__(self, status, body):
        super().__init__("identity provider answered %d: %s" % (status, body))
        self.status = status
        self.body = body


def http(method, url, form=None, auth=None):
    """(status, headers, body) of one request; a form is sent urlencoded, auth as Basic
    (the form-encoded id and secret, RFC 6749 2.3.1). Error statuses are answers too."""
    data = urllib.parse.urlencode(form).encode() if form is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(url, data=data, method=method)
    if form is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth:
        pair = "%s:%s" % (urllib.parse.quote(auth[0], safe=""), urllib.parse.quote(auth[1], safe=""))
        req.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def http_json(method, url, form=None, auth=None):
    """(status, headers, the body as JSON, or as text when it is not JSON)."""
    status, headers, body = http(method, url, form, auth)
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body.decode(errors="replace")


def node_binary():
    """$PIT_NODE, else node on PATH; None when there is none."""
    return os.environ.get("PIT_NODE") or shutil.which("node")


def decode(token):
    """(header, claims) of a JWS compact token, unverified: for asserting what was issued."""

    def part(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    header, payload, _ = token.split(".")
    return part(header), part(payload)


class Idp:
    def __init__(self, config, log_dir=None, port=0, ready_timeout_s=30.0):
        self.config = config
        self.log_dir = log_dir
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        self.proc = None
        self.issuer = None
        self._tmp = None

    def start(self):
        node = node_binary()
        if not node:
            raise RuntimeError("node is missing (scripts/deps.sh installs it)")
        if not os.path.isdir(os.path.join(IDP_DIR, "node_modules", "oidc-provider")):
            raise RuntimeError("tests/idp/node_modules is missing: run tests/idp/install.sh")
        self._tmp = tempfile.mkdtemp(prefix="pit-idp-")
        config_path = os.path.join(self._tmp, "idp.json")
        with open(config_path, "w") as f:
            json.dump(self.config, f)
        log_dir = self.log_dir or self._tmp
        os.makedirs(log_dir, exist_ok=True)
        self._stderr = open(os.path.join(log_dir, "idp.stderr"), "ab")
        self.proc = subprocess.Popen([node, os.path.join(IDP_DIR, "idp.mjs"), config_path, str(self.port)],
                                     stdout=subprocess.PIPE, stderr=self._stderr, preexec_fn=die_with_parent)
        CHILDREN.append(self.proc)
        # The first stdout line says where it listens; until then it serves nothing.
        deadline = time.monotonic() + self.ready_timeout_s
        line = b""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                self.stop()
                raise RuntimeError("the identity provider did not start in %.0f s" % self.ready_timeout_s)
            chunk = os.read(self.proc.stdout.fileno(), 256)
            if not chunk:
                raise RuntimeError("the identity provider exited (%s): see %s"
                                   % (self.proc.wait(), os.path.join(log_dir, "idp.stderr")))
            line += chunk
        sel.close()
        first = line.split(b"\n", 1)[0].decode()
        if not first.startswith("listening 127.0.0.1:"):
            self.stop()
            raise RuntimeError("unexpected first line from the identity provider: %r" % first)
        self.port = int(first.rsplit(":", 1)[1])
        self.issuer = "http://127.0.0.1:%d" % self.port
        return self

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s. Returns the exit code."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            self.proc.stdout.close()
            self._stderr.close()
            self.proc = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # What a relying party reads.
    def discovery(self):
        return http_json("GET", self.issuer + "/.well-known/openid-configuration")[2]

    @property
    def token_endpoint(self):
        return self.issuer + "/token"

    @property
    def jwks_uri(self):
        return self.issuer + "/jwks"

    def jwks(self):
        return http_json("GET", self.jwks_uri)[2]

    # Tokens.
    def token_response(self, client_id, secret, resource, scope=None):
        """The provider's JSON answer to a client-credentials request; IdpError if refused."""
        form = {"grant_type": "client_credentials", "resource": resource}
        if scope:
            form["scope"] = scope
        return self._post_token(client_id, secret, form)

    def token(self, client_id, secret, resource, scope=None):
        return self.token_response(client_id, secret, resource, scope)["access_token"]

    def exchange_response(self, client_id, secret, subject_token, resource, scope=None):
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN_TYPE, "resource": resource}
        if scope:
            form["scope"] = scope
        return self._post_token(client_id, secret, form)

    def exchange(self, client_id, secret, subject_token, resource, scope=None):
        """RFC 8693: the subject's token exchanged by client_id for `resource`."""
        return self.exchange_response(client_id, secret, subject_token, resource, scope)["access_token"]

    def _post_token(self, client_id, secret, form):
        status, _, body = http_json("POST", self.token_endpoint, form, (client_id, secret))
        if status != 200:
            raise IdpError(status, body)
        return body

    # The test-only controls.
    def rotate(self, drop_old=False):
        """A new signing key, used from now on; the JWKS keeps the old keys unless drop_old.
        Returns {"kid": new kid, "kids": every kid in the JWKS}."""
        url = self.issuer + "/__test/rotate" + ("?drop_old=1" if drop_old else "")
        return http_json("POST", url)[2]

    def stats(self):
        """{"jwks_fetches": N, "token_requests": N, "kids": [...]}."""
        return http_json("GET", self.issuer + "/__test/stats")[2]

    def fail_next(self, count=1, status=503):
        """The next `count` token requests are answered `status` (503/429 with Retry-After: 1)."""
        http("POST", self.issuer + "/__test/fail?" + urllib.parse.urlencode({"status": status, "count": count}))
