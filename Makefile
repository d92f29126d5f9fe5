# Build tasks for imager. Each target is self-contained; run `make <target>`.

# protoc is not a Go module, so it is taken from the system. The committed
# generated code was produced with Debian bookworm's protobuf-compiler
# package: libprotoc 3.21.12 (apt-get install -y protobuf-compiler).
# The Go plugins are pinned by tools/go.mod (protoc-gen-go v1.36.12,
# protoc-gen-go-grpc v1.6.2) and built into tools/bin.
GO ?= go
BIN := $(CURDIR)/bin

## build: build the four commands into ./bin.
build:
	$(GO) build -o $(BIN)/ ./cmd/orchestrator ./cmd/executor ./cmd/sumservice ./cmd/imager

## test: format check, vet, then every test with the race detector (this
## includes the end-to-end tests in test/e2e, which build and run the binaries).
test: fmt-check vet k8s-tools
	$(GO) test -race -count=1 -timeout 20m ./...

## demo: run the one-machine demo (a sumservice on loopback and a short step profile).
demo:
	$(GO) run ./cmd/imager demo

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') )"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

PROTOC ?= protoc
PROTOC_WANT := libprotoc 3.21.12
PROTO_DIR := proto
PROTO_FILES := $(PROTO_DIR)/imager/v1/control.proto
TOOLS_BIN := $(CURDIR)/tools/bin

.PHONY: build test demo bench proto vet fmt-check

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
## plus the micro benchmarks of other packages. Takes about a minute;
## docs/BENCHMARKS.md explains the method and records measured figures.
BENCH_FLAGS ?=
bench:
	go test -run '^$$' -bench '^Benchmark(OpenLoopSustained|ClosedLoop)$$' -benchtime 1x -timeout 5m $(BENCH_FLAGS) ./engine/
	go test -run '^$$' -bench '^Benchmark(Send|RunnerPerRequest)$$' -benchmem -timeout 5m $(BENCH_FLAGS) ./engine/
	go test -run '^$$' -bench . -benchmem -timeout 5m $(BENCH_FLAGS) ./orchestrator/requests/ ./metrics/
	go test -run '^$$' -bench . -benchmem -cpu 1,2 -timeout 5m $(BENCH_FLAGS) ./script/ ./lualib/

## k8s-tools: build (or find in the cache) the kube-apiserver, etcd and
## kubectl that the Kubernetes tests run, and the helm that renders and
## lints deploy/helm/imager. They come from the separate modules
## test/k8s/tools and test/k8s/helmtool and are cached under
## IMAGER_K8S_CACHE (default ~/.cache/imager-k8s); the first build takes
## several minutes.
k8s-tools:
	$(GO) test -count=1 -v -run '^(TestBinaries|TestHelm)$$' -timeout 60m ./test/k8s/cluster/

## e2e: the tests that run a real kube-apiserver and etcd on loopback.
e2e: k8s-tools
	$(GO) test -race -count=1 -timeout 30m ./test/k8s/...

.PHONY: k8s-tools e2e
