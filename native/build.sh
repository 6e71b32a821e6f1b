#!/usr/bin/env bash
# Build the xkshsm Node-API addon: native/build/Release/xkshsm.node.
#
#   bash native/build.sh            # build when a source is newer than the addon
#   bash native/build.sh --force    # always rebuild
#
# Uses the node-gyp that npm bundles and the Node headers of the running node
# (nodedir: $npm_config_nodedir, else `npm config get nodedir`, else the node
# install prefix when it has include/node/node_api.h), so nothing is
# downloaded. Prints the absolute path of the .node on stdout and nothing
# else; build output goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build/Release/xkshsm.node"
force=0
[ "${1:-}" = "--force" ] && force=1

up_to_date() {
  [ -f "$out" ] || return 1
  local f
  for f in "$here/xkshsm.c" "$here/binding.gyp" "$here/build.sh" "$here"/include/*.h; do
    [ "$f" -nt "$out" ] && return 1
  done
  return 0
}

if [ "$force" = 0 ] && up_to_date; then
  printf '%s\n' "$out"
  exit 0
fi

node_bin="$(command -v node || true)"
if [ -z "$node_bin" ]; then
  echo "native/build.sh: node not found in PATH" >&2
  exit 127
fi
npm_root="$(npm root -g 2>/dev/null || true)"
gyp="${NODE_GYP:-$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js}"
if [ ! -f "$gyp" ]; then
  echo "native/build.sh: node-gyp not found at '$gyp' (npm bundles it); set NODE_GYP to node-gyp.js" >&2
  exit 127
fi

nodedir="${npm_config_nodedir:-}"
if [ -z "$nodedir" ]; then
  nodedir="$(npm config get nodedir 2>/dev/null || true)"
  case "$nodedir" in undefined | null) nodedir="" ;; esac
fi
if [ -z "$nodedir" ]; then
  prefix="$(cd "$(dirname "$(readlink -f "$node_bin")")/.." && pwd)"
  [ -f "$prefix/include/node/node_api.h" ] && nodedir="$prefix"
fi
gyp_args=()
[ -n "$nodedir" ] && gyp_args+=("--nodedir=$nodedir")

mkdir -p "$here/build"
# One build at a time (several test processes may call this at once).
exec 9>"$here/build/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ "$force" = 1 ] || ! up_to_date; then
  cd "$here"
  "$node_bin" "$gyp" configure --loglevel=warn "${gyp_args[@]}" >&2
  "$node_bin" "$gyp" build --loglevel=warn -j 2 >&2
fi
[ -f "$out" ] || { echo "native/build.sh: build finished but $out is missing" >&2; exit 1; }
printf '%s\n' "$out"
