#!/usr/bin/env bash
# Scores the replica on the course's 17 grader configs in the simulator
# (falls back to the project's own configs (configs/) on a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
configs=../shared/grading-sim/configs
[ -d "$configs" ] || configs=configs
cargo build --release --bin gradesim
exec ./target/release/gradesim sim "$configs" --seed 1 --seeds "${SEEDS:-10}" --summary
