#!/usr/bin/env bash
# Run before every commit: formatting and lints, as the team requires.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
