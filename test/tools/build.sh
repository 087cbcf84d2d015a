#!/usr/bin/env bash
# Builds the test control-plane binaries from the Go module proxy into a
# cache outside the repo, keyed by versions, so a warm run rebuilds nothing.
# Prints the directory holding the binaries on its last line.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.0
KWOK_VERSION=v0.8.0
KREW_VERSION=v0.4.3

here=$(cd "$(dirname "$0")" && pwd)
cache=${KUBECTL_FLOWS_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-flows/testbin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION}
mkdir -p "$cache"

# Two builds at once (test packages run in parallel, or several checkouts on
# one machine) would write the same files; the second waits for the first
# and then finds everything built.
exec 9>"$cache/.lock"
flock 9

# versioned NAME: whether $cache/NAME reports the version it was built for.
# Kubernetes binaries carry their version only through -ldflags, so a plain
# `go build` says v0.0.0-master; those are rebuilt (a relink, quick).
# grep reads all of the output (no -q): quitting at the first match would
# break the pipe of a binary still printing, and pipefail would then call a
# good binary stale.
versioned() {
	case $1 in
	kube-apiserver | kube-controller-manager | kube-scheduler | kubelet)
		"$cache/$1" --version 2>/dev/null | grep -x "Kubernetes $K8S_VERSION" >/dev/null ;;
	kubectl)
		"$cache/kubectl" version --client 2>/dev/null | grep -x "Client Version: $K8S_VERSION" >/dev/null ;;
	kubectl-krew) # krew makes its directories under KREW_ROOT even for `version`
		[ -x "$cache/validate-krew-manifest" ] || return 1
		local root ok=0
		root=$(mktemp -d)
		KREW_ROOT=$root "$cache/kubectl-krew" version 2>/dev/null | grep -E "^GitTag +$KREW_VERSION\$" >/dev/null || ok=1
		rm -rf "$root"
		return $ok ;;
	*) true ;;
	esac
}

# stale NAME: whether $cache/NAME must be (re)built; says so when it must
# (make test counts these lines to tell a cold run from a warm one).
stale() {
	if [ -x "$cache/$1" ] && versioned "$1"; then return 1; fi
	echo ">> building $1 (cold: this takes minutes, once)" >&2
}

build() { # name, then the command that builds it into $cache/$name
	local name=$1; shift
	stale "$name" || return 0
	local start=$SECONDS
	"$@"
	echo ">> built $name in $((SECONDS - start))s" >&2
}

export CGO_ENABLED=0 GOFLAGS=-trimpath
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
# The Kubernetes binaries come from one module and share most of their
# packages, so the missing ones are built by one `go build`: its scheduler
# keeps both cores busy across all of them, where one build per binary idles
# a core during each long link. kubectl of the same version is among them:
# envtest wants one beside etcd and kube-apiserver, and the end-to-end tests
# drive plugin discovery and `apply -k` through it. The kubelet is the
# harness's real node (Options.RealNode, flows-cluster up --real-node): it
# runs real containers through a containerd the harness starts beside it
# (Debian's containerd, runc and containernetworking-plugins).
kube=()
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet; do
	if stale "$name"; then kube+=("$name"); fi
done
if [ ${#kube[@]} -gt 0 ]; then
	start=$SECONDS
	rm -rf "$cache/.kube"
	(cd "$here/kube" && go build -ldflags "$kube_ldflags" -o "$cache/.kube/" "${kube[@]/#/k8s.io/kubernetes/cmd/}")
	for name in "${kube[@]}"; do mv "$cache/.kube/$name" "$cache/$name"; done
	echo ">> built ${kube[*]} in $((SECONDS - start))s" >&2
fi
build etcd bash -c "cd '$here/etcd' && go build -o '$cache/etcd.tmp' . && mv '$cache/etcd.tmp' '$cache/etcd'"
build kwok bash -c "mkdir -p '$cache/.kwok' && GOBIN='$cache/.kwok' go install sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION && mv '$cache/.kwok/kwok' '$cache/kwok'"

# kwok's stage definitions ship inside its module; keep a copy beside the binary.
if [ ! -d "$cache/stages" ]; then
	moddir=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION
	mkdir -p "$cache/stages.tmp"
	cp -r "$moddir/kustomize/stage/." "$cache/stages.tmp/"
	chmod -R u+w "$cache/stages.tmp"
	mv "$cache/stages.tmp" "$cache/stages"
fi

# krew, built from its module like the rest, for the end-to-end test that
# installs the plugin with the real `kubectl krew install` and checks the
# krew-index manifest with krew's own validate-krew-manifest (test/e2e/
# krew_test.go). The module proxy serves sigs.k8s.io/krew v0.4.3 (v0.4.5 is
# refused). kubectl finds krew as the kubectl-krew plugin; its GitTag is
# stamped so `versioned` can tell a stale build.
build kubectl-krew bash -c "mkdir -p '$cache/.krew' && GOBIN='$cache/.krew' go install -ldflags '-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION' sigs.k8s.io/krew/cmd/krew@$KREW_VERSION sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION && mv '$cache/.krew/validate-krew-manifest' '$cache/validate-krew-manifest' && mv '$cache/.krew/krew' '$cache/kubectl-krew'"
echo "$cache"
