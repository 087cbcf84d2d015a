#!/usr/bin/env bash
# make demo: kubectl-flows end to end on this machine, with nothing but Go.
# Builds the plugin and the reconciler, starts the local control plane of
# the end-to-end tests (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok's fake nodes), renders and applies the hello
# example, runs the reconciler out of cluster, and drives runs with
# `kubectl flows`. Everything it starts stops when it exits (Ctrl-C too).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() { printf '\033[36m$ %s\033[0m\n' "$*"; "$@"; }

cat <<'EOF2'
kubectl-flows demo
==================
This builds kubectl-flows, starts a throwaway local Kubernetes control plane
on 127.0.0.1 (no containers: kwok plays the nodes), installs the hello
example and runs its deployments.

The first run builds the control plane (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok, kubectl) from Go modules:
about 10 minutes on 2 cores, printing a line per binary as it goes. It is
cached under ~/.cache/kubectl-flows; later runs start in seconds.
EOF2

work=$(mktemp -d -t kubectl-flows-demo-XXXXXX)
reconciler_pid=""
cleanup() {
	status=$?
	trap - EXIT INT TERM
	bold "Stopping everything"
	if [ -n "$reconciler_pid" ]; then kill "$reconciler_pid" 2>/dev/null || true; wait "$reconciler_pid" 2>/dev/null || true; fi
	if [ -x "$work/flows-cluster" ]; then "$work/flows-cluster" down --dir "$work/cluster" || true; fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "1/7 Building kubectl-flows and flows-reconciler into bin/"
make --no-print-directory build

bold "2/7 Building the control-plane binaries (cached after the first run)"
start=$SECONDS
testbin=$(bash test/tools/build.sh | tail -1)
echo "control-plane binaries in $testbin ($((SECONDS - start))s)"
export KUBECTL_FLOWS_TESTBIN=$testbin
go build -o "$work/flows-cluster" ./test/cmd/flows-cluster

bold "3/7 Starting the control plane"
"$work/flows-cluster" up --detach --dir "$work/cluster" >/dev/null
export KUBECONFIG=$work/cluster/kubeconfig
# The plugin and a kubectl of the control plane's version, first on PATH:
# kubectl finds the plugin there, as it would after a krew install.
export PATH=$root/bin:$testbin:$PATH
show kubectl get nodes

bold "4/7 Rendering examples/hello and applying it"
cp -r examples/hello "$work/hello"
cd "$work/hello"
show kubectl flows render --ext-str gitSha=demo
# kwok runs no containers, so the reconciler's in-cluster Deployment could
# not do anything: keep it at 0 replicas and run the reconciler out of
# cluster below instead.
mkdir -p demo
cat >demo/kustomization.yaml <<'EOF2'
resources: [../deploy]
replicas: [{name: flows-reconciler, count: 0}]
EOF2
show kubectl apply --server-side --field-manager=kubectl-flows -k demo/
show kubectl flows get deployments

bold "5/7 Starting the reconciler out of cluster (log: reconciler.log)"
# It trusts only the config that the rendered Deployment names by digest.
config_digest=$(grep -o -- '--config-digest=sha256:[0-9a-f]*' deploy/reconciler.yaml)
"$root/bin/flows-reconciler" --kubeconfig "$KUBECONFIG" --namespace flows --leader-elect=false "$config_digest" \
	--metrics-bind-address=0 --health-probe-bind-address=0 >"$work/reconciler.log" 2>&1 &
reconciler_pid=$!
echo "flows-reconciler running (pid $reconciler_pid)"

bold "6/7 Running the deployments"
show kubectl flows run hello/default --watch --timeout 2m
show kubectl flows run hello/arthur --watch --timeout 2m
show kubectl flows run hello/default -p name=Ford --wait --timeout 2m

bold "7/7 What the cluster says"
show kubectl flows get runs
show kubectl flows get queues
show kubectl flows get pools
show kubectl flows describe deployment hello/arthur
echo
echo "Demo done. (Keep exploring: run the same commands in another shell with"
echo "  export KUBECONFIG=$KUBECONFIG PATH=$root/bin:$testbin:\$PATH"
echo "before pressing Enter; everything stops when you do.)"
if [ -t 0 ]; then read -r _; fi
