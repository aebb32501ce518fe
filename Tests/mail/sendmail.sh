#!/bin/sh
# The test sendmail (issue 23): stores its arguments and the message it reads on stdin in the
# directory named by the file next to it (mail-dir), as <n>.eml and <n>.args; exit status from
# the file exit-status there when it exists (75: EX_TEMPFAIL).
set -eu
here="$(dirname "$0")"
dir="$(cat "$here/mail-dir")"
n=$(( $(ls "$dir" | grep -c '\.eml$' || true) + 1 ))
printf '%s\n' "$*" > "$dir/$n.args"
cat > "$dir/$n.tmp"
if [ -s "$here/exit-status" ]; then status="$(cat "$here/exit-status")"; rm -f "$dir/$n.tmp" "$dir/$n.args"; exit "$status"; fi
mv "$dir/$n.tmp" "$dir/$n.eml"
