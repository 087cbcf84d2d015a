#!/usr/bin/env bash
# Builds Kueue's manager from the Go module proxy (this tool module pins
# it) into a cache outside the repo, keyed by Kueue's version, beside a copy
# of Kueue's CRDs from the same module's source. `make bench` runs Kueue
# from there, out of cluster, beside kubectl-flows (bench/README.md).
# Prints the directory holding kueue and crds/ on its last line.
set -euo pipefail

KUEUE_VERSION=v0.17.0

here=$(cd "$(dirname "$0")" && pwd)
cache=${KUBECTL_FLOWS_KUEUE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-flows/kueue/$KUEUE_VERSION}
mkdir -p "$cache"

# Two builds at once (two checkouts on one machine) would write the same
# files; the second waits for the first and then finds everything built.
exec 9>"$cache/.lock"
flock 9

# The module's go.mod must pin the version this script is keyed by, or the
# cache would hold another Kueue under this name.
pinned=$(cd "$here" && go list -m -f '{{.Version}}' sigs.k8s.io/kueue)
if [ "$pinned" != "$KUEUE_VERSION" ]; then
	echo "test/tools/kueue/go.mod pins sigs.k8s.io/kueue $pinned, build.sh is keyed by $KUEUE_VERSION: make them agree" >&2
	exit 1
fi

if [ ! -x "$cache/kueue" ]; then
	echo ">> building kueue $KUEUE_VERSION (cold: this takes minutes, once)" >&2
	start=$SECONDS
	(cd "$here" && CGO_ENABLED=0 GOFLAGS=-trimpath go build \
		-ldflags "-X sigs.k8s.io/kueue/pkg/version.GitVersion=$KUEUE_VERSION" \
		-o "$cache/kueue.tmp" sigs.k8s.io/kueue/cmd/kueue)
	mv "$cache/kueue.tmp" "$cache/kueue"
	echo ">> built kueue in $((SECONDS - start))s" >&2
fi

# Kueue's CRDs ship in its module source; keep a copy beside the binary.
if [ ! -d "$cache/crds" ]; then
	moddir=$(cd "$here" && go mod download -json sigs.k8s.io/kueue@$KUEUE_VERSION | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ ! -d "$moddir/config/components/crd/bases" ]; then
		echo "no config/components/crd/bases in Kueue's module source ($moddir)" >&2
		exit 1
	fi
	rm -rf "$cache/crds.tmp"
	mkdir -p "$cache/crds.tmp"
	cp "$moddir"/config/components/crd/bases/*.yaml "$cache/crds.tmp/"
	chmod -R u+w "$cache/crds.tmp"
	mv "$cache/crds.tmp" "$cache/crds"
fi
echo "$cache"
