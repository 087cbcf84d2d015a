package jobtemplate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"

	"github.com/kubectl-flows/kubectl-flows/entrypoint"
	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
)

// Run describes the run a Job is rendered for.
type Run struct {
	Name       string            // run name; becomes the Job name (deterministic; replaces generateName)
	Namespace  string            // fallback namespace (see Resolve)
	Flow       string            // "hello"
	Deployment string            // "hello/default"
	Entrypoint string            // "flows/hello.py:hello"
	Parameters map[string]any    // flow parameters, passed as FLOWS_PARAMETERS
	Labels     map[string]string // extra labels for the Job and its pod template (v1alpha1.LabelRunName etc.)
}

// Names of the environment variables every flow container gets.
const (
	EnvRunName    = "FLOWS_RUN_NAME"
	EnvFlow       = "FLOWS_FLOW"
	EnvDeployment = "FLOWS_DEPLOYMENT"
	EnvEntrypoint = "FLOWS_ENTRYPOINT"
	EnvParameters = "FLOWS_PARAMETERS"
)

// Resolved is a template rendered for one run.
type Resolved struct {
	Job *batchv1.Job
	// Config is the rest of job_configuration after templating: every key
	// but job_manifest (pod_watch_timeout_seconds, job_watch_timeout_seconds,
	// stream_output, env, labels, name, namespace, ...). Unset ones are absent.
	Config map[string]any
}

// PodWatchTimeout is pod_watch_timeout_seconds, or 0 when unset.
func (r *Resolved) PodWatchTimeout() time.Duration { return r.seconds("pod_watch_timeout_seconds") }

// JobWatchTimeout is job_watch_timeout_seconds, or 0 when unset.
func (r *Resolved) JobWatchTimeout() time.Duration { return r.seconds("job_watch_timeout_seconds") }

func (r *Resolved) seconds(key string) time.Duration {
	if r == nil {
		return 0
	}
	s, ok := number(r.Config[key])
	if !ok || s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// Resolve renders the Job for a run:
//
//  1. variables = schema defaults < run.Name / run.Namespace (for the name
//     and namespace variables) < values (env merged key by key); null means
//     unset. Unknown names and schema violations are errors (see Validate).
//  2. job_configuration is templated with Prefect's apply_values semantics.
//  3. The manifest becomes a Job, Prefect's KubernetesWorkerJobConfiguration
//     way: env dicts become [{name, value}] lists sorted by name (the first
//     container gets job_configuration.env, followed by entries hard-coded
//     in the template that it does not override); string command/args are
//     split like a shell (shlex); job_configuration labels and Run.Labels
//     are added to the Job and its pod template, job_configuration
//     annotations to both when there are any; invalid label keys and values
//     are slugified as Prefect does (valid ones are left untouched).
//  4. metadata.name is Run.Name and generateName is dropped; an empty
//     metadata.namespace falls back to the namespace variable, then
//     Run.Namespace.
//  5. The manifest is decoded strictly into a batchv1.Job: an unknown field
//     is an error naming its path. The one exception is Prefect's own
//     default template, which puts parallelism and completions in the pod
//     spec, where Kubernetes ignores them: those two are dropped.
//  6. Every container (init containers excepted) gets FLOWS_DEPLOYMENT,
//     FLOWS_ENTRYPOINT, FLOWS_FLOW, FLOWS_PARAMETERS (compact JSON, sorted
//     keys) and FLOWS_RUN_NAME first in its env, so other variables can
//     refer to them with $(FLOWS_...). An entry of the same name from the
//     template or the job variables is replaced: these describe the run and
//     must be right.
//
// Resolve is pure and deterministic: the same template, values and run give
// the same Job, byte for byte.
func (t *Template) Resolve(values map[string]any, run Run) (*Resolved, error) {
	if err := run.check(); err != nil {
		return nil, err
	}
	params, err := parametersJSON(run.Parameters)
	if err != nil {
		return nil, err
	}
	vars, err := t.values(values, run, t.schema)
	if err != nil {
		return nil, err
	}
	t.defaultCommand(vars, run)

	rendered, _ := t.config.render(vars)
	cfg := rendered.(map[string]any)
	// Prefect (from_template_and_values): when job_configuration.env is a
	// literal object rather than "{{ env }}", the env variable is merged
	// into it instead of replacing it.
	if _, literal := t.jobConfig["env"].(map[string]any); literal {
		if env, ok := cfg["env"].(map[string]any); ok {
			if varEnv, ok := vars["env"].(map[string]any); ok {
				for k, v := range varEnv {
					env[k] = deepCopy(v)
				}
			}
		}
	}
	manifest, ok := cfg["job_manifest"].(map[string]any)
	if !ok {
		return nil, errors.New("job_configuration.job_manifest is not an object after templating")
	}
	delete(cfg, "job_manifest")

	if err := prepareManifest(manifest, cfg); err != nil {
		return nil, err
	}
	job, err := decodeJob(manifest)
	if err != nil {
		return nil, err
	}
	if err := finishJob(job, cfg, run, params); err != nil {
		return nil, err
	}
	return &Resolved{Job: job, Config: cfg}, nil
}

// defaultCommand fills the command variable, when the template declares it
// and nothing set it, with the runner that calls the run's entrypoint with
// its parameters. Prefect's worker fills the same variable the same way
// (with `prefect flow-run execute`) for a deployment that sets no command.
// An empty command ("") is set: the template's args come out empty and the
// image's own command runs.
func (t *Template) defaultCommand(vars map[string]any, run Run) {
	if run.Entrypoint == "" {
		return
	}
	if _, declared := t.properties["command"]; !declared {
		return
	}
	if _, set := vars["command"]; set {
		return
	}
	vars["command"] = entrypoint.Command()
}

func (r Run) check() error {
	if r.Name == "" {
		return errors.New("run has no name (it becomes the Job name)")
	}
	errs := validation.IsDNS1123Subdomain(r.Name)
	if len(r.Name) > validation.LabelValueMaxLength {
		// The Job controller copies the name into the pods' job-name label.
		errs = append(errs, validation.MaxLenError(validation.LabelValueMaxLength))
	}
	if len(errs) > 0 {
		return fmt.Errorf("run name %q cannot be a Job name: %s", r.Name, strings.Join(errs, "; "))
	}
	if r.Namespace != "" {
		if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
			return fmt.Errorf("run namespace %q: %s", r.Namespace, strings.Join(errs, "; "))
		}
	}
	return nil
}

