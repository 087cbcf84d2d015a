package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// APIVersion is the group and version of a project file (kind Project)
// and of every document this package describes.
const APIVersion = "kubectl-flows.dev/v1alpha1"

// Labels. Each has one meaning wherever it is found.
const (
	// LabelConfig marks a config ConfigMap render wrote; its value is the
	// document it holds: ConfigPool, ConfigDeployment, ConfigLimits or
	// ConfigIndex.
	LabelConfig = "kubectl-flows.dev/config"
	// LabelPool is a pool's name: on its config ConfigMap, on the
	// deployments' in it, and on runs, Jobs and pods admitted to it.
	LabelPool = "kubectl-flows.dev/pool"
	// LabelQueue is a queue's name, beside LabelPool.
	LabelQueue = "kubectl-flows.dev/queue"
	// LabelFlow is a deployment's flow.
	LabelFlow = "kubectl-flows.dev/flow"
	// LabelDeployment is a deployment as a label value, flow.name
	// (DeploymentLabelValue): on its config ConfigMap, its runs, their
	// Jobs and pods.
	LabelDeployment = "kubectl-flows.dev/deployment"
	// LabelRun marks a run request ConfigMap ("true").
	LabelRun = "kubectl-flows.dev/run"
	// LabelRunName carries the run's Job name on its Job and pods.
	LabelRunName = "kubectl-flows.dev/run-name"
	// LabelState is a run's state (a RunState), written by the reconciler
	// and signed with its status (AnnotationSignature).
	LabelState = "kubectl-flows.dev/state"
	// LabelEnded is when a run ended, in Unix seconds (EndedLabelValue),
	// written by the reconciler in the same write as its final state, so
	// that clients can select the newest finished runs with a label
	// selector (kubectl-flows.dev/ended>T) instead of listing them all. A
	// selection hint only, like LabelState: a submitter may write it on a
	// new run, and the reconciler's first status write replaces it.
	LabelEnded = "kubectl-flows.dev/ended"
	// LabelSchedule marks runs a schedule created, by schedule identity.
	LabelSchedule = "kubectl-flows.dev/schedule"
	// LabelCancelRequest marks a cancel request ConfigMap ("true").
	LabelCancelRequest = "kubectl-flows.dev/cancel-request"
)

// Annotations.
const (
	// AnnotationCancel on a run asks for its cancellation (any value). A
	// submitter cannot update a run, so they ask by a cancel request; the
	// annotation serves those who may (operators, `kubectl annotate`).
	AnnotationCancel = "kubectl-flows.dev/cancel-requested"
	// AnnotationPaused ("true") pauses a pool or deployment, on its config
	// ConfigMap, until the next render overrides it (`kubectl flows pause`).
	AnnotationPaused = "kubectl-flows.dev/paused"
	// AnnotationPausedQueues, on a pool's config ConfigMap, lists paused
	// queues (comma-separated; SplitList reads it).
	AnnotationPausedQueues = "kubectl-flows.dev/paused-queues"
	// AnnotationSignature on a run carries the reconciler's signature of
	// its state label and status.
	AnnotationSignature = "kubectl-flows.dev/signature"
	// AnnotationScheduled on a run a schedule made signs its name and
	// request, so a run someone else created first under a tick's
	// predictable name is not taken for the tick's.
	AnnotationScheduled = "kubectl-flows.dev/scheduled-by"
	// AnnotationRefused is set by the reconciler, in its cache only, on a
	// run whose ConfigMap it can never carry through (CheckRunObject),
	// with the reason; a run that carries it is refused with that reason.
	AnnotationRefused = "kubectl-flows.dev/refused"
	// AnnotationTags on a run's Job lists the tags whose slots it holds,
	// comma-separated (a tag holds no comma: TagProblem).
	AnnotationTags = "kubectl-flows.dev/tags"
	// AnnotationAdmission on a run's Job records the rest of its
	// admission, as JSON (AdmissionRecord): the Job is the run's durable
	// slot, and the run's first status is written from it.
	AnnotationAdmission = "kubectl-flows.dev/admission"
	// AnnotationPodWatchTimeout on a run's Job carries the pool's
	// pod_watch_timeout_seconds, so crash detection needs no template
	// lookup.
	AnnotationPodWatchTimeout = "kubectl-flows.dev/pod-watch-timeout"
	// AnnotationAttempt on a run's Job is the attempt of its run it is
	// (from 1; AttemptJobName names it).
	AnnotationAttempt = "kubectl-flows.dev/attempt"
	// AnnotationRetries on a run's Job holds the run's RetryPolicy, as
	// JSON, when it has one: what to do when the attempt ends is decided
	// from the Job.
	AnnotationRetries = "kubectl-flows.dev/retries"
	// AnnotationTimeout on a run's Job is how long the run may run from
	// its pod's start (a Go duration).
	AnnotationTimeout = "kubectl-flows.dev/timeout"
)

