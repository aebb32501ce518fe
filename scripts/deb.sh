#!/usr/bin/env bash
# make deb: dist/authgate_<version>_amd64.deb, built by Debian's tools (dpkg-buildpackage -b, dh:
# debian/rules), from the static-stdlib binaries (make build-static), then checked with lintian
# (output in dist/lintian.txt; any error or warning fails: the ones left are overridden in
# debian/authgate.lintian-overrides, each with its reason). Works in a tree without .git (git
# archive): nothing here reads git. SOURCE_DATE_EPOCH is the date of debian/changelog's entry
# (dpkg-buildpackage sets it), so the same tree gives the same bytes (scripts/deb-repro.sh).
# AUTHGATE_DEB_BIN_DIR=DIR packs binaries built already instead of running make build-static.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh --deb

version="$(dpkg-parsechangelog -S Version)"
app="$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/AuthCore/API/App.swift)"
[ "$version" = "$app" ] || {
    echo "make deb: debian/changelog says $version, App.version says $app: add a changelog entry (dch -v $app)" >&2
    exit 1
}
arch="$(dpkg --print-architecture)"
out="dist"
mkdir -p "$out"
base="authgate_${version}_${arch}"
rm -f "$out/$base.deb" "$out/$base.buildinfo" "$out/$base.changes"
started=$(date +%s)
# -b: binary only (a native package's source is this tree); -uc -us: unsigned (signing is the
# archive's step). The .buildinfo and .changes go to dist/ too.
AUTHGATE_DEB_OUT="$out" dpkg-buildpackage -b -uc -us \
    --buildinfo-option="-u$out" --buildinfo-option="-O$out/$base.buildinfo" \
    --changes-option="-u$out" --changes-option="-O$out/$base.changes"
echo "make deb: dpkg-buildpackage took $(( $(date +%s) - started )) s"
deb="$out/$base.deb"
[ -f "$deb" ] || { echo "make deb: no $deb" >&2; exit 1; }
dpkg-deb -I "$deb"
if dpkg-deb -I "$deb" control | grep -i '^Depends:.*swift'; then
    echo "make deb: Depends names a Swift package" >&2; exit 1
fi
check="$(mktemp -d)"
trap 'rm -rf "$check"' EXIT
dpkg-deb -x "$deb" "$check"
for b in authgate authgate-fcgi authgate-ws; do
    if ldd "$check/usr/bin/$b" | grep -Ei 'swift|not found'; then
        echo "make deb: $b links a Swift runtime library or a missing one (above)" >&2; exit 1
    fi
done
if [ "${AUTHGATE_DEB_LINTIAN:-1}" = 0 ]; then
    echo "make deb: $deb ($(du -h "$deb" | cut -f1)), sha256 $(sha256sum "$deb" | cut -c1-16)…; lintian NOT run (AUTHGATE_DEB_LINTIAN=0; make deb runs it)"
    exit 0
fi
echo "make deb: lintian (dist/lintian.txt)"
t0=$(date +%s)
lrc=0
lintian --info --display-info --fail-on error,warning "$out/$base.changes" > "$out/lintian.txt" 2>&1 || lrc=$?
grep -v '^N:' "$out/lintian.txt" | grep -v '^$' | sort | uniq -c | sort -rn
echo "make deb: lintian took $(( $(date +%s) - t0 )) s (explanations: dist/lintian.txt)"
[ "$lrc" -eq 0 ] || { echo "make deb: lintian found errors or warnings (above)" >&2; exit 1; }
echo "make deb: $deb ($(du -h "$deb" | cut -f1)), sha256 $(sha256sum "$deb" | cut -c1-16)…, lintian: no errors, no warnings"
