package project

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

// Labels and data keys of the ConfigMaps that carry config and runs. They
// are the contract between render, the reconciler and the CLI.
const (
	LabelConfig     = "kubectl-flows.dev/config"
	LabelPool       = "kubectl-flows.dev/pool"
	LabelQueue      = "kubectl-flows.dev/queue"
	LabelFlow       = "kubectl-flows.dev/flow"
	LabelDeployment = "kubectl-flows.dev/deployment"
	// LabelRun marks a run request ConfigMap ("true").
	LabelRun = "kubectl-flows.dev/run"
	// LabelRunName carries the run's Job name on its Job and pods.
	LabelRunName = "kubectl-flows.dev/run-name"
	LabelState   = "kubectl-flows.dev/state"

	ConfigPool       = "pool"
	ConfigLimits     = "limits"
	ConfigDeployment = "deployment"

	KeyPool        = "pool.yaml"
	KeyJobTemplate = "base-job-template.json"
	KeyLimits      = "limits.yaml"
	KeyDeployment  = "deployment.yaml"
	KeyJobPreview  = "job-preview.yaml"
)

// DeploymentLabelValue is flow.name: label values cannot hold a slash, and
// flow and name are DNS labels, so the dot is unambiguous.
func DeploymentLabelValue(flow, name string) string { return flow + "." + name }

// PreviewRunName names the run of a deployment's rendered Job preview.
func PreviewRunName(flow, name string) string { return JobName(flow + "-" + name + "-preview") }

// maxJobName keeps a Job's name usable as the job-name label of its pods.
const maxJobName = 63

// JobName derives a run's Job name from the run's name: the same run always
// gets the same Job, so a retried create finds AlreadyExists instead of
// making a second Job. Names too long for a label are cut and given a hash
// of the whole, so two long names do not collide.
func JobName(run string) string {
	if len(run) <= maxJobName {
		return run
	}
	sum := sha256.Sum256([]byte(run))
	suffix := hex.EncodeToString(sum[:])[:10]
	head := run[:maxJobName-len(suffix)-1]
	for len(head) > 0 && (head[len(head)-1] == '-' || head[len(head)-1] == '.') {
		head = head[:len(head)-1]
	}
	return head + "-" + suffix
}

// NewRun describes a run of deployment d for the job template.
func NewRun(p *Project, d *Deployment, runName string, params map[string]any) jobtemplate.Run {
	return jobtemplate.Run{
		Name:       JobName(runName),
		Namespace:  p.Namespace,
		Flow:       d.Flow,
		Deployment: d.FullName(),
		Entrypoint: d.Entrypoint,
		Parameters: params,
		Labels: map[string]string{
			LabelRunName:    JobName(runName),
			LabelFlow:       d.Flow,
			LabelDeployment: DeploymentLabelValue(d.Flow, d.Name),
			LabelPool:       d.Pool,
			LabelQueue:      d.Queue,
		},
	}
}

// PoolConfigMapName names a pool's ConfigMap. Render writes these names;
// the reconciler finds the ConfigMaps by label, people find them by name.
func PoolConfigMapName(pool string) string { return "flows-pool-" + pool }

// DeploymentConfigMapName is flows-deployment-<flow>-<name>.
func DeploymentConfigMapName(flow, name string) string {
	return "flows-deployment-" + flow + "-" + name
}

// StarterServiceAccountName is the ServiceAccount (and its Role and
// RoleBinding) render makes for a deployment that starts runs: its Jobs run
// as it. Unique per deployment as DeploymentConfigMapName is.
func StarterServiceAccountName(flow, name string) string {
	return "flows-starter-" + flow + "-" + name
}

// LimitsConfigMapName holds the tag concurrency limits.
const LimitsConfigMapName = "flows-limits"
