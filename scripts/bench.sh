#!/usr/bin/env bash
# Benchmarks: simulator speed and protocol cost; the playground's frame cost
# in headless Chromium and the size of the .wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench sim
./scripts/www.sh >/dev/null 2>&1
./scripts/setup.sh browser
wasm=www/pkg/raftplay_bg.wasm
echo "wasm: $(stat -c %s $wasm) bytes raw, $(gzip -9 -c $wasm | wc -c) bytes gzipped"
node tests/page/bench.mjs
