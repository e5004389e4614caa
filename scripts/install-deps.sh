#!/usr/bin/env bash
# Installs everything isthmus needs to build, run its demo and pass its tests:
# Debian packages (apt-get), a Python venv in .venv with the test peers, and
# the npm packages of the client tests (tests/clients/node_modules: Converse.js
# and playwright-core, which drives Debian's chromium, no browser download;
# matrix-js-sdk with the Rust crypto Element uses, its WebAssembly inside).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential autoconf automake libtool pkg-config
  libstrophe-dev libexpat1-dev libmicrohttpd-dev libcurl4-openssl-dev
  libjansson-dev libsqlite3-dev libsodium-dev libolm-dev libomemo-c-dev libssl-dev libcmocka-dev libxml2-dev
  prosody prosody-modules ejabberd valgrind sqlite3 python3-venv clang libclang-rt-14-dev
  profanity tmux chromium patch
  prometheus  # for promtool only (tests/integration/test_metrics.py); Debian has no smaller package with it
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian starts a system Prosody on install where it can; the tests run
  # their own on free ports, so that one is neither needed nor in the way.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
  # So does ejabberd's package, on 5222, 5269, 5280 and 5443 (and epmd on
  # 4369): the tests run their own ejabberd (tests/integration/harness.py)
  # and the demo wants 5222, so a system ejabberd installed just now is
  # stopped and disabled. One that was there before is left alone.
  if [[ " ${missing[*]} " == *" ejabberd "* ]]; then
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now ejabberd >/dev/null 2>&1 || true
    else
      $SUDO service ejabberd stop >/dev/null 2>&1 || true
      $SUDO update-rc.d ejabberd disable >/dev/null 2>&1 || true
    fi
  fi
fi

PYTHON=${PYTHON:-python3}
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "install-deps: creating .venv with the test peers (Synapse, slixmpp, matrix-nio)"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r tests/requirements.txt
  echo "$want" > "$stamp"
fi
# The client tests' npm packages, pinned by tests/clients/package-lock.json.
# playwright-core needs Node >= 20 (CI has it; Debian 12's nodejs is 18).
stamp=tests/clients/node_modules/.package-lock.sha256
want=$(sha256sum tests/clients/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm is missing: install Node.js 20 or later" >&2
    exit 1
  fi
  echo "install-deps: npm ci in tests/clients (Converse.js, playwright-core, matrix-js-sdk)"
  (cd tests/clients && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  echo "$want" > "$stamp"
fi
echo "install-deps: all dependencies are installed"
