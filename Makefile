# kubectl-flows
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kubectl-flows/kubectl-flows/version.Version=$(VERSION)
BIN := bin

.PHONY: all build test unit e2e lint bench demo testbin cluster-up cluster-down clean dist image

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# Builds (once, cached outside the repo) the real control-plane binaries the
# end-to-end tests run: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok and the real node's kubelet, all from the Go module
# proxy.
testbin:
	@bash test/tools/build.sh >/dev/null

# staticcheck is pinned and run with `go run pkg@version`, so it never enters
# go.mod; v0.8.2 is built for Go 1.26 (its go.mod says go 1.26.0). Any finding
# fails lint.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/)

# End-to-end tests: start a real control plane on loopback (see README).
e2e: testbin build
	KUBECTL_FLOWS_TESTBIN=$$(bash test/tools/build.sh 2>/dev/null | tail -1) \
	  KUBECTL_FLOWS_BIN=$(CURDIR)/$(BIN) \
	  $(GO) test -count=1 -timeout 20m ./test/...

test: lint unit e2e

# Benchmarks, each figure beside a baseline from the same run: the render
# and template micro-benchmarks, then test/bench on a local control plane
# (throughput, dispatch latency, API writes, memory, render), which writes
# bench/results/latest.md and inflight.png. BENCH_LARGE=1 adds N=5,000;
# BENCH_PPROF=1 saves reconciler CPU and heap profiles beside them.
bench: testbin build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./render/ ./jobtemplate/
	KUBECTL_FLOWS_TESTBIN=$$(bash test/tools/build.sh 2>/dev/null | tail -1) \
	  KUBECTL_FLOWS_BIN=$(CURDIR)/$(BIN) \
	  $(GO) run ./test/bench -out bench/results

cluster-up: testbin
	$(GO) run ./test/cmd/flows-cluster up

cluster-down:
	$(GO) run ./test/cmd/flows-cluster down

# The first command of the README: build, start the local control plane,
# install the hello example, run it with kubectl flows; stops on exit.
demo:
	@bash hack/demo.sh

# Release archives for linux/darwin/windows x amd64/arm64 (tar.gz; zip on
# Windows) with LICENSE and sha256 sums, reproducible, and the krew-index
# manifest with their real sha256: make dist VERSION=v0.1.0
dist:
	@[[ "$(VERSION)" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$ ]] || \
	  { echo "make dist needs VERSION=vX.Y.Z (got '$(VERSION)')"; exit 2; }
	rm -rf dist
	$(GO) run ./hack/dist --version $(VERSION) --out dist
	$(GO) run ./krew/cmd/krew-manifest --version $(VERSION) --dist dist

# The reconciler image render points at by default.
IMAGE ?= ghcr.io/kubectl-flows/flows-reconciler
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .

clean:
	rm -rf $(BIN) dist
