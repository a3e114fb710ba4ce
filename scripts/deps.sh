#!/usr/bin/env bash
# Installs the Debian packages pit needs to build and test, if any is missing.
# Idempotent and fast when everything is there. Sourced by scripts/demo and scripts/test.
set -euo pipefail

PIT_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config python3 curl
  libboost1.81-dev libboost-json1.81-dev   # Asio, Describe, Preprocessor (headers); Boost.JSON
  libtomlplusplus-dev                       # configuration files (src/config/)
  libssl-dev                                # TLS (src/transport/tls/); tests call it with curl
  googletest libgtest-dev libgmock-dev      # tests
  libbenchmark-dev                          # bench/
  prometheus                                # promtool and a Prometheus server (tests/ops/)
  clang-14 libclang-rt-14-dev llvm-14       # sanitizer builds and fuzzing; llvm-symbolizer for their stacks
)

pit_install_deps() {
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
