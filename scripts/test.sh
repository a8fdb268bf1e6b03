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
  if "$@"; then results+=("$name: ok"); else results+=("$name: FAILED"); failed=1; fi
}

command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }

step "make (builds ./3700kvstore)" make
step "install python (a test records a Python replica)" ./scripts/setup.sh python
step "cargo test" cargo test --release
step "chaos (1000 seeds, correct core)" ./target/release/gradesim chaos --seed 1 --seeds 1000
step "exam (every bug variant, 100 seeds each)" ./target/release/gradesim exam --seed 1 --seeds 100
step "explore (correct core, every run of 6 steps from a leader)" ./target/release/gradesim explore \
  --start leader --requests leaders --link-capacity 1 --max-append 1 --depth 6 --max-states 3000000 \
  --out target/counterexample.json
step "explore (correct core, clocks 5% apart, every run of 5 steps)" ./target/release/gradesim explore \
  --start leader --requests leaders --link-capacity 1 --max-append 1 --depth 5 --drift 0.05 \
  --out target/counterexample.json
configs=../shared/grading-sim/configs
if [ -d "$configs" ]; then
  # --forgive-generation: a run that fails only "gets generated" is the
  # workload's chance (docs/measurements.md), still printed as FAIL.
  step "course configs (sim, 50 seeds)" ./target/release/gradesim sim "$configs" --seed 1 --seeds 50 --summary --forgive-generation
  step "course configs (udp, shortened)" ./target/release/gradesim udp \
    "$configs"/simple-1.json "$configs"/crash-3.json "$configs"/partition-3.json "$configs"/advanced-3.json \
    --replica ./3700kvstore --time-scale 0.25 --seed 1 --forgive-generation
else
  echo "=== course configs: $configs not found, skipped"
fi
step "install wasm tools" ./scripts/setup.sh wasm
step "install browser" ./scripts/setup.sh browser
step "wasm-bindgen tests (headless chromium)" env CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test wasm
step "build the page" ./scripts/www.sh
# One file at a time: parallel browsers on two cores make timings flaky.
step "page tests (playwright-core, chromium)" node --test --test-concurrency=1 tests/page/

echo
printf '%s\n' "${results[@]}"
if [ $failed -eq 0 ]; then echo "ALL TESTS PASSED (${#results[@]} suites)"; else echo "SOME TESTS FAILED"; fi
exit $failed
