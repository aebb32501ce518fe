#!/usr/bin/env bash
# A man page, section 8, from a binary's --help: manpage.sh BINARY NAME > NAME.8 (debian/rules).
# The date is SOURCE_DATE_EPOCH's (reproducible), the version the binary's --version.
set -euo pipefail
bin="${1:?usage: manpage.sh BINARY NAME}"
name="${2:?usage: manpage.sh BINARY NAME}"
help="$("$bin" --help 2>&1)"
version="$("$bin" --version 2>&1 | head -n 1)"
date="$(date -u -d "@${SOURCE_DATE_EPOCH:-0}" +%Y-%m-%d)"
case "$name" in
authgate) summary="administer Authgate: tenants, users, keys, sessions, configuration" ;;
authgate-fcgi) summary="Authgate FastCGI responder behind nginx auth_request, Apache or lighttpd" ;;
authgate-ws) summary="Authgate WebSocket companion" ;;
*) summary="part of Authgate" ;;
esac
# roff: a backslash is \e; a line starting with . or ' would be a request: \& before it.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
printf '.TH %s 8 "%s" "%s" "System Administration"\n' "$(printf '%s' "$name" | tr a-z A-Z)" "$date" "$version"
printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
printf '.SH SYNOPSIS\n.B %s\n[options]\n' "$name"
printf '.SH DESCRIPTION\nThe text below is the output of\n.BR "%s \\-\\-help" .\n.PP\n.nf\n' "$name"
printf '%s\n' "$help" | esc
printf '.fi\n.SH FILES\n'
printf '.TP\n.I /etc/authgate/authgate.conf\nconfiguration (KEY=value; the environment wins)\n'
printf '.TP\n.I /var/lib/authgate\ndatabase and key ring\n'
printf '.TP\n.I /run/authgate\nthe sockets (authgate.socket, authgate\\-ws.socket)\n'
printf '.SH SEE ALSO\n'
printf '.BR authgate (8),\n.BR authgate\\-fcgi (8),\n.BR authgate\\-ws (8),\n.BR systemd.socket (5),\n.I /usr/share/doc/authgate/README.md\n'