func parametersJSON(p map[string]any) (string, error) {
	if p == nil {
		return "{}", nil
	}
	n, err := jsonvalue.Normalize(p)
	if err != nil {
		return "", fmt.Errorf("run parameters: %w", err)
	}
	b, err := marshalCompact(n)
	if err != nil {
		return "", fmt.Errorf("run parameters: %w", err)
	}
	return string(b), nil
}

// prepareManifest does the map-level work that must happen before the
// manifest can be decoded into a batchv1.Job.
func prepareManifest(m, cfg map[string]any) error {
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "generateName")
	}
	spec := child(child(child(m, "spec"), "template"), "spec")
	if spec == nil {
		return nil // decodeJob/finishJob report the missing containers
	}
	// Prefect's default template has these in the pod spec, where they mean
	// nothing (KubernetesWorker's _get_default_job_manifest_template).
	delete(spec, "parallelism")
	delete(spec, "completions")

	cfgEnv, hasCfgEnv := envList(cfg["env"])
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for i, item := range list {
			c, ok := item.(map[string]any)
			if !ok {
				continue
			}
			at := fmt.Sprintf("job_configuration.job_manifest.spec.template.spec.%s[%d]", key, i)
			if key == "containers" && i == 0 && hasCfgEnv {
				// Prefect's _populate_env_in_manifest: job_configuration.env,
				// then hard-coded entries of the template it does not override.
				env := append([]any(nil), cfgEnv...)
				if own, ok := c["env"].([]any); ok {
					names := map[string]bool{}
					for _, e := range cfgEnv {
						names[e.(map[string]any)["name"].(string)] = true
					}
					for _, e := range own {
						if em, ok := e.(map[string]any); ok {
							if n, _ := em["name"].(string); names[n] {
								continue
							}
						}
						env = append(env, e)
					}
				}
				c["env"] = env
			} else if _, isMap := c["env"].(map[string]any); isMap {
				c["env"], _ = envList(c["env"])
			}
			for _, f := range []string{"command", "args"} {
				if s, ok := c[f].(string); ok {
					words, err := shellSplit(s)
					if err != nil {
						return fmt.Errorf("%s.%s: %w", at, f, err)
					}
					c[f] = words
				}
			}
		}
	}
	return nil
}

func child(m map[string]any, key string) map[string]any {
	if m == nil {
		return nil
	}
	c, _ := m[key].(map[string]any)
	return c
}

// envList turns an env value into Kubernetes' list form. An object becomes
// [{name, value}] sorted by name, null entries dropped and other values
// written as text (Prefect coerces them with str()); a list is kept as is.
func envList(v any) ([]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		out := make([]any, 0, len(v))
		for _, k := range sortedKeys(v) {
			if v[k] == nil {
				continue
			}
			out = append(out, map[string]any{"name": k, "value": text(v[k])})
		}
		return out, true
	case []any:
		for _, e := range v {
			if em, ok := e.(map[string]any); !ok {
				return v, false
			} else if _, ok := em["name"].(string); !ok {
				return v, false
			}
		}
		return v, true
	default:
		return nil, false
	}
}

