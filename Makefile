# Crossdock: `make run` starts everything, `make test` tests everything.
# Needs only Go and make; the Temporal CLI is built from its Go module.

GO        ?= go
BIN       := $(CURDIR)/bin
TEMPORAL  := $(BIN)/temporal
# Pure Go everywhere (the embedded SQLite is modernc's): no C toolchain needed.
export CGO_ENABLED ?= 0

TEMPORAL_CLI_VERSION  := v1.5.1
STATICCHECK_VERSION   := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: run test bench soak fuzz build lint fmt tidy clean

## run: build and start the whole system on embedded defaults (crossdock dev)
run: build $(TEMPORAL)
	$(BIN)/crossdock dev

## build: build bin/crossdock
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/crossdock ./cmd/crossdock

## test: every test; Postgres on 127.0.0.1:5432 and the Temporal CLI are used for real
test: $(TEMPORAL)
	CROSSDOCK_TEMPORAL_CLI=$(TEMPORAL) $(GO) test -count=1 -timeout 30m ./...

## bench: measure each target against its baseline in the same run; writes bench/results/latest.{json,md}
bench: build $(TEMPORAL)
	CROSSDOCK_TEMPORAL_CLI=$(TEMPORAL) $(BIN)/crossdock bench $(BENCH_FLAGS)

## soak: many orders through the real stack, the fault tests (README "Reliability"), then each intake fuzzed for SOAK_FUZZTIME (15s); under 20 minutes
SOAK_TESTS := TestEndToEnd|TestWorkerKilled|TestTemporalRestarted|TestAPIKilled|TestPostgresRestarted
soak: $(TEMPORAL)
	CROSSDOCK_TEMPORAL_CLI=$(TEMPORAL) CROSSDOCK_SOAK=1 CROSSDOCK_SOAK_ORDERS=$${CROSSDOCK_SOAK_ORDERS:-100} \
		$(GO) test -count=1 -timeout 20m -run '^($(SOAK_TESTS))$$' -v ./cmd/crossdock
	$(MAKE) fuzz FUZZTIME=$${SOAK_FUZZTIME:-15s}

## fuzz: run each fuzz target of ./api for FUZZTIME (default 20s); crashers land in api/testdata/fuzz
FUZZTIME ?= 20s
fuzz:
	@for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' api/*_test.go); do \
		echo "== $$target"; \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./api/ || exit 1; \
	done

## lint: go vet, staticcheck and Temporal's workflowcheck (installed into ./bin)
lint: $(BIN)/staticcheck $(BIN)/workflowcheck
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/workflowcheck ./workflows/...

## fmt: gofmt every Go file
fmt:
	gofmt -w $$(git ls-files '*.go')

## tidy: tidy go.mod and go.sum
tidy:
	$(GO) mod tidy

clean:
	rm -rf $(BIN)

# Tools are built from source into ./bin, outside go.mod (their pins clash with ours).
$(TEMPORAL):
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
