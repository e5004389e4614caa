#!/usr/bin/env bash
# Configures (once) and builds isthmus in the source tree.
# Extra arguments go to ./configure, e.g. --enable-sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x configure ]; then
  ./autogen.sh >/dev/null
fi
want="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ]; then
  ./configure -q "$@"
  echo "$want" > .configure-args
fi
make -j"$(nproc)" >/dev/null
echo "build: ./isthmus is ready"
