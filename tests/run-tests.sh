#!/usr/bin/env bash
# The one command that installs every dependency and runs every test:
#   1. Debian packages and the Python test peers (scripts/install-deps.sh)
#   2. the build, with warnings as errors
#   3. C unit tests (make check)
#   4. integration tests against real Prosody and Synapse (pytest)
# Pass pytest arguments through, e.g. tests/run-tests.sh -k dm
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh CFLAGS="-g -O2 -Werror"

echo "== unit tests (make check)"
if ! make -j"$(nproc)" check >/dev/null; then
  cat tests/unit/*.log
  exit 1
fi
grep -h "PASSED\|FAILED" tests/unit/*.log

echo "== integration tests (real Prosody and Synapse on loopback)"
exec .venv/bin/python -m pytest -c tests/integration/pytest.ini \
  tests/integration "$@"
