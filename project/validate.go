package project

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/parallel"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
)

func (l *Loaded) validate(e *errs) {
	validateHeader(e, l.Project)
	if len(l.Project.Pools) == 0 {
		e.add("pools", "a project needs at least one work pool")
	}
	pools := map[string]bool{}
	for i := range l.Project.Pools {
		l.validatePool(e, i, pools)
	}
	validateConcurrencyLimits(e, l.Project.ConcurrencyLimits)
	l.validateDeployments(e)
}

// validateHeader checks what a project says of itself: its kind, its
// names, its reconciler and its run retention.
func validateHeader(e *errs, p *Project) {
	if p.APIVersion != v1alpha1.APIVersion {
		e.add("apiVersion", "must be %q, got %q", v1alpha1.APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		e.add("kind", "must be %q, got %q", Kind, p.Kind)
	}
	dnsLabel(e, "name", p.Name)
	dnsLabel(e, "namespace", p.Namespace)
	if r := p.Reconciler.Replicas; r != nil && *r < 0 {
		e.add("reconciler.replicas", "must not be negative")
	}
	if img := p.Reconciler.Image; img != "" {
		if _, err := name.ParseReference(img); err != nil {
			e.add("reconciler.image", "%v: want NAME:TAG, or NAME@sha256:DIGEST to pin the image by digest", err)
		}
	}
	retention(e, field.NewPath("runRetention"), p.RunRetention)
}

// validatePool checks pool i, its name not among those seen before, and
// its queues.
func (l *Loaded) validatePool(e *errs, i int, pools map[string]bool) {
	pool := &l.Project.Pools[i]
	fp := field.NewPath("pools").Index(i)
	dnsLabel(e, fp.Child("name").String(), pool.Name)
	if pools[pool.Name] {
		e.add(fp.Child("name").String(), "duplicate pool %q", pool.Name)
	}
	pools[pool.Name] = true
	nonNegative(e, fp.Child("concurrencyLimit"), pool.ConcurrencyLimit)
	retention(e, fp.Child("runRetention"), pool.RunRetention)
	queues := map[string]bool{}
	for j, q := range pool.Queues {
		fq := fp.Child("queues").Index(j)
		dnsLabel(e, fq.Child("name").String(), q.Name)
		if queues[q.Name] {
			e.add(fq.Child("name").String(), "duplicate queue %q in pool %q", q.Name, pool.Name)
		}
		queues[q.Name] = true
		if q.Priority < 0 {
			e.add(fq.Child("priority").String(), "must be 1 or more (lower is served first)")
		}
		nonNegative(e, fq.Child("concurrencyLimit"), q.ConcurrencyLimit)
	}
	validateRunOverrides(e, fp.Child("runOverrides").String(), l.Templates[pool.Name], pool.RunOverrides)
	validateRunPolicies(e, fp, "pool "+v1alpha1.QuoteInput(pool.Name), pool.Retries, pool.Timeout)
	if t := l.Templates[pool.Name]; t != nil && len(pool.JobVariables) > 0 {
		if err := t.ValidatePartial(pool.JobVariables); err != nil { // deployments may supply required ones
			e.add(fp.Child("jobVariables").String(), "%v", err)
		}
	}
}

// validateConcurrencyLimits checks the tag limits: one per tag, each with
// a valid tag, limit and rate.
func validateConcurrencyLimits(e *errs, limits []v1alpha1.TagLimit) {
	tags := map[string]bool{}
	for i, tl := range limits {
		ft := field.NewPath("concurrencyLimits").Index(i)
		if msg := v1alpha1.TagProblem(tl.Tag); msg != "" {
			e.add(ft.Child("tag").String(), "%s", msg)
		}
		if tags[tl.Tag] {
			e.add(ft.Child("tag").String(), "duplicate limit for tag %q", tl.Tag)
		}
		tags[tl.Tag] = true
		nonNegative(e, ft.Child("limit"), &tl.Limit)
		validateRate(e, ft, &tl)
	}
}

// validateDeployments checks the project's notifications, then each
// deployment, then the starts of each (which name the others). Each
// deployment's own checks run on every core, into a list of its own,
// and the lists are joined in file order: the errors come out as they
// would one deployment after the other.
func (l *Loaded) validateDeployments(e *errs) {
	p := l.Project
	projectTargets := map[string]bool{}
	validateNotifications(e, field.NewPath("notifications"), p.Notifications, projectTargets)
	each := make([]errs, len(p.Deployments))
	for i := range each {
		each[i] = errs{file: e.file, lines: e.lines}
	}
	deployments := l.validateDeploymentNames(each)
	schemas := &SchemaCache{}
	compiled := make([]*ParameterSchema, len(p.Deployments))
	parallel.Each(len(p.Deployments), func(i int) {
		e := &each[i]
		compiled[i] = l.validateDeployment(e, i, schemas)
		d := &p.Deployments[i]
		fd := field.NewPath("deployments").Index(i)
		validateRunPolicies(e, fd, "deployment "+v1alpha1.QuoteInput(d.FullName()), d.Retries, d.Timeout)
		validateNotifications(e, fd.Child("notifications"), d.Notifications, maps.Clone(projectTargets))
		validateSLA(e, fd.Child("sla"), d.SLA)
	})
	for i := range each {
		e.list = append(e.list, each[i].list...)
		if compiled[i] != nil {
			l.parameterSchemas[&p.Deployments[i]] = compiled[i]
		}
	}
	for i := range p.Deployments {
		l.validateStarts(e, i, deployments)
	}
}

// validateDeploymentNames checks each deployment's flow and name, in file
// order (of two with one name, the later is the duplicate), into each,
// and returns the set of names.
func (l *Loaded) validateDeploymentNames(each []errs) map[string]bool {
	seen := map[string]bool{}
	cmNames := map[string]string{}
	for i := range l.Deployments {
		d := &l.Deployments[i]
		e := &each[i]
		fd := field.NewPath("deployments").Index(i)
		dnsLabel(e, fd.Child("flow").String(), d.Flow)
		dnsLabel(e, fd.Child("name").String(), d.Name)
		if seen[d.FullName()] {
			e.add(fd.Child("name").String(), "duplicate deployment %q", d.FullName())
		}
		seen[d.FullName()] = true
		cm := v1alpha1.DeploymentConfigMapName(d.Flow, d.Name)
		if other, ok := cmNames[cm]; ok && other != d.FullName() {
			e.add(fd.Child("name").String(), "deployments %q and %q both render to ConfigMap %q; rename one", other, d.FullName(), cm)
		}
		cmNames[cm] = d.FullName()
	}
	return seen
}

// validateStarts checks a deployment's starts: each names a deployment of
// the project, once; and its Jobs can be given their ServiceAccount, which
// is the service_account_name job variable, so the pool's template must
// declare it and the deployment must not set it.
func (l *Loaded) validateStarts(e *errs, i int, known map[string]bool) {
	d := &l.Deployments[i]
	if len(d.Starts) == 0 {
		return
	}
	fd := field.NewPath("deployments").Index(i)
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for j, s := range d.Starts {
		fs := fd.Child("starts").Index(j).String()
		switch {
		case seen[s]:
			e.add(fs, "%s listed twice", v1alpha1.QuoteInput(s))
		case !known[s]:
			msg := fmt.Sprintf("no deployment %s in this project", v1alpha1.QuoteInput(s))
			if close := Closest(s, names, 3); len(close) > 0 {
				msg += "; did you mean " + strings.Join(close, ", ") + "?"
			}
			e.add(fs, "%s", msg)
		}
		seen[s] = true
	}
	if _, ok := d.JobVariables[starterVariable]; ok {
		e.add(fd.Child("jobVariables").Child(starterVariable).String(),
			"a deployment with starts runs as its own ServiceAccount %s; remove %s", v1alpha1.StarterServiceAccountName(d.Flow, d.Name), starterVariable)
	}
	if pool := l.Pool(d.Pool); pool != nil {
		if t := l.Templates[pool.Name]; t != nil && t.HasVariable(starterVariable) != nil {
			e.add(fd.Child("starts").String(), "the template of pool %q declares no job variable %s, which gives the Jobs of a deployment with starts their ServiceAccount", pool.Name, starterVariable)
		}
	}
}

// starterVariable is the job variable that gives a starting deployment's
// Jobs their ServiceAccount (Prefect's name for it).
const starterVariable = "service_account_name"

// validateParameters checks a deployment's parameterSchema and its
// defaults against it, and keeps the compiled schema for its runs.
func (l *Loaded) validateParameters(e *errs, fd *field.Path, d *v1alpha1.Deployment, schemas *SchemaCache) *ParameterSchema {
	if d.ParameterSchema == nil {
		return nil
	}
	sch, err := schemas.Compile(d.ParameterSchema)
	if err != nil {
		e.add(fd.Child("parameterSchema").String(), "%v", err)
		return nil
	}
	if err := sch.Validate(d.Parameters); err != nil {
		e.add(fd.Child("parameters").String(), "%v", err)
	}
	return sch
}

// validateDeployment checks deployment i but for its name (see
// validateDeploymentNames) and returns its parameterSchema compiled, nil
// when it has none or it does not compile. Deployments are checked at
// once: it writes only to e.
func (l *Loaded) validateDeployment(e *errs, i int, schemas *SchemaCache) *ParameterSchema {
	d := &l.Deployments[i]
	fd := field.NewPath("deployments").Index(i)
	if strings.TrimSpace(d.Entrypoint) == "" {
		e.add(fd.Child("entrypoint").String(), "required: the flow's code location, e.g. flows/hello.py:hello")
	}
	pool := l.Pool(d.Pool)
	switch {
	case d.Pool == "":
		e.add(fd.Child("pool").String(), "required: the work pool that runs this deployment")
	case pool == nil:
		e.add(fd.Child("pool").String(), "pool %q not found (known: %s)", d.Pool, strings.Join(l.poolNames(), ", "))
	case pool.Queue(d.Queue) == nil:
		e.add(fd.Child("queue").String(), "queue %q not found in pool %q (known: %s)", d.Queue, d.Pool, strings.Join(queueNames(pool), ", "))
	}
	tags := map[string]bool{}
	for j, t := range d.Tags {
		if msg := v1alpha1.TagProblem(t); msg != "" {
			e.add(fd.Child("tags").Index(j).String(), "%s", msg)
		}
		if tags[t] {
			e.add(fd.Child("tags").Index(j).String(), "duplicate tag %q", t)
		}
		tags[t] = true
	}
	nonNegative(e, fd.Child("concurrencyLimit"), d.ConcurrencyLimit)
	if d.CollisionStrategy != v1alpha1.CollisionEnqueue && d.CollisionStrategy != v1alpha1.CollisionCancelNew {
		e.add(fd.Child("collisionStrategy").String(), "must be %s or %s, got %q", v1alpha1.CollisionEnqueue, v1alpha1.CollisionCancelNew, d.CollisionStrategy)
	}
	if d.Image != "" {
		if _, ok := d.JobVariables["image"]; ok {
			e.add(fd.Child("image").String(), "set either image or jobVariables.image, not both")
		}
	}
	schema := l.validateParameters(e, fd, d, schemas)
	if pool != nil {
		validateRunOverrides(e, fd.Child("runOverrides").String(), l.Templates[pool.Name], d.RunOverrides)
		if t := l.Templates[pool.Name]; t != nil {
			if err := t.Validate(DeploymentJobVariables(pool, d)); err != nil {
				e.add(fd.Child("jobVariables").String(), "%v", err)
			}
		}
	}
	validateSchedules(e, fd, d, schema)
	return schema
}

// validateSchedules checks each schedule of a deployment: its timing, its
// catch-up policy, and its parameters merged over the deployment's against
// the deployment's parameterSchema, as a run it fires will be checked.
// schema is that parameterSchema compiled, nil when the deployment has
// none or it does not compile (an error of the deployment's own).
func validateSchedules(e *errs, fd *field.Path, d *v1alpha1.Deployment, schema *ParameterSchema) {
	for j, s := range d.Schedules {
		fs := fd.Child("schedules").Index(j)
		switch {
		case s.Cron != "" && s.Interval != nil:
			e.add(fs.String(), "set cron or interval, not both")
		case s.Cron != "":
			if err := ParseCron(s.Cron, s.Timezone); err != nil {
				e.add(fs.Child("cron").String(), "%q: %v", s.Cron, err)
			}
		case s.Interval != nil:
			if s.Interval.Duration <= 0 {
				e.add(fs.Child("interval").String(), "must be a positive duration such as 10m or 1h")
			}
			if _, err := loadLocation(s.Timezone); err != nil {
				e.add(fs.Child("timezone").String(), "%v", err)
			}
		default:
			e.add(fs.String(), "needs a cron (with an optional timezone) or an interval")
		}
		switch s.CatchUp {
		case "", v1alpha1.CatchUpLatest, v1alpha1.CatchUpNone, v1alpha1.CatchUpAll:
		default:
			e.add(fs.Child("catchup").String(), "must be %s, %s or %s, got %s", v1alpha1.CatchUpLatest, v1alpha1.CatchUpNone, v1alpha1.CatchUpAll, v1alpha1.QuoteInput(s.CatchUp))
		}
		if m := s.MaxCatchup; m != nil {
			if s.CatchUp != v1alpha1.CatchUpAll {
				e.add(fs.Child("maxCatchup").String(), "applies to catchup: %s only; set catchup: %s or remove maxCatchup", v1alpha1.CatchUpAll, v1alpha1.CatchUpAll)
			} else if *m < 1 || *m > v1alpha1.MaxMaxCatchup {
				e.add(fs.Child("maxCatchup").String(), "must be 1 to %d, got %d", v1alpha1.MaxMaxCatchup, *m)
			}
		}
		if schema != nil && len(s.Parameters) > 0 {
			if err := schema.Validate(ScheduleParameters(d, j)); err != nil {
				e.add(fs.Child("parameters").String(), "schedule %d of deployment %s: %v (its parameters are merged over the deployment's)", j, d.FullName(), err)
			}
		}
	}
}

// DeploymentJobVariables layers a deployment's job variables over its pool's
// (the image shorthand sits between), the order the reconciler applies
// before a run's own.
//
// A deployment that starts runs (Starts) runs as its own ServiceAccount,
// v1alpha1.StarterServiceAccountName, over the pool's; validation keeps the
// deployment from setting another.
func DeploymentJobVariables(pool *v1alpha1.Pool, d *v1alpha1.Deployment) map[string]any {
	own := d.JobVariables
	short := map[string]any{}
	if d.Image != "" {
		short["image"] = d.Image
	}
	if len(d.Starts) > 0 {
		short[starterVariable] = v1alpha1.StarterServiceAccountName(d.Flow, d.Name)
	}
	if len(short) > 0 {
		own = jobtemplate.Merge(short, d.JobVariables)
	}
	return jobtemplate.Merge(pool.JobVariables, own)
}

func (p *Project) poolNames() []string {
	names := make([]string, len(p.Pools))
	for i, pool := range p.Pools {
		names[i] = pool.Name
	}
	sort.Strings(names)
	return names
}

func queueNames(p *v1alpha1.Pool) []string {
	names := make([]string, len(p.Queues))
	for i, q := range p.Queues {
		names[i] = q.Name
	}
	sort.Strings(names)
	return names
}

func dnsLabel(e *errs, fld, v string) {
	if v == "" {
		e.add(fld, "required")
		return
	}
	if msg := v1alpha1.DNSLabelProblem(v); msg != "" {
		e.add(fld, "%s is not a valid Kubernetes name: %s", v1alpha1.QuoteInput(v), msg)
	}
}

func nonNegative(e *errs, fld *field.Path, v *int32) {
	if v != nil && *v < 0 {
		e.add(fld.String(), "must not be negative, got %d", *v)
	}
}

func retention(e *errs, fld *field.Path, r *v1alpha1.Retention) {
	if r == nil {
		return
	}
	nonNegative(e, fld.Child("count"), r.Count)
	if r.Age != nil && r.Age.Duration < 0 {
		e.add(fld.Child("age").String(), "must not be negative")
	}
}

// LimitString renders a limit for tables: "unlimited" when unset.
func LimitString(v *int32) string {
	if v == nil {
		return "unlimited"
	}
	return fmt.Sprint(*v)
}
