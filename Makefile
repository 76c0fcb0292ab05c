# Developer shortcuts. CI runs `make ci`, which is `bash .ci/run`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 30s

# Keep in step with the Dockerfile and .ci/run: a static binary (cgo for
# SQLite, linked against glibc's libc.a) that runs with nothing beside it.
BUILD_TAGS := osusergo netgo sqlite_omit_load_extension
LDFLAGS := -s -w -X main.version=$(VERSION) -linkmode external -extldflags '-static'

.PHONY: build test race vet fmt lint fuzz bench golden ci clean screenshots

build:
	CGO_ENABLED=1 $(GO) build -trimpath -tags '$(BUILD_TAGS)' -ldflags "$(LDFLAGS)" -o ./warroom ./cmd/warroom

test:
	$(GO) test -race ./...

race: test

vet:
	$(GO) vet ./...

fmt:
	@files="$$(gofmt -l .)"; \
	if [ -n "$$files" ]; then echo "not gofmt-formatted (run gofmt -w .):"; echo "$$files"; exit 1; fi

lint: vet fmt

# Runs every Fuzz target in the module for FUZZTIME each, one at a time (the
# go command fuzzes one target per run). `go test -list` prints a package's
# matching names and then its "ok <package>" line.
fuzz:
	@targets="$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { n[c++] = $$1; next } /^ok[ \t]/ { for (i = 0; i < c; i++) print $$2, n[i] } { c = 0 }')"; \
	if [ -z "$$targets" ]; then echo "no fuzz targets found"; exit 0; fi; \
	while read -r pkg name; do \
		echo "==> $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg" </dev/null; \
	done <<< "$$targets"

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Rewrites golden files. Only packages whose tests define an -update flag
# get it: passing an unknown flag to the others would fail them.
golden:
	@pkgs="$$(grep -rl --include='*_test.go' 'flag.Bool("update"' . | xargs -r -n1 dirname | sort -u)"; \
	if [ -z "$$pkgs" ]; then echo "no package has an -update flag"; exit 0; fi; \
	echo "$(GO) test" $$pkgs "-update"; \
	$(GO) test $$pkgs -update

ci:
	bash .ci/run

clean:
	rm -f ./warroom
	rm -rf ./dist

# Regenerates the README screenshots (docs/img/*.png) with the browser test,
# which drives the web room in headless Chromium (apt-get install chromium;
# fonts-noto-color-emoji too, or the status emoji show as boxes).
screenshots:
	mkdir -p docs/img
	WARROOM_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run '^TestBrowser$$' -v ./cmd/warroom/
