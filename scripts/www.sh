#!/usr/bin/env bash
# Builds the playground's WebAssembly package into www/pkg (not committed),
# with the size profile (`[profile.wasm]` in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh wasm
cargo build --lib --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --out-dir www/pkg --out-name raftplay \
  target/wasm32-unknown-unknown/wasm/raftplay.wasm
