#!/bin/sh
# Fill in an Alertmanager config template from the environment at deploy time.
#
#   render-config.sh TEMPLATE OUTPUT
#
# Replaces each $-brace NAME placeholder with the variable NAME and each
# $-brace NAME:-DEFAULT placeholder with NAME or, when unset or empty, DEFAULT.
# Fails, writing nothing, when a variable without a default is unset, or when a value
# holds a quote or a newline (it would change the YAML around it). Comment lines are
# copied as they are. POSIX sh and awk only, so it runs in the busybox-based
# Alertmanager image, e.g. as the container's entrypoint:
#
#   sh /etc/alertmanager/render-config.sh /etc/alertmanager/alertmanager.yml \
#       /tmp/alertmanager.yml && exec alertmanager --config.file=/tmp/alertmanager.yml
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 TEMPLATE OUTPUT" >&2
    exit 2
fi
template=$1
output=$2
partial="$output.partial.$$"
trap 'rm -f "$partial"' EXIT

awk '
/^[ \t]*#/ { print; next }
{
    line = $0
    out = ""
    while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}/)) {
        token = substr(line, RSTART + 2, RLENGTH - 3)
        name = token
        fallback = ""
        has_fallback = 0
        cut = index(token, ":-")
        if (cut > 0) {
            name = substr(token, 1, cut - 1)
            fallback = substr(token, cut + 2)
            has_fallback = 1
        }
        if ((name in ENVIRON) && ENVIRON[name] != "") {
            value = ENVIRON[name]
        } else if (has_fallback) {
            value = fallback
        } else {
            printf "render-config: %s is not set (line %d)\n", name, NR > "/dev/stderr"
            failed = 1
            value = ""
        }
        if (index(value, "\047") || index(value, "\n")) {
            printf "render-config: %s holds a quote or a newline\n", name > "/dev/stderr"
            failed = 1
        }
        out = out substr(line, 1, RSTART - 1) value
        line = substr(line, RSTART + RLENGTH)
    }
    print out line
}
END { exit failed ? 1 : 0 }
' "$template" > "$partial"
mv "$partial" "$output"
trap - EXIT
