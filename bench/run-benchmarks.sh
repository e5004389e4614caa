#!/usr/bin/env bash
# Runs every benchmark against real Prosody and Synapse on loopback, prints
# a table and writes bench/results/latest.json and latest.png.
#   bench/run-benchmarks.sh                  # 10 s per offered load
#   bench/run-benchmarks.sh --seconds 30     # longer runs
# With --peers, isthmus next to matrix-bifrost and matridge instead
# (bench/bench_peers.py; its options follow, see --peers --help); writes
# bench/results/peers.json and peers.png. matrix-bifrost's source comes
# from $BIFROST_TARBALL (default ../shared/peers/matrix-bifrost-1.0.3.tar.gz);
# the peers are installed under bench/.peers/ on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
.venv/bin/pip install -q -r bench/requirements.txt
scripts/build.sh CFLAGS="-g -O2"
if [ "${1:-}" = "--peers" ]; then
  shift
  exec .venv/bin/python bench/bench_peers.py "$@"
fi
exec .venv/bin/python bench/bench_e2e.py "$@"
