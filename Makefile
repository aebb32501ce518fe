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

.PHONY: deps build run test bench install clean fuzz test-asan test-tsan crash soak

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

# Build products only. $(VAR) holds keys and the database: never removed by make.
clean:
	$(SWIFT) package clean
	rm -rf .build .build-fuzz .build-asan .build-tsan
