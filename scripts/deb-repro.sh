#!/usr/bin/env bash
# make deb-repro: the same commit gives the same .deb, byte for byte, and the package builds from an
# exported tree without .git (`git archive`, the way source packages are made).
#   1. make deb here (dist/), 2. the tree exported with `git archive` (the working tree's tracked
#   files, through `git stash create`, so uncommitted edits count) into a temporary folder, no
#   .git, and dpkg-buildpackage run there on the same build-static binaries
#   (AUTHGATE_DEB_BIN_DIR); 3. the two .deb files compared with cmp (diffoscope names the
#   difference when installed). SOURCE_DATE_EPOCH comes from debian/changelog in both.
# What it does not redo: compiling the Swift sources a second time in the export (the binaries
# are the same files in both builds); AUTHGATE_REPRO_COMPILE=1 does that too (a full release
# build, several minutes) and then compares the binaries as well.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
command -v git >/dev/null && [ -e .git ] || { echo "deb-repro: needs a git checkout (to export from)" >&2; exit 2; }
AUTHGATE_DEB_LINTIAN="${AUTHGATE_DEB_LINTIAN:-0}" scripts/deb.sh
version="$(dpkg-parsechangelog -S Version)"
name="authgate_${version}_$(dpkg --print-architecture).deb"
first="$root/dist/$name"
work="$(mktemp -d /tmp/authgate-deb-repro.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rev="$(git stash create 2>/dev/null || true)"   # empty (and non-zero at times) when nothing is uncommitted
rev="${rev:-HEAD}"
git archive --format=tar --prefix="authgate-$version/" "$rev" | tar -x -C "$work"
src="$work/authgate-$version"
[ ! -e "$src/.git" ] || { echo "deb-repro: the export has a .git" >&2; exit 1; }
bin="$root/.build/static/release"
if [ "${AUTHGATE_REPRO_COMPILE:-0}" = 1 ]; then bin=""; fi
echo "deb-repro: building again in $src (no .git)$([ -n "$bin" ] && echo ", binaries from $bin")"
(cd "$src" && AUTHGATE_DEB_BIN_DIR="$bin" AUTHGATE_DEB_LINTIAN=0 scripts/deb.sh)
second="$src/dist/$name"
if [ -z "$bin" ]; then
    for b in authgate authgate-fcgi authgate-ws; do
        if cmp "$root/.build/static/release/$b" "$src/.build/static/release/$b"; then echo "deb-repro: $b compiled twice: same bytes"
        else echo "deb-repro: $b compiled twice: DIFFERENT bytes"; fi
    done
fi
sha1="$(sha256sum < "$first" | cut -d' ' -f1)"
sha2="$(sha256sum < "$second" | cut -d' ' -f1)"
echo "deb-repro: tree   $sha1  $first"
echo "deb-repro: export $sha2  (git archive $rev, no .git)"
if cmp "$first" "$second"; then
    echo "deb-repro: OK, the same bytes"
else
    command -v diffoscope >/dev/null && diffoscope "$first" "$second" | head -n 60
    echo "deb-repro: the two builds differ" >&2
    exit 1
fi
