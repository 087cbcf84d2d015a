package harness

import (
	"os"
	"path/filepath"
)

// watchAuditPolicy records one audit event per watch request (when its
// response starts), at Metadata level, and nothing else: who watches what,
// for the benchmark's look at the watch fan-out a write pays, at the cost
// of a line per watch.
const watchAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseComplete, Panic]
rules:
  - level: Metadata
    verbs: [watch]
  - level: None
`

// WatchAuditLog is where a control plane started with
// KUBECTL_FLOWS_HARNESS_AUDIT_WATCHES=1 logs its watch requests (JSON
// lines of audit.k8s.io/v1 Events), under its run directory.
func WatchAuditLog(dir string) string { return filepath.Join(dir, "logs", "audit-watches.log") }

func writeWatchAuditPolicy(dir string) (string, error) {
	path := filepath.Join(dir, "apiserver-audit-policy.yaml")
	return path, os.WriteFile(path, []byte(watchAuditPolicy), 0o644)
}
