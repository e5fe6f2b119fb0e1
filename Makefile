# hotdash-console: `make run` opens the console on the embedded simulator,
# `make test` runs every check and test.

# The patched Go release the module requires (go.mod's go line); the go
# command fetches it from the module proxy once. A machine's own older Go
# ignores go.mod's go line (GOTOOLCHAIN=local), so it is named here for every
# target; `make GOTOOLCHAIN=...` overrides it.
export GOTOOLCHAIN := go1.27.3

GO      ?= go
BIN     := bin/hotdash-console
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PKGS    := ./...

.PHONY: run build test lint fmt bench clean

## run: open the console on the embedded simulated environment
run: build
	./$(BIN)

## build: build bin/hotdash-console
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hotdash-console

## test: formatting, vet, staticcheck, then every test (with the race detector)
test: lint
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## lint: gofmt, go vet and staticcheck must all be clean
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

## fmt: format the code
fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: the performance benchmarks (log pipeline, rendering, checks)
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
