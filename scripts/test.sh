#!/usr/bin/env bash
# Every test suite, installing what it needs first (idempotent). The last
# line is the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
results=()
failed=0
step() { # name, command...
  local name=$1; shift
  echo "=== $name: $*"
  if "$@"; then results+=("$name ok"); else results+=("$name FAILED"); failed=1; fi
}

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }

step "cargo test" cargo test --release
configs=../shared/grading-sim/configs
if [ -d "$configs" ]; then
  step "course configs (sim, 50 seeds)" cargo run --release --quiet --bin gradesim -- sim "$configs" --seed 1 --seeds 50 --summary
else
  echo "=== course configs: $configs not found, skipped"
fi

echo
echo "summary: ${results[*]}"
if [ $failed -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit $failed
