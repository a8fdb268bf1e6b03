#!/usr/bin/env bash
# Installs what the playground and its tests need, each only if missing:
#   scripts/setup.sh wasm      the wasm32 target and wasm-bindgen-cli at the
#                              version Cargo.toml pins (its wasm-bindgen and
#                              wasm-bindgen-test-runner build and test the page)
#   scripts/setup.sh browser   Debian's chromium and chromium-driver, and the
#                              npm packages of the page tests
#   scripts/setup.sh python    python3, for the Python replica the tests record
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

wasm() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
  local pinned
  pinned=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
  [ -n "$pinned" ] || { echo "Cargo.toml pins no wasm-bindgen version" >&2; return 1; }
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $pinned" ]; then
    # A debug build: it compiles in half the time of a release one (2 min
    # against 4.3 here) and binds this module in about a second.
    cargo install wasm-bindgen-cli --version "$pinned" --debug
  fi
}

browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
  fi
  python
  if [ ! -d tests/page/node_modules/playwright-core ]; then
    (cd tests/page && npm ci --no-audit --no-fund)
  fi
}

python() {
  command -v python3 >/dev/null && return
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3
}

for what in "$@"; do "$what"; done
