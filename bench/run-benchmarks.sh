#!/usr/bin/env bash
# Runs every benchmark against real Prosody and Synapse on loopback, prints
# a table and writes bench/results/latest.json and latest.png.
#   bench/run-benchmarks.sh                  # 10 s per offered load
#   bench/run-benchmarks.sh --seconds 30     # longer runs
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
.venv/bin/pip install -q -r bench/requirements.txt
scripts/build.sh CFLAGS="-g -O2"
exec .venv/bin/python bench/bench_e2e.py "$@"
