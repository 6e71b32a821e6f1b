#!/usr/bin/env bash
# One command on a fresh Debian 12 machine with Node.js 20, as root: installs SoftHSM2 and the
# npm packages, creates a project-local key store in .xksctl/ (SoftHSM token, AES-256 demo key,
# self-signed TLS, SigV4 credential, settings), prints a working curl --aws-sigv4 call and runs
# the proxy on 127.0.0.1 in the foreground (Ctrl-C stops it).
#   XKSCTL_PORT=9443 bash scripts/quickstart.sh     # another port (first run; default 8443)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${XKSCTL_PORT:-8443}"
DIR="${XKSCTL_DIR:-.xksctl}"

bash scripts/deps.sh
npm run -s build

if [ -f "$DIR/settings.toml" ]; then
  echo "Using the key store in $DIR/ (xksctl init --force --dir $DIR to start over)."
  echo "In another terminal, encrypt through the proxy:"
  sed -n '2,$p' "$DIR/curl-example.sh"
else
  node bin/xksctl.cjs init --backend softhsm --dir "$DIR" --port "$PORT" --yes </dev/null
fi
echo
# The settings name the token's softhsm2.conf: no SOFTHSM2_CONF needed.
exec node bin/xksctl.cjs serve --config "$DIR/settings.toml"
