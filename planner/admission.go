package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Reasons a run is Rejected; they are the Reason of its status.
const (
	ReasonInvalidRequest      = "InvalidRunRequest"
	ReasonDeploymentNotFound  = "DeploymentNotFound"
	ReasonPoolNotFound        = "PoolNotFound"
	ReasonInvalidParameters   = "InvalidParameters"
	ReasonInvalidJobVariables = "InvalidJobVariables"
	ReasonJobNameTaken        = "JobNameTaken"
)

// Rejection is why a run cannot run at all.
type Rejection struct {
	Reason, Message string
}

// WaitReason is why a valid run cannot start yet, with nothing wrong with
// the run itself (config missing or broken): it waits for the next render.
type WaitReason struct{ Message string }

// Admission is a validated run, ready to take its slots.
type Admission struct {
	Deployment *project.InstalledDeployment
	Pool       *project.InstalledPool
	Slots      Slots
	Scheduled  time.Time
	// run is the run's values checked, kept for runs without values of
	// their own, which share it; nil for a run with its own, checked
	// again from its request when its Job is made (CheckedRun), so that
	// ten thousand such runs waiting do not each keep their merged
	// parameters and job variables (about 1 KB a run).
	run *project.CheckedRun
}

// CheckedRun is the run's values checked against its deployment and pool,
// what its Job is resolved from (ResolveJob); cm is the run the admission
// was made for, whose request is decoded again when it has values of its
// own.
func (a *Admission) CheckedRun(ns string, cm *corev1.ConfigMap) (*project.CheckedRun, error) {
	if a.run != nil {
		return a.run, nil
	}
	req, err := v1alpha1.DecodeRunRequest(RequestData(cm))
	if err != nil {
		return nil, err
	}
	return project.CheckRun(runInputs(ns, a.Deployment, a.Pool, req))
}

// OwnValues say whether a run has values of its own, which its decoded
// request does not keep (ParsedRun), and their verdict as last checked
// (resolveValues) with the data revisions of the deployment and pool it
// was reached against: checking them again, under any config change,
// would give the same verdict while both are the same.
type OwnValues struct {
	dropped          bool
	checked          bool
	rej              *Rejection
	deployment, pool uint64
}

// lacking says the run's decoded request lacks its own values.
func (o *OwnValues) lacking() bool { return o != nil && o.dropped }

// verdict is the values' verdict (nil: they pass) if it was reached
// against d and pool.
func (o *OwnValues) verdict(d *project.InstalledDeployment, pool *project.InstalledPool) (rej *Rejection, ok bool) {
	if o == nil || !o.checked || d.Revision == 0 || pool.Revision == 0 || o.deployment != d.Revision || o.pool != pool.Revision {
		return nil, false
	}
	return o.rej, true
}

// set keeps a verdict reached against d and pool.
func (o *OwnValues) set(rej *Rejection, d *project.InstalledDeployment, pool *project.InstalledPool) {
	if o != nil {
		*o = OwnValues{dropped: o.dropped, checked: true, rej: rej, deployment: d.Revision, pool: pool.Revision}
	}
}

