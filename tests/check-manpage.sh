#!/bin/sh
# The man page keeps up with the program: every option --help prints, every
# section and key of the example configuration, and the sections an
# operator looks for, are in doc/isthmus.8. Run by make check.
set -eu
srcdir=${srcdir:-.}
man="$srcdir/doc/isthmus.8"
conf="$srcdir/isthmus.example.conf"
bin=${ISTHMUS_BIN:-./isthmus}
status=0
# roff writes a hyphen as \-; compare with plain ones.
text=$(sed 's/\\-/-/g' "$man")

missing() {
    echo "check-manpage: $man does not mention $1" >&2
    status=1
}

help=$("$bin" --help)
for opt in $(printf '%s\n' "$help" | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' |
             tr -d ' ,' | sort -u); do
    # A whole word: -c is not the -c of --check-config.
    printf '%s\n' "$text" | grep -qE -- "(^|[^a-zA-Z-])$opt([^a-zA-Z-]|\$)" ||
        missing "the option $opt"
done

for section in $(grep -oE '^\[[a-z0-9_]+\]' "$conf" | tr -d '[]'); do
    printf '%s\n' "$text" | grep -qF -- "[$section]" ||
        missing "the section [$section]"
done
# Keys, commented-out ones included (";key = value").
for key in $(grep -oE '^;?[a-z0-9_]+ *=' "$conf" | tr -d ';= ' | sort -u); do
    printf '%s\n' "$text" | grep -qE -- "\\\\fB$key\\\\fR" ||
        missing "the key $key (in bold)"
done

for heading in NAME SYNOPSIS DESCRIPTION OPTIONS CONFIGURATION METRICS \
    SIGNALS "EXIT STATUS" FILES "SEE ALSO"; do
    printf '%s\n' "$text" | grep -qx -- "\\.SH \"\\{0,1\\}$heading\"\\{0,1\\}" ||
        missing "a $heading section"
done
for sig in SIGTERM SIGINT SIGHUP; do
    printf '%s\n' "$text" | grep -qF -- "$sig" || missing "$sig"
done

# groff finds nothing to warn about, where it is installed.
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1) || status=1
    if [ -n "$warnings" ]; then
        printf '%s\n' "$warnings" >&2
        status=1
    fi
fi
[ "$status" = 0 ] && echo "check-manpage: $man covers --help and the configuration"
exit "$status"
