#!/usr/bin/env bash
# Installs the Debian 12 packages sevex builds with (DESIGN.md §7) when they are missing.
# Non-interactive; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libboost1.81-dev libssl-dev
  libprotobuf-dev protobuf-compiler
  libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev
  libsimdjson-dev
  libjemalloc-dev
  # Hardening (docs/hardening.md): libFuzzer and the sanitizer runtimes for clang, and the
  # openssl command the TLS configuration test connects with.
  clang libclang-rt-14-dev
  openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the STIX schema test (ajv from the npm registry). A Node.js from elsewhere
# (NodeSource ships npm inside its nodejs package) is fine: only what is absent is installed.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: missing packages (${missing[*]}) and not root; install them as root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