// Admit validates a run request against the config and resolves its Job.
// A nil admission with a nil rejection means the run must wait. own, when
// not nil, says whether req lacks the run's own values, which are then
// decoded from cm, and keeps their verdict from one call to the next
// (OwnValues). Not safe for concurrent use with the same defaults.
func Admit(cfg *project.Installed, defaults map[string]*ResolvedValues, own *OwnValues, ns string, cm *corev1.ConfigMap, req *v1alpha1.RunRequest, reqErr error) (*Admission, *Rejection, *WaitReason) {
	if reqErr != nil {
		return nil, &Rejection{ReasonInvalidRequest, reqErr.Error()}, nil
	}
	// Before the run's first status write, which sets the label from
	// run.yaml: until then it is the submitter's.
	if err := v1alpha1.CheckDeploymentLabel(cm.Labels, req); err != nil {
		return nil, &Rejection{ReasonInvalidRequest, err.Error()}, nil
	}
	d := cfg.Deployments[req.Deployment]
	if d == nil {
		if err := cfg.Errors[v1alpha1.ConfigIndexName]; err != nil {
			return nil, nil, &WaitReason{err.Error()}
		}
		flow, name, _ := v1alpha1.SplitDeployment(req.Deployment)
		cmName := v1alpha1.DeploymentConfigMapName(flow, name)
		if err := cfg.Errors[cmName]; err != nil {
			return nil, nil, &WaitReason{fmt.Sprintf("deployment config %s cannot be read: %v", cmName, err)}
		}
		return nil, &Rejection{ReasonDeploymentNotFound, fmt.Sprintf("deployment %q not found%s", req.Deployment, suggest(req.Deployment, cfg))}, nil
	}
	pool := cfg.Pools[d.Pool]
	if pool == nil {
		if err := cfg.Errors[v1alpha1.PoolConfigMapName(d.Pool)]; err != nil {
			return nil, nil, &WaitReason{fmt.Sprintf("pool config cannot be read: %v", err)}
		}
		return nil, nil, &WaitReason{fmt.Sprintf("pool %q of deployment %s is not installed yet", d.Pool, req.Deployment)}
	}
	for i, t := range req.Tags {
		if strings.TrimSpace(t) == "" {
			return nil, &Rejection{ReasonInvalidRequest, fmt.Sprintf("%s: tags[%d] is empty", v1alpha1.KeyRun, i)}, nil
		}
	}
	tags := project.RunTags(&d.Deployment, req.Tags)
	scheduled := cm.CreationTimestamp.Time
	if req.ScheduledTime != nil {
		scheduled = req.ScheduledTime.Time
	}
	// A run with no values of its own validates and resolves as every such
	// run of its deployment does: that is worked out once per pass and the
	// runs share it (read only), so ten thousand waiting runs cost one
	// resolve and no copies. A run with values of its own has them
	// checked once for the data they are checked against (OwnValues) and
	// again for its Job. Runs without tags of their own share their
	// admission with the runs scheduled for the same time, with or without
	// values of their own.
	shared, ok := defaults[d.FullName()]
	if !ok {
		shared = resolveValues(ns, cm, d, pool, &v1alpha1.RunRequest{})
		defaults[d.FullName()] = shared
	}
	run, rej := shared.run, shared.rej
	hasOwn := own.lacking() || hasOwnValues(req)
	if hasOwn {
		run, rej = nil, ownVerdict(own, ns, cm, d, pool, req)
	}
	if rej != nil {
		return nil, rej, nil
	}
	admit := func() *Admission {
		return &Admission{Deployment: d, Pool: pool, Slots: SlotsOf(pool.Name, d.Queue, d.FullName(), tags), Scheduled: scheduled, run: run}
	}
	if len(req.Tags) > 0 {
		return admit(), nil, nil
	}
	key := admittedKey{scheduled.UnixNano(), hasOwn}
	a := shared.admitted[key]
	if a == nil {
		a = admit()
		if shared.admitted == nil {
			shared.admitted = map[admittedKey]*Admission{}
		}
		shared.admitted[key] = a
	}
	return a, nil, nil
}

// ownVerdict is the verdict on a run's own values (nil: they pass): the
// one own keeps while its data revisions hold, or else reached now, from
// req or, when req lacks them, the request decoded again from cm.
func ownVerdict(own *OwnValues, ns string, cm *corev1.ConfigMap, d *project.InstalledDeployment, pool *project.InstalledPool, req *v1alpha1.RunRequest) *Rejection {
	if rej, checked := own.verdict(d, pool); checked {
		return rej
	}
	if own.lacking() {
		var err error
		if req, err = v1alpha1.DecodeRunRequest(RequestData(cm)); err != nil {
			return &Rejection{ReasonInvalidRequest, err.Error()}
		}
	}
	rej := resolveValues(ns, cm, d, pool, req).rej
	own.set(rej, d, pool)
	return rej
}

// admittedKey is what runs without tags of their own share an admission
// by: their scheduled time (UnixNano), and whether their values are their
// own (checked again for the Job) or the deployment's.
type admittedKey struct {
	scheduled int64
	own       bool
}

// ResolvedValues are a run's checked values, or why they are rejected;
// for a deployment's defaults, the admissions of its runs without tags of
// their own (admittedKey).
type ResolvedValues struct {
	run      *project.CheckedRun
	rej      *Rejection
	admitted map[admittedKey]*Admission
}

// resolveValues checks a run's own parameters and job variables by
// project.CheckRun, the rule the CLI applies before it submits.
func resolveValues(ns string, cm *corev1.ConfigMap, d *project.InstalledDeployment, pool *project.InstalledPool, req *v1alpha1.RunRequest) *ResolvedValues {
	run, err := project.CheckRun(runInputs(ns, d, pool, req))
	var re *project.RunError
	switch {
	case errors.As(err, &re) && !re.JobVariables:
		return &ResolvedValues{rej: &Rejection{ReasonInvalidParameters, err.Error()}}
	case err != nil:
		return &ResolvedValues{rej: &Rejection{ReasonInvalidJobVariables, err.Error()}}
	}
	// Resolve too, to reject a run whose Job cannot be built; the Job is
	// built again at dispatch, so waiting runs do not each keep one.
	if _, err := ResolveJob(ns, cm, run, 1); err != nil {
		return &ResolvedValues{rej: &Rejection{ReasonInvalidJobVariables, err.Error()}}
	}
	return &ResolvedValues{run: run}
}

