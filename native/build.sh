#!/usr/bin/env bash
# Build the xkshsm Node-API addon: native/build/Release/xkshsm.node.
#
#   bash native/build.sh            # build when a source is newer than the addon
#   bash native/build.sh --force    # always rebuild
#   bash native/build.sh --sanitize # native/build/Sanitize/xkshsm.node: the same
#                                   # source with AddressSanitizer and UBSan, for
#                                   # the sanitizer test (test/hsm/sanitizers.test.ts);
#                                   # loaded only with XKSHSM_ADDON and libasan preloaded
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
sanitize=0
case "${1:-}" in
  --force) force=1 ;;
  --sanitize) sanitize=1; out="$here/build/Sanitize/xkshsm.node" ;;
  "") ;;
  *) echo "native/build.sh: unknown option '$1' (use --force or --sanitize)" >&2; exit 2 ;;
esac

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
if [ "$sanitize" = 0 ] && [ ! -f "$gyp" ]; then
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
if [ "$sanitize" = 1 ]; then
  # Straight from cc, not node-gyp: the sanitizers' reports want -O1, -g and frame pointers,
  # which a Release build does not have. The warnings and defines are binding.gyp's.
  if [ -z "$nodedir" ] || [ ! -f "$nodedir/include/node/node_api.h" ]; then
    echo "native/build.sh: --sanitize needs Node's headers (include/node/node_api.h under the node prefix or \$npm_config_nodedir)" >&2
    exit 1
  fi
  if ! up_to_date; then
    mkdir -p "$(dirname "$out")"
    tmp="$(mktemp "$(dirname "$out")/.xkshsm.XXXXXX")"
    trap 'rm -f "$tmp"' EXIT
    "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
      -fsanitize=address,undefined -fno-sanitize-recover=undefined \
      -fPIC -shared -fvisibility=hidden -DNAPI_VERSION=8 \
      -I"$here/include" -I"$nodedir/include/node" \
      -o "$tmp" "$here/xkshsm.c" -ldl -lpthread -lm >&2
    mv -f "$tmp" "$out"
    trap - EXIT
  fi
  printf '%s\n' "$out"
  exit 0
fi
if [ "$force" = 1 ] || ! up_to_date; then
  cd "$here"
  "$node_bin" "$gyp" configure --loglevel=warn "${gyp_args[@]}" >&2
  "$node_bin" "$gyp" build --loglevel=warn -j 2 >&2
fi
[ -f "$out" ] || { echo "native/build.sh: build finished but $out is missing" >&2; exit 1; }
printf '%s\n' "$out"
