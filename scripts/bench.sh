#!/usr/bin/env bash
# Benchmarks: simulator speed and protocol cost.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench sim
