#!/usr/bin/env bash
# npm run bench [-- --runs N]: builds the proxy and the slowhsm shim, then runs bench/run.ts,
# which starts `xksctl serve` as a child process and loads it with h2load on 127.0.0.1.
# Prints a markdown table and writes build/bench/results.json. See docs/performance.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v h2load >/dev/null 2>&1; then
  echo "bench: h2load not found. Install it with: apt-get install nghttp2-client" >&2
  exit 127
fi
if ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "bench: softhsm2-util not found. Install it with: apt-get install softhsm2" >&2
  exit 127
fi

echo "bench: building dist/ (npm run build)" >&2
npm run build --silent
echo "bench: building the slowhsm shim" >&2
SLOWHSM_SO="$(bash test/fixtures/slowhsm/build.sh)"
export SLOWHSM_SO

exec node --import tsx bench/run.ts "$@"
