#!/usr/bin/env bash
# Installs what xksctl needs on Debian 12 with Node.js 20: SoftHSM2 and tools from Debian,
# npm packages from package-lock.json. Idempotent: does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The service unit is checked with systemd-analyze verify; the fleet test runs HAProxy as a child process.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
# promtool checks the metrics exposition in the tests (Debian ships it with the prometheus package).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "✖ missing Debian packages: ${need[*]}" >&2
    echo "→ run as root, or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "✖ Node.js $(node --version) is too old → install Node.js 20" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lock file, or a native addon was not built
# (npm ci runs our own "install" script, which builds native/ — the PKCS#11 driver).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -e node_modules/pkcs11js/build/Release/pkcs11.node ]; then
  echo "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
bash native/build.sh >/dev/null