// runInputs are what a run's values are checked with.
func runInputs(ns string, d *project.InstalledDeployment, pool *project.InstalledPool, req *v1alpha1.RunRequest) project.RunInputs {
	return project.RunInputs{
		Project: &project.Project{Namespace: ns}, Pool: &pool.Pool, Template: pool.Template,
		Deployment: &d.Deployment, Schema: d.Params, Parameters: req.Parameters, JobVariables: req.JobVariables,
		Timeout: req.Timeout,
	}
}

// ResolveJob builds the Job of a run's attempt (1 for the first) from its
// pool's template: a name derived from the run and the attempt, so a
// retried create never makes a second Job; a controller owner reference
// to the run's UID, by which the Job is known as the run's (and deleting
// the run deletes it); v1alpha1.FinalizerRunProtection, so it outlives any
// deletion until the run's final state is written; and what the run's
// timeout and retry policy need (applyRunPolicies).
func ResolveJob(ns string, cm *corev1.ConfigMap, run *project.CheckedRun, attempt int32) (*batchv1.Job, error) {
	res, err := run.Resolve(cm.Name)
	if err != nil {
		return nil, err
	}
	job := res.Job
	job.Namespace = ns
	if attempt > 1 {
		// The run's other names (FLOWS_RUN_NAME, the name variable) stay
		// the first attempt's: they name the run, not the Job.
		name := v1alpha1.AttemptJobName(cm.Name, attempt)
		job.Name = name
		job.Labels[v1alpha1.LabelRunName] = name
		job.Spec.Template.Labels[v1alpha1.LabelRunName] = name
	}
	controller := true
	job.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, Controller: &controller,
	}}
	job.Finalizers = append(job.Finalizers, v1alpha1.FinalizerRunProtection)
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	if t := res.PodWatchTimeout(); t > 0 {
		job.Annotations[v1alpha1.AnnotationPodWatchTimeout] = t.String()
	}
	return job, applyRunPolicies(job, run, attempt)
}

// suggest names the deployments closest to a mistyped one.
func suggest(name string, cfg *project.Installed) string {
	known := make([]string, 0, len(cfg.Deployments))
	for full := range cfg.Deployments {
		known = append(known, full)
	}
	close := project.Closest(name, known, 5)
	if len(close) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(close, ", ") + "?"
}

// Rules of the podFailurePolicy a retried run's Job gets, by index: the
// Job controller names the index of the rule that failed a Job in its
// Failed condition's message.
const (
	RuleDisruption = 0 // the pod's DisruptionTarget condition: FailJob
	RuleExitCodes  = 1 // the policy's neverOnExitCodes: FailJob
)

// applyRunPolicies writes into an attempt's Job what its run's policies
// need: its attempt, timeout and retry policy as annotations; and, with a
// retry policy, a backoffLimit of 0 unless a job variable sets one (a
// flow is never run twice inside one attempt by accident) and a
// podFailurePolicy that ends the Job at once when its pod is disrupted or
// exits with a code never retried, saying which in its Failed condition.
// A podFailurePolicy needs restartPolicy Never; a template with another
// keeps its Job as it is, and the outcome is read from the pods.
func applyRunPolicies(job *batchv1.Job, run *project.CheckedRun, attempt int32) error {
	job.Annotations[v1alpha1.AnnotationAttempt] = strconv.Itoa(int(attempt))
	if run.Timeout > 0 {
		job.Annotations[v1alpha1.AnnotationTimeout] = run.Timeout.String()
	}
	p := run.Retries
	if p == nil {
		return nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	job.Annotations[v1alpha1.AnnotationRetries] = string(raw)
	if _, set := run.JobVariables["backoff_limit"]; !set {
		zero := int32(0)
		job.Spec.BackoffLimit = &zero
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		return nil
	}
	rules := []batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionFailJob,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}}
	if len(p.NeverOnExitCodes) > 0 {
		codes := slices.Clone(p.NeverOnExitCodes)
		slices.Sort(codes) // the API server wants them ordered
		rules = append(rules, batchv1.PodFailurePolicyRule{
			Action:      batchv1.PodFailurePolicyActionFailJob,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: codes},
		})
	}
	if job.Spec.PodFailurePolicy == nil {
		job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{}
	}
	job.Spec.PodFailurePolicy.Rules = append(rules, job.Spec.PodFailurePolicy.Rules...)
	return nil
}
