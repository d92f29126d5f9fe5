# Build tasks for imager. Each target is self-contained; run `make <target>`.

# protoc is not a Go module, so it is taken from the system. The committed
# generated code was produced with Debian bookworm's protobuf-compiler
# package: libprotoc 3.21.12 (apt-get install -y protobuf-compiler).
# The Go plugins are pinned by tools/go.mod (protoc-gen-go v1.36.12,
# protoc-gen-go-grpc v1.6.2) and built into tools/bin, as is staticcheck
# (honnef.co/go/tools v0.8.2), which `make lint` runs.
GO ?= go
BIN := $(CURDIR)/bin

# VERSION is stamped into every binary and image (internal/version); each
# prints it with -version, and `imager version` too. Override it with
# `make build VERSION=v1.2.3`.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
VERSION_LDFLAGS = -X github.com/PeladoCollado/imager/internal/version.version=$(VERSION)

## build: build the four commands into ./bin, stamped with VERSION.
build:
	$(GO) build -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/ ./cmd/orchestrator ./cmd/executor ./cmd/sumservice ./cmd/imager

## images: build the orchestrator, executor and sumservice container images
## (Dockerfile.*), tagged imager/<name>:$(IMAGE_TAG) and stamped with
## VERSION. Needs docker with BuildKit.
DOCKER ?= docker
IMAGE_TAG ?= local
IMAGES := orchestrator executor sumservice
images: $(addprefix image-,$(IMAGES))

## image-NAME: build the image of one command, e.g. make image-executor.
$(addprefix image-,$(IMAGES)): image-%:
	$(DOCKER) build --build-arg VERSION=$(VERSION) -t imager/$*:$(IMAGE_TAG) -f Dockerfile.$* .

## version: print VERSION, what build and images stamp.
version:
	@echo $(VERSION)

## test: format check, vet, staticcheck (lint), then every test with the
## race detector (this includes the end-to-end tests in test/e2e, which
## build and run the binaries), then every fuzz target for a few seconds
## (fuzz-short). The allocation tests skip themselves under the race
## detector (it allocates, and makes sync.Pool drop items), so they run
## once more without it.
test: fmt-check vet lint k8s-tools
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run 'Alloc' $(ALLOC_TEST_PKGS)
	@$(MAKE) --no-print-directory fuzz-short

## ALLOC_TEST_PKGS: the packages with allocation tests (Test*Alloc*).
ALLOC_TEST_PKGS := ./internal/check ./internal/engine ./internal/metrics ./internal/tally

## demo: run the one-machine demo (a sumservice on loopback and a short step profile).
demo:
	$(GO) run ./cmd/imager demo

vet:
	$(GO) vet ./...

## lint: staticcheck, with its default checks, over every package of the
## module, tests included; any finding fails. The staticcheck pinned by
## tools/go.mod is built into tools/bin first: go build relinks it only
## when the pin or the Go toolchain changed (about a second otherwise),
## and staticcheck keeps its analysis cache in the user cache directory,
## so only changed packages are analysed again. The first run on a fresh
## machine builds and analyses everything (a few minutes).
STATICCHECK := $(CURDIR)/tools/bin/staticcheck
lint:
	$(GO) -C tools build -trimpath -o $(STATICCHECK) honnef.co/go/tools/cmd/staticcheck
	$(STATICCHECK) ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') )"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

PROTOC ?= protoc
PROTOC_WANT := libprotoc 3.21.12
PROTO_DIR := proto
PROTO_FILES := $(PROTO_DIR)/imager/v1/control.proto
TOOLS_BIN := $(CURDIR)/tools/bin

.PHONY: build images $(addprefix image-,$(IMAGES)) version test demo bench proto vet lint fmt-check

## proto: regenerate the Go code for the gRPC control-plane protocol.
proto:
	@command -v $(PROTOC) >/dev/null 2>&1 || { \
		echo "make proto: '$(PROTOC)' not found." >&2; \
		echo "Install it with: sudo apt-get update && sudo apt-get install -y protobuf-compiler" >&2; \
		echo "(or set PROTOC=/path/to/protoc; the committed code used $(PROTOC_WANT))" >&2; \
		exit 1; }
	@v="$$($(PROTOC) --version)"; [ "$$v" = "$(PROTOC_WANT)" ] || \
		echo "make proto: warning: $$v differs from $(PROTOC_WANT); the generated headers will change" >&2
	go -C tools build -trimpath -o $(TOOLS_BIN)/ \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc
	$(PROTOC) -I $(PROTO_DIR) \
		--plugin=protoc-gen-go=$(TOOLS_BIN)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(TOOLS_BIN)/protoc-gen-go-grpc \
		--go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
		--go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
		$(PROTO_FILES)

