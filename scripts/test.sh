#!/usr/bin/env bash
# Runs the whole test suite with node's test runner. `npm test` runs scripts/deps.sh and the
# build first (the pretest script). Human-readable output on stdout; TAP kept in build/ and
# summarised as one closing line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
mkdir -p build
# No test waits forever (node's default timeout is Infinity): a hang fails one test, never the
# whole run. (--test-force-exit is not used: on Node 20 it cuts the TAP file short.)
node --import tsx --test --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=build/test-results.tap \
  "${files[@]}"
code=$?
pass=$(grep -E '^# pass ' build/test-results.tap | tail -n1 | awk '{print $3}')
fail=$(grep -E '^# fail ' build/test-results.tap | tail -n1 | awk '{print $3}')
skipped=$(grep -E '^# skipped ' build/test-results.tap | tail -n1 | awk '{print $3}')
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skipped:-0} skipped"
exit $code
