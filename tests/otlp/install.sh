#!/usr/bin/env bash
# Installs the test OTLP receiver's npm packages (tests/otlp/node_modules: the official
# OpenTelemetry JS packages) exactly as package-lock.json pins them (`npm ci`). Does
# nothing, and needs no network, when node_modules already holds what this lockfile pins
# (a stamp with the lockfile's hash).
# Run by scripts/test and by the CTest fixture otlp_install. Exit 77 (CTest: skipped) when
# node is not installed at all: the tests that need the receiver skip too.
set -euo pipefail
if [[ -z "${PIT_NODE:-}" ]] && ! command -v node >/dev/null; then
  echo "tests/otlp: node is not installed, the OTLP receiver tests are skipped (scripts/deps.sh installs it)" >&2
  exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
stamp="$here/node_modules/.pit-lockfile-sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
command -v npm >/dev/null || { echo "tests/otlp: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
echo "tests/otlp: npm ci (package-lock.json changed or node_modules missing)" >&2
(cd "$here" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
echo "$want" > "$stamp"