## bench: benchmark the load engine against an in-process loopback target
## (open-loop sustained-rate search, closed-loop maximum, per-request cost)
## plus the micro benchmarks of other packages and the planning of a
## round of 1,000,000 requests for 50 executors. Takes about two minutes;
## docs/BENCHMARKS.md explains the method and records measured figures.
BENCH_FLAGS ?=
bench:
	go test -run '^$$' -bench '^Benchmark(OpenLoopSustained|ClosedLoop)$$' -benchtime 1x -timeout 5m $(BENCH_FLAGS) ./internal/engine/
	go test -run '^$$' -bench '^Benchmark(Send|RunnerPerRequest)$$' -benchmem -timeout 5m $(BENCH_FLAGS) ./internal/engine/
	go test -run '^$$' -bench . -benchmem -timeout 5m $(BENCH_FLAGS) ./internal/requests/ ./internal/metrics/
	go test -run '^$$' -bench . -benchmem -cpu 1,2 -timeout 5m $(BENCH_FLAGS) ./script/ ./internal/lualib/
	go test -run '^$$' -bench '^BenchmarkPlanRound50x1M$$' -benchtime 5x -benchmem -timeout 5m $(BENCH_FLAGS) ./orchestrator/manager/

## bench-peers: imager side by side with wrk (and vegeta) on one core each
## against one nginx worker pinned to another core, all on 127.0.0.1;
## installs wrk and nginx-light from Debian when missing. Prints one table;
## about 10 minutes (BENCH_PEERS_DURATION=3s for a quick try; the other
## BENCH_PEERS_* variables are in test/bench/peers/config.go). See
## docs/BENCHMARKS.md, section "Side by side with wrk".
bench-peers:
	GO=$(GO) $(GO) run ./test/bench/peers

.PHONY: bench-peers

## soak: run a sumservice, an orchestrator and two executors on loopback at
## a fixed rate for SOAK_DURATION (default 10m, SOAK_RATE default 500 rps),
## sample RSS, open fds and goroutines of each every SOAK_INTERVAL (10s),
## print the samples and fail if any grows without bound. Not part of
## `make test`; see docs/BENCHMARKS.md, section Soak.
soak:
	$(GO) test -tags soak -count=1 -v -run '^TestSoak$$' -timeout 60m ./internal/testutil/soak/

.PHONY: soak

## fuzz: run every Go fuzz target in the repository for FUZZTIME each
## (default 2m), one after another. The targets are those `go test -list`
## finds in the packages whose tests declare a FuzzXxx function; each keeps
## its seed corpus in testdata/fuzz/<FuzzXxx>/ of its package, where go test
## also saves an input that fails. Go 1.26's fuzz coordinator can fail a
## target with a bare "context deadline exceeded" as -fuzztime ends, on a
## busy machine (go.dev/issue/75804); a target that fails that way without
## writing a failing input runs once more.
FUZZTIME ?= 2m
fuzz:
	@pkgs="$$($(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r p d; do \
		grep -qsE '^func Fuzz[A-Z0-9_]' "$$d"/*_test.go && echo "$$p"; done)"; \
	[ -n "$$pkgs" ] || { echo "make fuzz: no fuzz targets found" >&2; exit 1; }; \
	list="$$($(GO) test -vet=off -list '^Fuzz' $$pkgs)" || { echo "$$list" >&2; exit 1; }; \
	echo "$$list" | awk '/^Fuzz/ { n[++k] = $$1; next } /^ok/ { for (i = 1; i <= k; i++) print $$2, n[i]; k = 0 }' | \
	while read -r pkg name; do \
		echo "make fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		for try in 1 2; do \
			out="$$($(GO) test -vet=off -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1)" && { echo "$$out"; break; }; \
			echo "$$out"; \
			if [ $$try = 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "make fuzz: $$name: Go's fuzz coordinator raced its own -fuzztime deadline (go.dev/issue/75804, fixed in Go 1.27); no failing input was found; once more"; \
			else exit 1; fi; \
		done; \
	done

## fuzz-short: every fuzz target for 3 seconds; part of make test.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

.PHONY: fuzz fuzz-short

## k8s-tools: build (or find in the cache) the kube-apiserver, etcd and
## kubectl that the Kubernetes tests run, and the helm that renders and
## lints deploy/helm/imager. They come from the separate modules
## test/k8s/tools and test/k8s/helmtool and are cached under
## IMAGER_K8S_CACHE (default ~/.cache/imager-k8s); the first build takes
## several minutes.
k8s-tools:
	$(GO) test -count=1 -v -run '^(TestBinaries|TestHelm)$$' -timeout 60m ./internal/testutil/cluster/

## e2e: the tests that run a real kube-apiserver and etcd on loopback.
e2e: k8s-tools
	$(GO) test -race -count=1 -timeout 30m ./test/k8s/...

.PHONY: k8s-tools e2e
