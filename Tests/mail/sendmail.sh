#!/bin/sh
# The test sendmail (issue 23): stores its arguments and the message it reads on stdin in the
# directory named by the file next to it (mail-dir), as <ns-time>.<pid>.eml and .args (several
# senders may run at once: two hosts); exit status from the file exit-status there when it
# exists (75: EX_TEMPFAIL).
set -eu
here="$(dirname "$0")"
dir="$(cat "$here/mail-dir")"
name="$(date +%s%N).$$"
printf '%s\n' "$*" > "$dir/$name.args.tmp"
cat > "$dir/$name.tmp"
if [ -s "$here/exit-status" ]; then status="$(cat "$here/exit-status")"; rm -f "$dir/$name.tmp" "$dir/$name.args.tmp"; exit "$status"; fi
mv "$dir/$name.args.tmp" "$dir/$name.args"
mv "$dir/$name.tmp" "$dir/$name.eml"
