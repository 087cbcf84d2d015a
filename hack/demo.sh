#!/usr/bin/env bash
# make demo: kubectl-flows end to end on this machine, with nothing but Go
# (and, for real containers, root and Debian's containerd, runc and
# containernetworking-plugins). Builds the plugin, the reconciler's image
# and the hello example's flow image, starts the local control plane of the
# end-to-end tests with a real node (a kubelet and containerd), installs the
# rendered hello example as a user would (`kubectl apply -k deploy/`: the
# reconciler runs in the cluster), and runs its flows in real containers.
# Where no real node can start it says why and runs the same steps on kwok's
# fake nodes, with the reconciler out of cluster. Everything it starts stops
# when it exits (Ctrl-C too).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { printf '\033[36m$ %s\033[0m\n' "$*"; "$@"; }

cat <<'EOF2'
kubectl-flows demo
==================
This builds kubectl-flows, starts a throwaway local Kubernetes control plane
on 127.0.0.1, installs the hello example and runs its deployments: as root
with Debian's containerd, in real containers on a real node; elsewhere on
kwok's fake nodes.

The first run builds the control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok, kubectl, kubelet) from Go
modules: 10 to 20 minutes on 2 cores, printing a line per binary as it goes.
It is cached under ~/.cache/kubectl-flows; later runs start in seconds.
EOF2

work=$(mktemp -d -t kubectl-flows-demo-XXXXXX)
reconciler_pid=""
dashboard_pid=""
cleanup() {
	status=$?
	trap - EXIT INT TERM
	bold "Stopping everything"
	if [ -n "$dashboard_pid" ]; then kill "$dashboard_pid" 2>/dev/null || true; wait "$dashboard_pid" 2>/dev/null || true; fi
	if [ -n "$reconciler_pid" ]; then kill "$reconciler_pid" 2>/dev/null || true; wait "$reconciler_pid" 2>/dev/null || true; fi
	if [ -x "$work/flows-cluster" ]; then "$work/flows-cluster" down --dir "$work/cluster" || true; fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One version for the plugin and the images, so that the reconciler image
# is the one render names (a dirty tree's is :latest, which render has the
# node use as loaded rather than pull).
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)

bold "1/8 Building kubectl-flows and flows-reconciler into bin/ (version $version)"
make --no-print-directory build VERSION="$version"

bold "2/8 Building the control-plane binaries (cached after the first run)"
start=$SECONDS
testbin=$(bash test/tools/build.sh | tail -1)
echo "control-plane binaries in $testbin ($((SECONDS - start))s)"
export KUBECTL_FLOWS_TESTBIN=$testbin
go build -o "$work/flows-cluster" ./test/cmd/flows-cluster

real=""
if why=$("$work/flows-cluster" can-real-node 2>&1); then
	real=1
else
	bold "No real node here: the flows run on kwok's fake nodes"
	echo "$why"
fi

if [ -n "$real" ]; then
	bold "3/8 Building the images: the reconciler's, and the hello flow's (Debian's Python)"
	start=$SECONDS
	make --no-print-directory images VERSION="$version"
	echo "images in bin/images/ ($((SECONDS - start))s)"

	bold "4/8 Starting the control plane with a real node (kubelet and containerd)"
	"$work/flows-cluster" up --real-node --detach --dir "$work/cluster" \
		--image bin/images/flows-reconciler.tar --image bin/images/hello-flow.tar >/dev/null
else
	bold "3/8 (No images: kwok's nodes run no containers)"
	bold "4/8 Starting the control plane (kwok's fake nodes)"
	"$work/flows-cluster" up --detach --dir "$work/cluster" >/dev/null
fi
export KUBECONFIG=$work/cluster/kubeconfig
# The plugin and a kubectl of the control plane's version, first on PATH:
# kubectl finds the plugin there, as it would after a krew install.
export PATH=$root/bin:$testbin:$PATH
show kubectl get nodes -o wide

bold "5/8 Rendering examples/hello and applying it"
cp -r examples/hello "$work/hello"
cd "$work/hello"
show kubectl flows render --ext-str gitSha=demo
if [ -n "$real" ]; then
	show kubectl apply -k deploy/
	show kubectl -n flows rollout status deployment/flows-reconciler --timeout 3m
	show kubectl -n flows get pods -o wide
	show kubectl flows version
else
	# kwok runs no containers, so the reconciler's in-cluster Deployment
	# could not do anything: keep it at 0 replicas and run the reconciler
	# out of cluster instead.
	mkdir -p demo
	cat >demo/kustomization.yaml <<'EOF2'
resources: [../deploy]
replicas: [{name: flows-reconciler, count: 0}]
EOF2
	show kubectl apply --server-side --field-manager=kubectl-flows -k demo/
	# It trusts only the config that the rendered Deployment names by digest.
	config_digest=$(grep -o -- '--config-digest=sha256:[0-9a-f]*' deploy/reconciler.yaml)
	"$root/bin/flows-reconciler" --kubeconfig "$KUBECONFIG" --namespace flows --leader-elect=false "$config_digest" \
		--metrics-bind-address=0 --health-probe-bind-address=0 >"$work/reconciler.log" 2>&1 &
	reconciler_pid=$!
	echo "flows-reconciler running out of cluster (pid $reconciler_pid, log reconciler.log)"
fi
show kubectl flows get deployments

bold "6/8 Running the deployments"
# `run` prints the run's name first; on the real node, `logs` then prints
# what the flow printed in its container (kwok's nodes run nothing).
flows_run() {
	printf '\033[36m$ %s\033[0m\n' "kubectl flows run $* --timeout 2m"
	kubectl flows run "$@" --timeout 2m | tee "$work/run.out"
	name=$(head -1 "$work/run.out")
	if [ -n "$real" ]; then show kubectl flows logs "$name"; fi
}
flows_run hello/default --watch
flows_run hello/arthur --watch
flows_run hello/default -p name=Ford --wait

bold "7/8 What the cluster says"
show kubectl flows get runs
show kubectl flows get queues
show kubectl flows get pools
show kubectl flows describe deployment hello/arthur

bold "8/8 The dashboard"
# Served by the plugin on loopback with the demo's kubeconfig; it stays up
# with the cluster until Enter.
kubectl flows dashboard -n flows --port "${DASHBOARD_PORT:-0}" >"$work/dashboard.out" 2>&1 &
dashboard_pid=$!
for _ in $(seq 100); do
	grep -q 'http://' "$work/dashboard.out" 2>/dev/null && break
	sleep 0.1
done
dashboard_url=$(grep -o 'http://[^ ]*' "$work/dashboard.out" | head -1 || true)
echo
echo "Demo done in $SECONDS s. (Keep exploring: run the same commands in another shell with"
echo "  export KUBECONFIG=$KUBECONFIG PATH=$root/bin:$testbin:\$PATH"
echo "before pressing Enter; everything stops when you do.)"
if [ -n "$dashboard_url" ]; then
	echo
	echo "Dashboard: $dashboard_url"
else
	echo "The dashboard did not start:"; cat "$work/dashboard.out"
fi
if [ -t 0 ]; then read -r _; fi
