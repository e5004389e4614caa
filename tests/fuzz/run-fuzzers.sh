#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage) and runs
# each for a bounded time against its checked-in seed corpus.
#   tests/fuzz/run-fuzzers.sh            # 20 s per target (what CI runs)
#   tests/fuzz/run-fuzzers.sh 600        # 10 minutes per target
#   tests/fuzz/run-fuzzers.sh 60 ids     # one target
# New inputs found go to tests/fuzz/work/<target>/, not the seed corpus;
# crashes are written there too and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(ids config stanza transaction events formatting media json_read)

CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || {
  echo "run-fuzzers: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
}
PKGS="libstrophe expat jansson libsodium libxml-2.0 libcrypto libomemo-c"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS)"
SOURCES="common/mem.c common/strbuf.c common/utf8.c common/log.c \
  gateway/core/ids.c gateway/core/config.c gateway/core/translate.c gateway/core/m2x.c gateway/core/x2m.c gateway/core/formatting.c \
  gateway/core/formatting_styled.c gateway/core/formatting_html.c \
  gateway/core/formatting_sanitize.c \
  gateway/core/media_sniff.c matrix/event.c matrix/event_message.c \
  matrix/event_state.c matrix/event_relation.c matrix/event_ephemeral.c \
  matrix/event_device.c matrix/event_encrypted.c matrix/transaction.c \
  matrix/crypto/attachment.c matrix/crypto/canonical.c matrix/crypto/internal.c \
  matrix/json_read.c matrix/json_write.c \
  xep/mam.c xep/mam_client.c xep/message.c xep/muc.c xep/reactions.c \
  xep/retractions.c xep/xml.c xep/presence_stanza.c xep/avatars.c \
  xep/chatstates.c xep/markers.c xep/encrypted.c xep/privilege.c \
  xep/omemo.c xep/omemo2.c xep/crypto/omemo_device.c xep/crypto/omemo_signal.c"

out=tests/fuzz/work
mkdir -p "$out"
status=0
for t in "${TARGETS[@]}"; do
  bin="$out/fuzz_$t"
  # shellcheck disable=SC2086
  $CC $CFLAGS -DPACKAGE_VERSION='"fuzz"' -o "$bin" "tests/fuzz/fuzz_$t.c" $SOURCES $LIBS
  mkdir -p "$out/$t"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$out/$t/" "$out/$t" "tests/fuzz/corpus/$t" \
       2> "$out/$t.log"; then
    echo "fuzz_$t FAILED; see $out/$t.log and the crash-* files in $out/$t/"
    tail -40 "$out/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$out/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $status