// FinalizerRunProtection holds a run's Job until the run's final state is
// written: the Job is the only durable record that the run was admitted,
// and a run whose Job vanished before its first state write would look new
// and be admitted again. Deleted by anyone (a TTL of 0, kubectl delete,
// the garbage collector after the run went), the Job stays, marked for
// deletion, until the reconciler has ended the run and lets it go.
const FinalizerRunProtection = "kubectl-flows.dev/run-protection"

// LegacyFinalizerRun is what FinalizerRunProtection was called before it
// had a name of its own (it shared LabelRun's). Jobs made by an older
// reconciler carry it; the reconciler releases either, so such a Job is
// not held for ever after an upgrade.
const LegacyFinalizerRun = "kubectl-flows.dev/run"

// Values of LabelConfig.
const (
	ConfigPool       = "pool"
	ConfigLimits     = "limits"
	ConfigDeployment = "deployment"
	ConfigIndex      = "index"
)

// Data keys.
const (
	// KeyPool holds a pool's Pool (EncodePool), KeyJobTemplate its base
	// job template as JSON.
	KeyPool        = "pool.yaml"
	KeyJobTemplate = "base-job-template.json"
	// KeyLimits holds the tag limits ([]TagLimit, EncodeLimits).
	KeyLimits = "limits.yaml"
	// KeyDeployment holds a deployment's Deployment (EncodeDeployment),
	// KeyJobPreview the Job a run of it with its defaults would get, for
	// reviewers; nothing reads it back.
	KeyDeployment = "deployment.yaml"
	KeyJobPreview = "job-preview.yaml"
	// KeyConfigIndex holds the config index: config ConfigMap names to
	// the digests of their data (ConfigDigest).
	KeyConfigIndex = "index.yaml"
	// KeyRun holds a run's RunRequest; KeyStatus its RunStatus, which the
	// reconciler owns.
	KeyRun    = "run.yaml"
	KeyStatus = "status.yaml"
	// KeyCancel holds a CancelRequest.
	KeyCancel = "cancel.yaml"
)

// Names of objects render writes; the reconciler finds config by label
// and index, people find it by name.
const (
	// ConfigIndexName is the config index ConfigMap (TrustedConfig).
	ConfigIndexName = "flows-config-index"
	// LimitsConfigMapName holds the tag concurrency limits.
	LimitsConfigMapName = "flows-limits"
	// StateSecretName is the Secret where the reconciler keeps what must
	// outlive it and that no submitter may write: the signing key and each
	// schedule's last fired tick. Submitters may not create or read
	// Secrets.
	StateSecretName = "flows-reconciler-state"
)

// PoolConfigMapName names a pool's ConfigMap.
func PoolConfigMapName(pool string) string { return "flows-pool-" + pool }

// DeploymentConfigMapName is flows-deployment-<flow>-<name>.
func DeploymentConfigMapName(flow, name string) string {
	return "flows-deployment-" + flow + "-" + name
}

// StarterServiceAccountName is the ServiceAccount (and its Role and
// RoleBinding) render makes for a deployment that starts runs: its Jobs
// run as it. Unique per deployment as DeploymentConfigMapName is.
func StarterServiceAccountName(flow, name string) string {
	return "flows-starter-" + flow + "-" + name
}

// DeploymentLabelValue is flow.name: label values cannot hold a slash, and
// flow and name are DNS labels, so the dot is unambiguous.
func DeploymentLabelValue(flow, name string) string { return flow + "." + name }

// SplitDeployment splits flow/name.
func SplitDeployment(full string) (flow, name string, ok bool) {
	flow, name, ok = strings.Cut(full, "/")
	return flow, name, ok && flow != "" && name != "" && !strings.Contains(name, "/")
}

// SplitList splits a comma-separated annotation value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

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

// PreviewRunName names the run of a deployment's rendered Job preview.
func PreviewRunName(flow, name string) string { return JobName(flow + "-" + name + "-preview") }

// RunNamePrefix is FLOW-NAME-, the start of a generated run name, short
// enough that the generated name makes a Job name that needs no hashing.
func RunNamePrefix(flow, name string) string {
	p := flow + "-" + name
	if len(p) > 50 {
		p = strings.TrimRight(p[:50], "-.")
	}
	return p + "-"
}

// DeploymentOfLabelValue reverses DeploymentLabelValue: flow/name, or ""
// for a value that is not flow.name.
func DeploymentOfLabelValue(v string) string {
	flow, name, ok := strings.Cut(v, ".")
	if !ok || flow == "" || name == "" {
		return ""
	}
	return flow + "/" + name
}
