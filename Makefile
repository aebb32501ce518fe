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

.PHONY: deps build run test bench install clean

deps:
	scripts/deps.sh

build: deps
	$(SWIFT) build -c release

run: deps
	scripts/run.sh

test: deps
	scripts/test.sh

bench: deps
	if [ -x scripts/bench.sh ]; then scripts/bench.sh; else echo "make bench: scripts/bench.sh is not there yet"; fi

install: build
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/authgate/nginx/snippets" \
	    "$(DESTDIR)$(PREFIX)/share/authgate/scripts"
	for p in $(PRODUCTS); do install -m 0755 ".build/release/$$p" "$(DESTDIR)$(PREFIX)/bin/$$p"; done
	install -m 0644 nginx/authgate.conf.template "$(DESTDIR)$(PREFIX)/share/authgate/nginx/"
	install -m 0644 nginx/snippets/*.conf "$(DESTDIR)$(PREFIX)/share/authgate/nginx/snippets/"
	install -m 0755 scripts/render-nginx.sh "$(DESTDIR)$(PREFIX)/share/authgate/scripts/"
	install -d "$(DESTDIR)$(PREFIX)/share/authgate/apache" "$(DESTDIR)$(PREFIX)/share/authgate/lighttpd"
	install -m 0644 apache/* "$(DESTDIR)$(PREFIX)/share/authgate/apache/"
	install -m 0644 lighttpd/* "$(DESTDIR)$(PREFIX)/share/authgate/lighttpd/"
	install -m 0755 scripts/render-servers.sh "$(DESTDIR)$(PREFIX)/share/authgate/scripts/"

# Build products only. $(VAR) holds keys and the database: never removed by make.
clean:
	$(SWIFT) package clean
	rm -rf .build