func decodeJob(m map[string]any) (*batchv1.Job, error) {
	data, err := marshalCompact(m)
	if err != nil {
		return nil, fmt.Errorf("job_configuration.job_manifest: %w", err)
	}
	job := &batchv1.Job{}
	strict, err := kjson.UnmarshalStrict(data, job)
	if err != nil {
		return nil, fmt.Errorf("job_configuration.job_manifest is not a valid batch/v1 Job: %w", err)
	}
	if len(strict) > 0 {
		errs := make([]error, len(strict))
		for i, e := range strict {
			var fe kjson.FieldError
			if errors.As(e, &fe) {
				errs[i] = fmt.Errorf("job_configuration.job_manifest.%s: unknown field (not part of a batch/v1 Job)", fe.FieldPath())
				continue
			}
			errs[i] = fmt.Errorf("job_configuration.job_manifest: %w", e)
		}
		return nil, errors.Join(errs...)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		return nil, fmt.Errorf("job_configuration.job_manifest must be apiVersion batch/v1, kind Job; got %q, %q", job.APIVersion, job.Kind)
	}
	return job, nil
}

func finishJob(job *batchv1.Job, cfg map[string]any, run Run, params string) error {
	job.Name = run.Name
	job.GenerateName = ""
	if job.Namespace == "" {
		if ns, ok := cfg["namespace"].(string); ok && ns != "" {
			job.Namespace = ns
		} else {
			job.Namespace = run.Namespace
		}
	}

	cfgLabels := stringMap(cfg["labels"])
	job.Labels = labelSet(job.Labels, cfgLabels, run.Labels)
	pod := &job.Spec.Template
	pod.Labels = labelSet(pod.Labels, cfgLabels, run.Labels)

	ann := map[string]string{}
	for k, v := range job.Annotations {
		ann[k] = v
	}
	for k, v := range stringMap(cfg["annotations"]) {
		ann[k] = v
	}
	job.Annotations = nil
	if len(ann) > 0 {
		job.Annotations = make(map[string]string, len(ann))
		for k, v := range ann {
			job.Annotations[slugLabelKey(k)] = v
		}
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		for k, v := range job.Annotations {
			pod.Annotations[k] = v
		}
	}

	cs := pod.Spec.Containers
	if len(cs) == 0 {
		return errors.New("job_configuration.job_manifest.spec.template.spec.containers: the Job has no containers")
	}
	flows := []corev1.EnvVar{
		{Name: EnvDeployment, Value: run.Deployment},
		{Name: EnvEntrypoint, Value: run.Entrypoint},
		{Name: EnvFlow, Value: run.Flow},
		{Name: EnvParameters, Value: params},
		{Name: EnvRunName, Value: run.Name},
	}
	for i := range cs {
		c := &cs[i]
		if c.Image == "" {
			return fmt.Errorf("job_configuration.job_manifest.spec.template.spec.containers[%d] (%q) has no image: set the image job variable", i, c.Name)
		}
		env := make([]corev1.EnvVar, 0, len(flows)+len(c.Env))
		env = append(env, flows...)
		for _, e := range c.Env {
			if !isFlowsEnv(e.Name) {
				env = append(env, e)
			}
		}
		c.Env = env
	}
	return nil
}

func isFlowsEnv(name string) bool {
	switch name {
	case EnvRunName, EnvFlow, EnvDeployment, EnvEntrypoint, EnvParameters:
		return true
	}
	return false
}

// stringMap reads labels/annotations from job_configuration (an object of
// strings; other values are written as text, null ones skipped).
func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		if e != nil {
			out[k] = text(e)
		}
	}
	return out
}

// labelSet merges label maps (later wins) and slugifies invalid keys and
// values. nil when empty.
func labelSet(levels ...map[string]string) map[string]string {
	n := 0
	for _, l := range levels {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	out := make(map[string]string, n)
	for _, l := range levels {
		for k, v := range l {
			out[k] = v
		}
	}
	// Slugify in sorted order so that two keys slugifying to the same
	// string resolve the same way every time.
	var fixed map[string]string
	for _, k := range sortedKeys(out) {
		v := out[k]
		sk, sv := slugLabelKey(k), slugLabelValue(v)
		if sk == k && sv == v {
			continue
		}
		if fixed == nil {
			fixed = map[string]string{}
		}
		delete(out, k)
		fixed[sk] = sv
	}
	for k, v := range fixed {
		if _, clash := out[k]; !clash {
			out[k] = v
		}
	}
	return out
}
