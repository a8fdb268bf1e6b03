#!/usr/bin/env bash
# The main job: build the playground and serve it on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
./scripts/www.sh
port=${PORT:-8000}
echo
echo "raftplay playground: http://127.0.0.1:$port/   (Ctrl-C stops it)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory www
