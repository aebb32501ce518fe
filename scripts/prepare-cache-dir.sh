#!/usr/bin/env bash
# Creates or checks the verify micro-cache directory (it holds bearer tokens in clear).
# usage: prepare-cache-dir.sh CACHE_DIR OWNER [GROUP]
#   CACHE_DIR's parent: created 0750 (group GROUP when given) or, when it exists, must be a real
#   directory owned by root or by us and not writable by group/other.
#   CACHE_DIR: created 0700 owned by OWNER (nginx's worker user) or, when it exists, must be a
#   real directory owned by OWNER with no group/other permission bits; anything else is refused
#   (another local user may have created it first to plant entries or read tokens).
set -eu

dir="${1:?usage: prepare-cache-dir.sh CACHE_DIR OWNER [GROUP]}"
owner="${2:?usage: prepare-cache-dir.sh CACHE_DIR OWNER [GROUP]}"
group="${3:-}"

refuse() { printf 'prepare-cache-dir.sh: refusing to start: %s\n' "$*" >&2; exit 1; }

case "$dir" in
    /*) ;;
    *) refuse "the verify cache dir must be an absolute path: '$dir'" ;;
esac
owner_uid="$(id -u -- "$owner" 2>/dev/null)" || refuse "unknown user '$owner'"
me="$(id -u)"
parent="$(dirname -- "$dir")"

if [ -L "$parent" ]; then refuse "$parent is a symbolic link"; fi
if [ -e "$parent" ]; then
    [ -d "$parent" ] || refuse "$parent is not a directory"
    p_uid="$(stat -c %u -- "$parent")"
    p_mode="$(stat -c %a -- "$parent")"
    if [ "$p_uid" != 0 ] && [ "$p_uid" != "$me" ]; then
        refuse "$parent is owned by uid $p_uid, not by root: another user controls the verify cache's parent"
    fi
    if [ $(( 8#$p_mode & 8#022 )) -ne 0 ]; then
        refuse "$parent has mode $p_mode (group/other-writable): the verify cache needs a parent only root writes"
    fi
else
    mkdir -p -- "$parent"
    if [ -n "$group" ]; then chgrp -- "$group" "$parent"; fi
    chmod 0750 -- "$parent"
fi

if [ -L "$dir" ]; then refuse "$dir is a symbolic link"; fi
if [ -e "$dir" ]; then
    [ -d "$dir" ] || refuse "$dir exists and is not a directory"
    d_uid="$(stat -c %u -- "$dir")"
    d_mode="$(stat -c %a -- "$dir")"
    if [ "$d_uid" != "$owner_uid" ]; then
        refuse "$dir already exists, owned by uid $d_uid instead of $owner (uid $owner_uid); remove it after checking who made it"
    fi
    if [ $(( 8#$d_mode & 8#077 )) -ne 0 ]; then
        refuse "$dir already exists with mode $d_mode (group/other access); it must be 0700"
    fi
else
    mkdir -m 0700 -- "$dir"
    if [ "$owner_uid" != "$me" ]; then chown -- "$owner" "$dir"; fi
fi
