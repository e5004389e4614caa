#!/bin/sh
# The systemd files make install puts in place are what systemd accepts:
# the sysusers.d and tmpfiles.d files create the user and the state
# directory (in a scratch root, never on this system), and the unit, run
# against the binary just built, passes systemd-analyze verify. Run by
# make check; skipped (77) where systemd's tools are missing.
set -eu
srcdir=${srcdir:-.}
for tool in systemd-sysusers systemd-tmpfiles systemd-analyze; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "check-systemd-files: $tool is missing; skipped"
        exit 77
    }
done
abs_srcdir=$(cd "$srcdir" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc"

systemd-sysusers --root="$root" "$abs_srcdir/contrib/isthmus.sysusers" \
    >/dev/null 2>&1
grep -q '^isthmus:x:[0-9]*:[0-9]*:.*:/var/lib/isthmus:' "$root/etc/passwd" || {
    echo "check-systemd-files: contrib/isthmus.sysusers made no isthmus user" >&2
    exit 1
}
systemd-tmpfiles --root="$root" --create \
    "$abs_srcdir/contrib/isthmus.tmpfiles" >/dev/null 2>&1
[ "$(stat -c %a "$root/var/lib/isthmus")" = 700 ] || {
    echo "check-systemd-files: contrib/isthmus.tmpfiles made no private" \
         "/var/lib/isthmus" >&2
    exit 1
}

# The unit as installed (bindir substituted), pointed at this build.
sed "s|/usr/local/bin/isthmus|$(pwd)/isthmus|g" \
    "$abs_srcdir/contrib/isthmus.service" > "$root/isthmus.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
          "$root/isthmus.service" 2>&1) || true
if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    exit 1
fi
echo "check-systemd-files: the unit, the user and the state directory are accepted"
