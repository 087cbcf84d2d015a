# kubectl-flows
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kubectl-flows/kubectl-flows/version.Version=$(VERSION)
BIN := bin

# Every build and test run by make uses one configuration, static (no cgo)
# and -trimpath: the one the release archives and images (internal/gobuild)
# and the control-plane binaries (test/tools/build.sh) are built with. Go's
# build cache keys each compiled package by these settings, so with one
# configuration vet, staticcheck, the tests, the image tests' builds and
# `make build` compile the dependencies once instead of once per
# configuration: on a cold cache that is minutes of `make test`.
# -buildvcs=false as in internal/gobuild: with -trimpath, a plain `go build`
# would otherwise take its version from the checkout's commit, and a binary
# a test builds would render a different image tag on every commit.
export CGO_ENABLED := 0
export GOFLAGS := $(strip -trimpath -buildvcs=false $(filter-out -trimpath -buildvcs=false,$(GOFLAGS)))

.PHONY: all build test unit e2e lint bench demo testbin cluster-up cluster-down clean dist image image-push images

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

# End-to-end tests: start a real control plane on loopback (see CONTRIBUTING.md).
e2e: testbin build
	KUBECTL_FLOWS_TESTBIN=$$(bash test/tools/build.sh 2>/dev/null | tail -1) \
	  KUBECTL_FLOWS_BIN=$(CURDIR)/$(BIN) \
	  $(GO) test -count=1 -timeout 20m -parallel 4 ./test/...

# make test prints how long it took and whether the control-plane binaries
# had to be built first (cold) or were found in the cache (warm): CI's budget
# is about both, and a warm run that grows is the first sign of a slow test.
test:
	@start=$$(date +%s); log=$$(mktemp); \
	  bash test/tools/build.sh 2>&1 >/dev/null | tee "$$log" >&2; \
	  built=$$(grep -c '^>> building' "$$log"); rm -f "$$log"; \
	  $(MAKE) --no-print-directory lint unit e2e; rc=$$?; \
	  s=$$(( $$(date +%s) - start )); \
	  if [ "$$built" -gt 0 ]; then how="cold: $$built control-plane binaries built first"; else how="warm: control-plane binaries cached"; fi; \
	  if [ $$rc = 0 ]; then res=passed; else res=FAILED; fi; \
	  echo "make test: $$res in $$((s / 60))m$$((s % 60))s ($$how)"; \
	  exit $$rc

# Benchmarks, each figure beside a baseline from the same run: the render,
# review and template micro-benchmarks, then test/bench on a local control
# plane (throughput, dispatch latency, API writes, memory, render, review),
# which writes bench/results/latest.md and inflight.png. BENCH_LARGE=1 adds
# N=5,000 and 100,000 runs waiting; BENCH_PPROF=1 saves reconciler CPU and
# heap profiles beside them; BENCH_JOB_CONTENT=1 adds the watch floor
# creating the reconciler's Job.
bench: testbin build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./render/ ./review/ ./jobtemplate/
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
# Windows) with LICENSE and sha256 sums, reproducible, the krew-index
# manifest with their real sha256: make dist VERSION=v0.1.0. Then the
# reconciler image this version's manifests name, linux/amd64 and arm64 as
# one index: dist/flows-reconciler/ (OCI layout), its reference pinned by
# digest in dist/reconciler-image.txt (printed; `make image-push
# VERSION=... PLATFORMS=linux/amd64,linux/arm64` pushes the same digest).
dist:
	@[[ "$(VERSION)" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$ ]] || \
	  { echo "make dist needs VERSION=vX.Y.Z (got '$(VERSION)')"; exit 2; }
	rm -rf dist
	$(GO) run ./hack/dist --version $(VERSION) --out dist
	$(GO) run ./krew/cmd/krew-manifest --version $(VERSION) --dist dist
	$(GO) run ./hack/image --version $(VERSION) --platforms linux/amd64,linux/arm64 --out dist \
	  --digest-file dist/reconciler-image.txt reconciler

# The reconciler image, built in Go with no container engine (hack/image,
# docs/image.md): a static binary, user 65532, no shell, OCI media types,
# dated by SOURCE_DATE_EPOCH or the commit, so two builds of a commit give
# one digest. Tagged as `kubectl flows render` of this VERSION names it
# (a dirty tree or a dev build: latest). Writes bin/images/flows-reconciler/
# (OCI layout) and bin/images/flows-reconciler.tar (`ctr -n k8s.io images
# import`, `docker load`) and prints NAME:TAG@sha256:DIGEST.
#   make image-push IMAGE=registry.example.com/flows-reconciler
# pushes it with Docker's credentials instead; PLATFORMS=linux/amd64,linux/arm64
# makes one index of both.
IMAGE ?= ghcr.io/kubectl-flows/flows-reconciler
PLATFORMS ?= linux/$(shell $(GO) env GOARCH)
IMAGES_OUT ?= $(BIN)/images
image:
	$(GO) run ./hack/image --version $(VERSION) --image $(IMAGE) --platforms $(PLATFORMS) --out $(IMAGES_OUT) reconciler

image-push:
	$(GO) run ./hack/image --version $(VERSION) --image $(IMAGE) --platforms $(PLATFORMS) --push reconciler

# Every image a real test node runs, as archives for `ctr -n k8s.io images
# import` in bin/images/: the reconciler, a pause and a busybox image, and
# the hello example's flow image (Debian's Python 3, from apt-get download,
# cached under ~/.cache/kubectl-flows/images).
images:
	$(GO) run ./hack/image --version $(VERSION) --out $(IMAGES_OUT) reconciler pause busybox hello-flow

clean:
	rm -rf $(BIN) dist
