#!/usr/bin/env bash
# Builds isthmus and runs the local demo: Prosody + Synapse + isthmus on
# loopback with the embedded SQLite store, two users, a message crossing
# each way. Then it keeps running so you can connect your own clients;
# Ctrl-C stops everything. Use --once to stop right after the messages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec .venv/bin/python demo/demo.py "$@"
