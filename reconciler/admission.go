package reconciler

import (
	"errors"
	"fmt"
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

// rejection is why a run cannot run at all.
type rejection struct {
	reason, message string
}

// waitReason is why a valid run cannot start yet, with nothing wrong with
// the run itself (config missing or broken): it waits for the next render.
type waitReason struct{ message string }

// admission is a validated run, ready to take its slots.
type admission struct {
	deployment *project.InstalledDeployment
	pool       *project.InstalledPool
	slots      slots
	scheduled  time.Time
	run        *project.CheckedRun
}

// admit validates a run request against the config and resolves its Job.
// A nil admission with a nil rejection means the run must wait. Not safe
// for concurrent use with the same defaults.
func admit(cfg *project.Installed, defaults map[string]*resolvedValues, ns string, cm *corev1.ConfigMap, req *v1alpha1.RunRequest, reqErr error) (*admission, *rejection, *waitReason) {
	if reqErr != nil {
		return nil, &rejection{ReasonInvalidRequest, reqErr.Error()}, nil
	}
	// Before the run's first status write, which sets the label from
	// run.yaml: until then it is the submitter's.
	if err := v1alpha1.CheckDeploymentLabel(cm.Labels, req); err != nil {
		return nil, &rejection{ReasonInvalidRequest, err.Error()}, nil
	}
	d := cfg.Deployments[req.Deployment]
	if d == nil {
		if err := cfg.Errors[v1alpha1.ConfigIndexName]; err != nil {
			return nil, nil, &waitReason{err.Error()}
		}
		flow, name, _ := v1alpha1.SplitDeployment(req.Deployment)
		cmName := v1alpha1.DeploymentConfigMapName(flow, name)
		if err := cfg.Errors[cmName]; err != nil {
			return nil, nil, &waitReason{fmt.Sprintf("deployment config %s cannot be read: %v", cmName, err)}
		}
		return nil, &rejection{ReasonDeploymentNotFound, fmt.Sprintf("deployment %q not found%s", req.Deployment, suggest(req.Deployment, cfg))}, nil
	}
	pool := cfg.Pools[d.Pool]
	if pool == nil {
		if err := cfg.Errors[v1alpha1.PoolConfigMapName(d.Pool)]; err != nil {
			return nil, nil, &waitReason{fmt.Sprintf("pool config cannot be read: %v", err)}
		}
		return nil, nil, &waitReason{fmt.Sprintf("pool %q of deployment %s is not installed yet", d.Pool, req.Deployment)}
	}
	for i, t := range req.Tags {
		if strings.TrimSpace(t) == "" {
			return nil, &rejection{ReasonInvalidRequest, fmt.Sprintf("%s: tags[%d] is empty", v1alpha1.KeyRun, i)}, nil
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
	// resolve and no copies.
	var base *resolvedValues
	if len(req.Parameters) == 0 && len(req.JobVariables) == 0 && req.Timeout == nil {
		var ok bool
		if base, ok = defaults[d.FullName()]; !ok {
			base = resolveValues(ns, cm, d, pool, &v1alpha1.RunRequest{})
			defaults[d.FullName()] = base
		}
	} else {
		base = resolveValues(ns, cm, d, pool, req)
	}
	if base.rej != nil {
		return nil, base.rej, nil
	}
	return &admission{
		deployment: d,
		pool:       pool,
		slots:      slotsOf(pool.Name, d.Queue, d.FullName(), tags),
		scheduled:  scheduled,
		run:        base.run,
	}, nil, nil
}

// resolvedValues are a run's checked values, or why they are rejected.
type resolvedValues struct {
	run *project.CheckedRun
	rej *rejection
}

// resolveValues checks a run's own parameters and job variables by
// project.CheckRun, the rule the CLI applies before it submits.
func resolveValues(ns string, cm *corev1.ConfigMap, d *project.InstalledDeployment, pool *project.InstalledPool, req *v1alpha1.RunRequest) *resolvedValues {
	run, err := project.CheckRun(project.RunInputs{
		Project: &project.Project{Namespace: ns}, Pool: &pool.Pool, Template: pool.Template,
		Deployment: &d.Deployment, Schema: d.Params, Parameters: req.Parameters, JobVariables: req.JobVariables,
		Timeout: req.Timeout,
	})
	var re *project.RunError
	switch {
	case errors.As(err, &re) && !re.JobVariables:
		return &resolvedValues{rej: &rejection{ReasonInvalidParameters, err.Error()}}
	case err != nil:
		return &resolvedValues{rej: &rejection{ReasonInvalidJobVariables, err.Error()}}
	}
	// Resolve too, to reject a run whose Job cannot be built; the Job is
	// built again at dispatch, so waiting runs do not each keep one.
	if _, err := resolveJob(ns, cm, run, 1); err != nil {
		return &resolvedValues{rej: &rejection{ReasonInvalidJobVariables, err.Error()}}
	}
	return &resolvedValues{run: run}
}

// resolveJob builds the Job of a run's attempt (1 for the first) from its
// pool's template: a name derived from the run and the attempt, so a
// retried create never makes a second Job; a controller owner reference
// to the run's UID, by which the Job is known as the run's (and deleting
// the run deletes it); v1alpha1.FinalizerRunProtection, so it outlives any
// deletion until the run's final state is written; and what the run's
// timeout and retry policy need (applyRunPolicies).
func resolveJob(ns string, cm *corev1.ConfigMap, run *project.CheckedRun, attempt int32) (*batchv1.Job, error) {
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
