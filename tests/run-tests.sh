#!/usr/bin/env bash
# The one command that installs every dependency and runs every test:
#   1. Debian packages and the Python test peers (scripts/install-deps.sh)
#   2. the build, with warnings as errors
#   3. C unit tests (make check)
#   4. the libFuzzer targets, 20 s each (tests/fuzz/run-fuzzers.sh)
#   5. unit and integration tests again on an AddressSanitizer + UBSan build
#   6. integration tests against real Prosody and Synapse (pytest)
#   7. the core integration tests (pytest -m core: DMs, gateway-mode and
#      portal rooms, presence, MAM, server restarts, SIGKILLs) again
#      against ejabberd instead of Prosody (--xmpp-server=ejabberd)
#   8. client tests: Profanity under tmux and Converse.js in headless Chromium
#      in Matrix rooms through isthmus (tests/clients; screens, screenshots
#      and logs in tests/clients/artifacts/)
#   9. make distcheck: the release tarball builds and passes make check
#      out of tree (unit tests and the man page and systemd file checks; the
#      integration tests above are not run again inside it)
# Pass pytest arguments through to steps 6 and 7, e.g. tests/run-tests.sh -k dm.
# QUICK=1 skips steps 4, 5 and 9; EJABBERD=0 skips step 7; CLIENTS=0 skips
# step 8.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest -c tests/integration/pytest.ini)

scripts/install-deps.sh
scripts/build.sh CFLAGS="-g -O2 -Werror"

unit_tests() {
  if ! make -j"$(nproc)" check >/dev/null; then
    cat tests/unit/*.log tests/*.log
    exit 1
  fi
  grep -h "PASSED\|FAILED" tests/unit/*.log
}

echo "== unit tests (make check)"
unit_tests

if [ "${QUICK:-0}" != 1 ]; then
  echo "== fuzzing (libFuzzer, ASan + UBSan)"
  tests/fuzz/run-fuzzers.sh "${FUZZ_SECONDS:-20}"

  echo "== sanitizer build (ASan + UBSan): unit and integration tests"
  # A separate copy of the tracked sources, so the main build stays as is.
  asan=.build-asan
  mkdir -p "$asan"
  if [ -n "$(git ls-files -- configure.ac 2>/dev/null)" ]; then
    git ls-files -z | xargs -0 cp --parents -t "$asan"
  else
    # An unpacked release tarball: its files are the distribution's.
    make distdir distdir="$asan" >/dev/null
  fi
  (cd "$asan" && scripts/build.sh --enable-sanitizers CFLAGS="-g -O1 -Werror" \
     && unit_tests)
  ISTHMUS_BIN="$PWD/$asan/isthmus" ISTHMUS_LOG_LEVEL=info \
    "${PYTEST[@]}" -q -p no:warnings tests/integration "$@"
fi

echo "== integration tests (real Prosody and Synapse on loopback)"
status=0
"${PYTEST[@]}" tests/integration "$@" || status=$?

if [ "${EJABBERD:-1}" != 0 ]; then
  echo "== core integration tests against ejabberd (pytest -m core)"
  "${PYTEST[@]}" --xmpp-server=ejabberd -m core tests/integration "$@" \
    || status=$?
fi

if [ "${CLIENTS:-1}" != 0 ]; then
  echo "== client tests (Profanity under tmux, Converse.js in headless Chromium)"
  .venv/bin/python -m pytest -c tests/clients/pytest.ini tests/clients \
    || status=$?
fi

if [ "${QUICK:-0}" != 1 ]; then
  echo "== make distcheck"
  # -O1 and no -g: the tarball's own build only has to compile and pass.
  if ! make -j"$(nproc)" distcheck \
       DISTCHECK_CONFIGURE_FLAGS='CFLAGS="-O1 -Werror"' >distcheck.log 2>&1; then
    tail -50 distcheck.log
    status=1
  else
    grep -A3 "archives ready for distribution" distcheck.log || true
  fi
fi
exit "$status"
