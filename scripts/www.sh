#!/usr/bin/env bash
# Builds the playground's WebAssembly package into www/pkg (not committed),
# with the size profile (`[profile.wasm]` in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh wasm
wasm-pack build --target web --out-dir www/pkg --profile wasm
