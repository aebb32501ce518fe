# Authgate. Two commands: `make run` (demo stack on https://127.0.0.1:$(PORT)) and `make test`.
# Every recipe runs under bash -eu -o pipefail; variables are quoted where they reach a shell.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

PORT   ?= 8443
VAR    ?= ./var
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT  ?= swift
export PORT VAR

PRODUCTS := authgate-fcgi authgate-ws authgate authgate-demo-upstream

.PHONY: test-failover deps build build-static run run-pg test test-hosts bench install uninstall install-check clean fuzz test-asan test-tsan crash soak faults clock deb deb-repro test-systemd

# make install: binaries linked with the Swift runtime statically (-static-stdlib), so a host
# needs no Swift toolchain, only libfcgi0ldbl, libssl3, libsqlite3-0, libpq5, libqrencode4, libcurl4 (and glibc). Built in a scratch
# dir of its own so it never invalidates the plain release build make run uses.
STATIC_DIR ?= .build/static
BIN_DIR ?= $(STATIC_DIR)/release
SYSTEMD_DIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR ?= $(PREFIX)/lib/sysusers.d
SERVICE_PRODUCTS := authgate-fcgi authgate-ws authgate
SNIPPETS := $(notdir $(wildcard nginx/snippets/*.conf))
UNITS := authgate.socket authgate.service authgate-ws.socket authgate-ws.service

deps:
	scripts/deps.sh

build: deps
	$(SWIFT) build -c release

run: deps
	scripts/run.sh

# The same demo on a PostgreSQL server of its own in $(VAR)/pg (Unix socket only; PG_PORT names
# the socket, default 5432), started before the stack and stopped after it; AUTH_DB_URL is set
# for the responder, companion and CLI. `AUTH_DB_URL=... make run` uses a server you run.
run-pg: deps
	scripts/run-pg.sh

test: deps
	scripts/test.sh

# Issue 24: the failover test's long form (make test runs it with 10 logouts and 10 refresh chains).
test-failover: deps
	$(SWIFT) build --build-tests
	AUTHGATE_FAILOVER_SESSIONS=$${AUTHGATE_FAILOVER_SESSIONS:-100} AUTH_SCRYPT="$${AUTH_SCRYPT:-ln=4,r=8,p=1}" \
	    $(SWIFT) test --skip-build --filter 'FailoverTests|PgBouncerTests|PostgresBudgetTests'

bench: deps
	if [ -x scripts/bench.sh ]; then scripts/bench.sh; else echo "make bench: scripts/bench.sh is not there yet"; fi

build-static:
	scripts/deps.sh --build
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path "$(STATIC_DIR)"

# Installs exactly: the three binaries, the nginx template and snippets, render-nginx.sh, the
# README, the systemd units and sysusers file, and /etc/authgate/authgate.conf when it is absent
# (an existing one is never overwritten; the example is always at share/authgate/). NO_BUILD=1
# installs what BIN_DIR holds without building (tests).
install: $(if $(NO_BUILD),,build-static)
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/authgate/nginx/snippets" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/scripts" "$(DESTDIR)$(PREFIX)/share/doc/authgate" \
	    "$(DESTDIR)$(SYSTEMD_DIR)" "$(DESTDIR)$(SYSUSERS_DIR)" "$(DESTDIR)/etc/authgate"
	for p in $(SERVICE_PRODUCTS); do install -m 0755 "$(BIN_DIR)/$$p" "$(DESTDIR)$(PREFIX)/bin/$$p"; done
	install -m 0644 nginx/authgate.conf.template "$(DESTDIR)$(PREFIX)/share/authgate/nginx/"
	install -m 0644 nginx/snippets/*.conf "$(DESTDIR)$(PREFIX)/share/authgate/nginx/snippets/"
	install -m 0755 scripts/render-nginx.sh "$(DESTDIR)$(PREFIX)/share/authgate/scripts/"
	install -d "$(DESTDIR)$(PREFIX)/share/authgate/apache" "$(DESTDIR)$(PREFIX)/share/authgate/lighttpd" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/caddy"
	install -m 0644 apache/* "$(DESTDIR)$(PREFIX)/share/authgate/apache/"
	install -m 0644 caddy/* "$(DESTDIR)$(PREFIX)/share/authgate/caddy/"
	install -m 0644 lighttpd/* "$(DESTDIR)$(PREFIX)/share/authgate/lighttpd/"
	install -m 0755 scripts/render-servers.sh "$(DESTDIR)$(PREFIX)/share/authgate/scripts/"
	install -m 0644 etc/authgate.conf.example "$(DESTDIR)$(PREFIX)/share/authgate/authgate.conf.example"
	install -m 0644 README.md "$(DESTDIR)$(PREFIX)/share/doc/authgate/README.md"
	for u in $(UNITS); do sed -e 's|@PREFIX@|$(PREFIX)|g' "systemd/$$u" > "$(DESTDIR)$(SYSTEMD_DIR)/$$u.tmp"; \
	    chmod 0644 "$(DESTDIR)$(SYSTEMD_DIR)/$$u.tmp"; mv -f "$(DESTDIR)$(SYSTEMD_DIR)/$$u.tmp" "$(DESTDIR)$(SYSTEMD_DIR)/$$u"; done
	install -m 0644 systemd/authgate.sysusers "$(DESTDIR)$(SYSUSERS_DIR)/authgate.conf"
	if [ -e "$(DESTDIR)/etc/authgate/authgate.conf" ]; then \
	    echo "install: keeping the existing $(DESTDIR)/etc/authgate/authgate.conf"; \
	else install -m 0644 etc/authgate.conf.example "$(DESTDIR)/etc/authgate/authgate.conf"; fi

# Removes exactly what install added; never /etc/authgate/authgate.conf, the key ring or the database.
uninstall:
	for p in $(SERVICE_PRODUCTS); do rm -f "$(DESTDIR)$(PREFIX)/bin/$$p"; done
	rm -f "$(DESTDIR)$(PREFIX)/share/authgate/nginx/authgate.conf.template" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/scripts/render-nginx.sh" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/authgate.conf.example" \
	    "$(DESTDIR)$(PREFIX)/share/doc/authgate/README.md" "$(DESTDIR)$(SYSUSERS_DIR)/authgate.conf" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/scripts/render-servers.sh"
	for f in apache/*; do rm -f "$(DESTDIR)$(PREFIX)/share/authgate/$$f"; done
	for f in lighttpd/*; do rm -f "$(DESTDIR)$(PREFIX)/share/authgate/$$f"; done
	for f in caddy/*; do rm -f "$(DESTDIR)$(PREFIX)/share/authgate/$$f"; done
	for f in $(SNIPPETS); do rm -f "$(DESTDIR)$(PREFIX)/share/authgate/nginx/snippets/$$f"; done
	for u in $(UNITS); do rm -f "$(DESTDIR)$(SYSTEMD_DIR)/$$u"; done
	for d in share/authgate/nginx/snippets share/authgate/nginx share/authgate/apache share/authgate/lighttpd share/authgate/caddy share/authgate/scripts share/authgate share/doc/authgate; do \
	    rmdir "$(DESTDIR)$(PREFIX)/$$d" 2>/dev/null || true; done

# Debian package (README "Install on a server"): dist/authgate_<version>_amd64.deb by
# dpkg-buildpackage/dh (debian/) from the build-static binaries, checked by lintian (dist/lintian.txt).
deb:
	scripts/deb.sh

# The package built twice, once from this tree and once from a `git archive` export of it (no .git),
# with the same binaries: the two .deb files must be byte for byte the same.
deb-repro:
	scripts/deb-repro.sh

# The .deb under a real systemd as PID 1 (../shared/tools/systemd-boot.sh): apt install on a fresh
# Debian 12 root with nginx and PostgreSQL, then every case of scripts/systemd-cases.sh, timed.
# make test runs the short form (AUTHGATE_SYSTEMD=short). SDBOOT_CACHE: the cached roots. The .deb
# is built once: here only when dist/ has none or it is older than its inputs (then with lintian).
test-systemd:
	scripts/test-systemd.sh full

# Follows the README's "Install on a server" on a fresh Debian 12 root (it changes the host it runs
# on: never run it outside a throwaway root). FRESH: the tool that makes one.
FRESH ?= ../shared/tools/fresh-debian.sh
install-check:
	if [ "$${AUTHGATE_INSTALL_CHECK:-}" = yes ]; then scripts/install-check.sh; \
	elif [ -x "$(FRESH)" ]; then "$(FRESH)" . "$$(dirname "$$(dirname "$(FRESH)")")" 'AUTHGATE_INSTALL_CHECK=yes scripts/install-check.sh'; \
	else echo "make install-check: needs $(FRESH) (a throwaway Debian 12 root), or AUTHGATE_INSTALL_CHECK=yes inside one" >&2; exit 2; fi

# Reliability (README "Reliability and security"). Each has its own scratch path; .build is untouched.
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
AUTHGATE_CRASH_KILLS ?= 60
export FUZZ_SECONDS SOAK_SECONDS AUTHGATE_CRASH_KILLS

fuzz: deps
	scripts/fuzz.sh

test-asan: deps
	scripts/sanitize.sh address

test-tsan: deps
	scripts/sanitize.sh thread

crash: deps
	scripts/reliability.sh crash

soak: deps
	scripts/reliability.sh soak

# Eight hosts on one PostgreSQL in full (issue 24, README "Several hosts (PostgreSQL)"): 200
# propagation trials (cache off and on), WebSocket 4003 on every host, connections, PostgreSQL's
# work per login/refresh/logout, throughput; prints the table. make test runs it with 30 trials.
AUTHGATE_HOSTS_TRIALS ?= 200
test-hosts: deps
	$(SWIFT) build --build-tests
	AUTHGATE_HOSTS_TRIALS="$(AUTHGATE_HOSTS_TRIALS)" $(SWIFT) test --skip-build --filter 'EightHostTests' 2>&1 \
	    | tee /dev/stderr | grep '^note: ' | sed 's/^note: //'

# Storage faults in full (README "Reliability and security"): every write (login, refresh, logout,
# password change, API key creation) failed at every one of its I/O calls, with SQLITE_FULL that
# stays and with one SQLITE_IOERR_WRITE (Tests/FaultVFS), then the real 16 MiB tmpfs filled to the
# last byte. make test runs the same suites with three failure points per write.
faults: deps
	$(SWIFT) build --build-tests
	AUTHGATE_FAULTS=all AUTH_SCRYPT="$${AUTH_SCRYPT:-ln=4,r=8,p=1}" $(SWIFT) test --skip-build \
	    --filter 'FaultInjectionTests|DiskFullTests|StorageOutageTests|StorageFailureLogTests'

# The stack's wall clock stepped -1 h and +1 day under traffic (libfaketime), AUTHGATE_CLOCK_ROUNDS
# rounds (default 6) of AUTHGATE_CLOCK_PHASE_SECONDS (default 10) per step; make test runs one short round.
clock: deps
	scripts/reliability.sh clock

# Build products only. $(VAR) holds keys and the database: never removed by make.
clean:
	$(SWIFT) package clean
	rm -rf .build .build-fuzz .build-asan .build-tsan
