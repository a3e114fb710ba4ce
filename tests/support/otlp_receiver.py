"""The test OTLP/HTTP receiver: tests/otlp/receiver.mjs (the official OpenTelemetry JS
packages' own OTLP decoding, strict about the JSON mapping) started on loopback as a child
process (tests/support/children.py: it never outlives the test).

    with OtlpReceiver() as otlp:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = otlp.traces_url
        ...
        spans = otlp.wait_for_trace(trace_id, count=5)
        otlp.control(status=503, retryAfter="1")     # what the next export requests get
        otlp.stats()["rejected"]

Only Python's standard library. Needs node (>= 20.19) and tests/otlp/node_modules
(tests/otlp/install.sh; scripts/test and the CTest fixture otlp_install run it)."""

import json
import os
import selectors
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from children import CHILDREN, die_with_parent

OTLP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "otlp")
HTTP_TIMEOUT_S = 20


def node_binary():
    """$PIT_NODE, else node on PATH; None when there is none."""
    return os.environ.get("PIT_NODE") or shutil.which("node")


def receiver_available():
    """None when the receiver can run here, else why not (a test skips with that reason)."""
    if not node_binary():
        return "node is missing (scripts/deps.sh installs it)"
    if not os.path.isdir(os.path.join(OTLP_DIR, "node_modules", "@opentelemetry", "otlp-transformer")):
        return "tests/otlp/node_modules is missing: run tests/otlp/install.sh"
    return None


class OtlpReceiver:
    def __init__(self, log_dir=None, port=0, max_spans=None, ready_timeout_s=30.0):
        self.log_dir = log_dir
        self.port = port
        self.max_spans = max_spans
        self.ready_timeout_s = ready_timeout_s
        self.proc = None
        self._stderr = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def traces_url(self):
        """What OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or [tracing] endpoint) is set to."""
        return self.base + "/v1/traces"

    def start(self):
        why = receiver_available()
        if why:
            raise RuntimeError(why)
        cmd = [node_binary(), os.path.join(OTLP_DIR, "receiver.mjs"), str(self.port)]
        if self.max_spans is not None:
            cmd += ["--max-spans", str(self.max_spans)]
        if self.log_dir:
            os.makedirs(self.log_dir, exist_ok=True)
            self._stderr = open(os.path.join(self.log_dir, "otlp-receiver.stderr"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr or subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        CHILDREN.append(self.proc)
        # The first stdout line says where it listens; until then it serves nothing.
        deadline = time.monotonic() + self.ready_timeout_s
        line = b""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    self.stop()
                    raise RuntimeError("the OTLP receiver did not start in %.0f s" % self.ready_timeout_s)
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    raise RuntimeError("the OTLP receiver exited (%s)" % self.proc.wait())
                line += chunk
        finally:
            sel.close()
        first = line.split(b"\n", 1)[0].decode()
        if not first.startswith("listening 127.0.0.1:"):
            self.stop()
            raise RuntimeError("unexpected first line from the OTLP receiver: %r" % first)
        self.port = int(first.rsplit(":", 1)[1])
        return self

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s. Returns the exit code. The port stays known, so
        a test can start it again on the same port (`OtlpReceiver(port=old.port)`)."""
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
            self.proc = None
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("OTLP receiver %s %s: %d %s" % (method, path, e.code, e.read()[:300])) from None

    def trace(self, trace_id):
        """The spans kept for a trace id (hex), in arrival order."""
        return self._call("GET", "/traces/" + trace_id)["spans"]

    def spans(self):
        return self._call("GET", "/spans")["spans"]

    def stats(self):
        return self._call("GET", "/stats")

    def control(self, **wanted):
        """What the next export requests get: status=429|503 (retryAfter="N"), delayMs=N,
        hang=True, count=N (only the next N requests); no arguments: back to normal."""
        return self._call("POST", "/control", wanted)

    def reset(self):
        return self._call("POST", "/reset", {})

    def wait_for_trace(self, trace_id, count, timeout_s=20.0):
        """The trace's spans once at least `count` have arrived (exporters batch: a span
        arrives up to an export interval after its call). Fails with what did arrive."""
        deadline = time.monotonic() + timeout_s
        spans = []
        while time.monotonic() < deadline:
            spans = self.trace(trace_id)
            if len(spans) >= count:
                return spans
            time.sleep(0.05)
        raise AssertionError("trace %s: %d span(s) of %d arrived in %.0f s: %s; receiver stats %s"
                             % (trace_id, len(spans), count, timeout_s,
                                [s["name"] for s in spans], json.dumps(self.stats())))
