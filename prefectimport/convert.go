// Package prefectimport turns a Prefect prefect.yaml into a kubectl-flows
// project: its deployments, work pools and queues, with limits given
// beside it. It reads the YAML as nodes, so anchors, aliases and merge keys
// resolve as Prefect resolves them and every warning names the line of
// prefect.yaml it is about. What has no equivalent (build, push and pull
// steps, rrule schedules, Prefect variables and blocks, job variables the
// pool's template does not declare) is reported, never dropped silently.
package prefectimport

import (
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/jobtemplate"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Options say what to convert and what prefect.yaml cannot say.
type Options struct {
	// File names prefect.yaml in messages; Source is its content.
	File   string
	Source []byte
	// Name and Namespace of the project; Name defaults to prefect.yaml's
	// name, Namespace to "flows".
	Name, Namespace string
	// BaseJobTemplate is the path flows.yaml gives every pool (relative to
	// flows.yaml), "" for the default template; Template is that template,
	// parsed, whose variables the deployments' job_variables must be.
	BaseJobTemplate string
	Template        *jobtemplate.Template
	// Pools and TagLimits carry the limits a Prefect server keeps: a pool's
	// concurrency limit and paused state, its queues' priority, limit and
	// paused state, by pool name; and the tag concurrency limits.
	Pools     []v1alpha1.Pool
	TagLimits []v1alpha1.TagLimit
	// Env looks up {{ $VAR }} (os.LookupEnv when nil); ReadFile reads an
	// entrypoint's file, relative to prefect.yaml, to find @flow(name=...)
	// (os.ReadFile from the current directory when nil).
	Env      func(string) (string, bool)
	ReadFile func(string) ([]byte, error)
}

// Result is the converted project and what the conversion has to say.
type Result struct {
	Project  *project.Project
	Warnings []string
}

type converter struct {
	o        Options
	warnings []warning
	reported map[*yamlv3.Node]bool
	pools    []*v1alpha1.Pool
}

type warning struct {
	line int
	text string
}

func (c *converter) warn(at node, format string, args ...any) {
	line := 0
	if at.ok() {
		line = at.n.Line
	}
	c.warnings = append(c.warnings, warning{line, at.where(c.o.File) + ": " + fmt.Sprintf(format, args...)})
}

// sortedWarnings lists the warnings in the order of prefect.yaml's lines.
func (c *converter) sortedWarnings() []string {
	sort.SliceStable(c.warnings, func(i, j int) bool { return c.warnings[i].line < c.warnings[j].line })
	out := make([]string, len(c.warnings))
	for i, w := range c.warnings {
		out[i] = w.text
	}
	return out
}

// Convert reads prefect.yaml and returns the project.
func Convert(o Options) (*Result, error) {
	if o.Namespace == "" {
		o.Namespace = "flows"
	}
	if o.Template == nil {
		o.Template = jobtemplate.Default()
	}
	if o.Env == nil {
		o.Env = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(o.Source, &doc); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %v", o.File, err)
	}
	root := deref(&doc, 0)
	if !root.isMap() {
		return nil, fmt.Errorf("%s: want a mapping with deployments:, as prefect.yaml has", o.File)
	}
	c := &converter{o: o, reported: map[*yamlv3.Node]bool{}}
	p := &project.Project{APIVersion: v1alpha1.APIVersion, Kind: project.Kind, Namespace: o.Namespace}
	name, _ := get(root, "name").str()
	if o.Name != "" {
		name = o.Name
	}
	p.Name = c.dnsLabel(get(root, "name"), "project name", name)
	if p.Name == "" {
		return nil, fmt.Errorf("%s: no project name (prefect.yaml has no name:); pass --name", o.File)
	}
	for _, kv := range root.pairs() {
		switch kv.key {
		case "name", "prefect-version", "description", "deployments", "definitions", "build", "push", "pull", "required_inputs":
		default:
			c.warn(kv.val, "%s: not read by import (no kubectl-flows equivalent)", kv.key)
		}
	}
	global := map[string]node{}
	for _, section := range []string{"build", "push", "pull"} {
		if v, ok := root.get(section); ok {
			global[section] = v
		}
	}
	deployments, ok := root.get("deployments")
	if !ok || len(deployments.items()) == 0 {
		return nil, fmt.Errorf("%s: no deployments: to import", o.File)
	}
	for _, dn := range deployments.items() {
		if d := c.deployment(dn, global); d != nil {
			p.Deployments = append(p.Deployments, *d)
		}
	}
	c.applyLimits()
	for _, pool := range c.pools {
		p.Pools = append(p.Pools, *pool)
	}
	p.ConcurrencyLimits = o.TagLimits
	return &Result{Project: p, Warnings: c.sortedWarnings()}, nil
}

func get(v node, key string) node {
	n, _ := v.get(key)
	return n
}

// dnsLabel makes a Prefect name a Kubernetes one, saying so when it changes.
func (c *converter) dnsLabel(at node, what, s string) string {
	l := jobtemplate.DNSLabel(s)
	if l != s && s != "" {
		c.warn(at, "%s %q becomes %q (a Kubernetes name: lower case, digits and '-')", what, s, l)
	}
	return l
}

var deploymentKeys = map[string]bool{
	"name": true, "version": true, "version_type": true, "tags": true, "description": true, "schedule": true, "schedules": true,
	"paused": true, "active": true, "concurrency_limit": true, "flow_name": true, "entrypoint": true, "parameters": true,
	"enforce_parameter_schema": true, "parameter_openapi_schema": true, "build": true, "push": true, "pull": true,
	"work_pool": true, "triggers": true, "sla": true,
}

func (c *converter) deployment(dn node, global map[string]node) *v1alpha1.Deployment {
	if !dn.isMap() {
		c.warn(dn, "a deployment must be a mapping; skipped")
		return nil
	}
	sections := map[string]node{}
	for k, v := range global {
		sections[k] = v
	}
	for _, s := range []string{"build", "push", "pull"} {
		if v, ok := dn.get(s); ok { // a deployment's own steps replace the global ones, as in `prefect deploy`
			sections[s] = v
		}
	}
	ctx := c.steps(sections)

	d, rawName := c.deploymentNames(dn)
	if d == nil {
		return nil
	}
	for _, kv := range dn.pairs() {
		c.deploymentField(d, kv, ctx)
	}
	if d.Pool == "" {
		c.warn(dn, "deployment %s has no work_pool.name; it goes to pool %q", rawName, "default")
		d.Pool = c.pool("default").Name
	}
	c.parameterSchema(d, dn)
	if d.Image == "" {
		c.warn(dn, "deployment %s has no image (work_pool.job_variables.image); set image: in flows.yaml", rawName)
	}
	return d
}

// deploymentNames starts a deployment from its name, entrypoint and flow
// name, and returns it with its name as written; nil, with a warning,
// for a deployment without a name or an entrypoint.
func (c *converter) deploymentNames(dn node) (*v1alpha1.Deployment, string) {
	rawName, _ := get(dn, "name").str()
	if rawName == "" {
		c.warn(dn, "deployment without a name; skipped")
		return nil, ""
	}
	d := &v1alpha1.Deployment{}
	d.Name = c.dnsLabel(get(dn, "name"), "deployment name", rawName)
	ep, _ := get(dn, "entrypoint").str()
	if ep == "" {
		c.warn(dn, "deployment %s has no entrypoint (path/to/file.py:function); skipped", rawName)
		return nil, ""
	}
	d.Entrypoint = ep
	flowName, _ := get(dn, "flow_name").str()
	if flowName == "" {
		flowName = c.flowName(get(dn, "entrypoint"), ep)
	}
	d.Flow = c.dnsLabel(get(dn, "entrypoint"), "flow name", flowName)
	return d, rawName
}

// deploymentField reads one field of a prefect.yaml deployment into d,
// or warns of what has no equivalent.
func (c *converter) deploymentField(d *v1alpha1.Deployment, kv pair, ctx *stepContext) {
	v := kv.val
	switch kv.key {
	case "description":
		d.Description, _ = ctx.value(c, v).(string)
	case "version", "version_type":
		if !v.isNull() {
			c.warn(v, "%s: no equivalent; the image tag (the git SHA) says which code runs; dropped", kv.key)
		}
	case "tags":
		tags, _ := ctx.value(c, v).([]any)
		for _, t := range tags {
			if s, ok := t.(string); ok && s != "" {
				d.Tags = append(d.Tags, s)
			}
		}
		if !v.isNull() && !v.isSeq() {
			c.warn(v, "tags: want a list of tags; dropped")
		}
	case "parameters":
		d.Parameters, _ = ctx.value(c, v).(map[string]any)
	case "paused":
		d.Paused, _ = v.scalar().(bool)
	case "active":
		if a, ok := v.scalar().(bool); ok && !a {
			d.Paused = true
		}
	case "concurrency_limit":
		c.concurrency(d, v)
	case "schedule":
		if v.isMap() && len(v.pairs()) > 0 {
			c.schedule(d, v, ctx)
		}
	case "schedules":
		for _, s := range v.items() {
			c.schedule(d, s, ctx)
		}
	case "work_pool":
		c.workPool(d, v, ctx)
	case "triggers", "sla":
		if !v.isNull() {
			c.warn(v, "%s: automations and SLAs need a Prefect server; not imported", kv.key)
		}
	default:
		if !deploymentKeys[kv.key] {
			c.warn(v, "%s: not a prefect.yaml deployment field; not read", kv.key)
		}
	}
}

var flowDecoratorRE = `(?ms)@(?:prefect\.)?flow\s*\(([^)]*)\)\s*\n(?:\s*@[^\n]*\n)*\s*(?:async\s+)?def\s+%s\s*\(`

var nameArgRE = regexp.MustCompile(`\bname\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// flowName derives the flow's name as Prefect does: the name given to
// @flow(name=...), else the function's name with '_' turned into '-'.
func (c *converter) flowName(at node, ep string) string {
	file, fn, _ := strings.Cut(ep, ":")
	if i := strings.LastIndex(fn, "."); i >= 0 {
		fn = fn[i+1:]
	}
	name := strings.ReplaceAll(fn, "_", "-")
	src, err := c.o.ReadFile(path.Clean(file))
	if err != nil {
		return name
	}
	re := regexp.MustCompile(fmt.Sprintf(flowDecoratorRE, regexp.QuoteMeta(fn)))
	if m := re.FindSubmatch(src); m != nil {
		if a := nameArgRE.FindSubmatch(m[1]); a != nil {
			return string(a[1]) + string(a[2])
		}
		if strings.Contains(string(m[1]), "name") {
			c.warn(at, "%s names its flow with an expression import cannot read; the flow is named %q after the function", file, name)
		}
	}
	return name
}

func (c *converter) concurrency(d *v1alpha1.Deployment, v node) {
	if n, ok := v.scalar().(int); ok {
		d.ConcurrencyLimit = int32p(n)
		return
	}
	if !v.isMap() {
		if !v.isNull() {
			c.warn(v, "concurrency_limit: want a number or {limit, collision_strategy}; dropped")
		}
		return
	}
	if n, ok := get(v, "limit").scalar().(int); ok {
		d.ConcurrencyLimit = int32p(n)
	}
	switch s, _ := get(v, "collision_strategy").str(); strings.ToUpper(s) {
	case "", "ENQUEUE":
	case "CANCEL_NEW":
		d.CollisionStrategy = v1alpha1.CollisionCancelNew
	default:
		c.warn(get(v, "collision_strategy"), "collision_strategy %q: want ENQUEUE or CANCEL_NEW; Enqueue used", s)
	}
	if g, ok := v.get("grace_period_seconds"); ok && !g.isNull() {
		c.warn(g, "grace_period_seconds: no equivalent (a slot is held until the run's Job ends); dropped")
	}
}

func int32p(n int) *int32 {
	if n < 0 || n > math.MaxInt32 {
		n = 0
	}
	v := int32(n)
	return &v
}

func (c *converter) schedule(d *v1alpha1.Deployment, v node, ctx *stepContext) {
	if !v.isMap() {
		c.warn(v, "a schedule must be a mapping; dropped")
		return
	}
	s := v1alpha1.Schedule{}
	tz, _ := get(v, "timezone").str()
	s.Timezone = tz
	if a, ok := get(v, "active").scalar().(bool); ok && !a {
		s.Active = &a
	}
	s.Parameters, _ = ctx.value(c, get(v, "parameters")).(map[string]any)
	if len(s.Parameters) == 0 {
		s.Parameters = nil
	}
	switch {
	case get(v, "rrule").ok():
		r, _ := get(v, "rrule").str()
		c.warn(get(v, "rrule"), "rrule schedule %q: kubectl-flows schedules are cron or interval; write it as one or more cron schedules; dropped", r)
		return
	case get(v, "cron").ok():
		s.Cron, _ = get(v, "cron").str()
		if dayOr, ok := get(v, "day_or").scalar().(bool); ok && !dayOr {
			c.warn(get(v, "day_or"), "day_or: false (day of month AND day of week) is not supported: cron here matches either, as Prefect's default; schedule %q dropped", s.Cron)
			return
		}
	case get(v, "interval").ok():
		iv, err := interval(get(v, "interval"))
		if err != nil {
			c.warn(get(v, "interval"), "interval: %v; schedule dropped", err)
			return
		}
		s.Interval = &metav1.Duration{Duration: iv}
		if a := get(v, "anchor_date"); a.ok() && !a.isNull() {
			c.warn(a, "anchor_date: intervals count from midnight, 1 January 2020, in the schedule's time zone; anchor %v not kept", a.scalar())
		}
	default:
		c.warn(v, "schedule without cron, interval or rrule; dropped")
		return
	}
	if x := get(v, "max_active_runs"); x.ok() {
		c.warn(x, "max_active_runs: no equivalent per schedule; the deployment's concurrencyLimit bounds its runs; dropped")
	}
	if x := get(v, "catchup"); x.ok() {
		c.warn(x, "catchup: Prefect's flag is not kept; flows.yaml says on the schedule what runs after downtime: catchup: Latest (the default: the latest missed tick), None or All with maxCatchup; dropped")
	}
	d.Schedules = append(d.Schedules, s)
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
var clockRE = regexp.MustCompile(`^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)$`)

// interval reads Prefect's interval forms: seconds, ISO 8601 (PT1H) or
// [D day[s], ]HH:MM:SS, as pydantic reads a timedelta.
func interval(v node) (time.Duration, error) {
	switch x := v.scalar().(type) {
	case int:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		num := func(s string) float64 {
			var f float64
			fmt.Sscan(s, &f)
			return f
		}
		if m := isoDurationRE.FindStringSubmatch(x); m != nil && x != "P" && x != "PT" {
			secs := num(m[1])*86400 + num(m[2])*3600 + num(m[3])*60 + num(m[4])
			return time.Duration(secs * float64(time.Second)), nil
		}
		if m := clockRE.FindStringSubmatch(x); m != nil {
			secs := num(m[1])*86400 + num(m[2])*3600 + num(m[3])*60 + num(m[4])
			return time.Duration(secs * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("%q is not seconds, ISO 8601 (PT1H) or HH:MM:SS", v.n.Value)
}

func (c *converter) workPool(d *v1alpha1.Deployment, v node, ctx *stepContext) {
	name, _ := get(v, "name").str()
	if name == "" {
		return
	}
	pool := c.pool(c.dnsLabel(get(v, "name"), "work pool name", name))
	d.Pool = pool.Name
	if q, _ := get(v, "work_queue_name").str(); q != "" {
		d.Queue = c.dnsLabel(get(v, "work_queue_name"), "work queue name", q)
		if pool.Queue(d.Queue) == nil {
			pool.Queues = append(pool.Queues, v1alpha1.Queue{Name: d.Queue})
		}
	}
	vars := get(v, "job_variables")
	declared := map[string]bool{}
	for _, n := range c.o.Template.VariableNames() {
		declared[n] = true
	}
	for _, kv := range vars.pairs() {
		val, ok := ctx.resolve(c, kv.val)
		if !ok {
			continue
		}
		if kv.key == "image" {
			if s, isStr := val.(string); isStr {
				d.Image = s
				continue
			}
		}
		root, _, _ := strings.Cut(kv.key, ".")
		if !declared[root] {
			c.warn(kv.val, "job variable %s is not declared by the pool's base job template (Prefect ignores it); dropped%s", kv.key, known(c.o.Template.VariableNames()))
			continue
		}
		if err := c.o.Template.ValidatePartial(map[string]any{kv.key: val}); err != nil {
			c.warn(kv.val, "job variable %s: %v; dropped", kv.key, err)
			continue
		}
		if d.JobVariables == nil {
			d.JobVariables = map[string]any{}
		}
		d.JobVariables[kv.key] = val
	}
}

func known(names []string) string {
	if len(names) == 0 {
		return ""
	}
	s := append([]string(nil), names...)
	sort.Strings(s)
	return " (it declares: " + strings.Join(s, ", ") + ")"
}

func (c *converter) pool(name string) *v1alpha1.Pool {
	for _, p := range c.pools {
		if p.Name == name {
			return p
		}
	}
	p := &v1alpha1.Pool{Name: name}
	if c.o.BaseJobTemplate != "" {
		p.BaseJobTemplate = []byte(fmt.Sprintf("%q", c.o.BaseJobTemplate))
	}
	c.pools = append(c.pools, p)
	return p
}

// applyLimits lays the given pool and queue settings over the pools the
// deployments use; a pool given only there is added.
func (c *converter) applyLimits() {
	for _, given := range c.o.Pools {
		p := c.pool(given.Name)
		p.ConcurrencyLimit, p.Paused = given.ConcurrencyLimit, given.Paused
		for _, gq := range given.Queues {
			q := p.Queue(gq.Name)
			if q == nil {
				p.Queues = append(p.Queues, v1alpha1.Queue{Name: gq.Name})
				q = &p.Queues[len(p.Queues)-1]
			}
			q.Priority, q.ConcurrencyLimit, q.Paused = gq.Priority, gq.ConcurrencyLimit, gq.Paused
		}
	}
	for _, p := range c.pools {
		sort.SliceStable(p.Queues, func(i, j int) bool { return p.Queues[i].Name < p.Queues[j].Name })
	}
}

func (c *converter) parameterSchema(d *v1alpha1.Deployment, dn node) {
	sv, ok := dn.get("parameter_openapi_schema")
	if !ok || sv.isNull() {
		return
	}
	if e, ok := get(dn, "enforce_parameter_schema").scalar().(bool); ok && !e {
		c.warn(sv, "parameter_openapi_schema: enforce_parameter_schema is false; schema not imported")
		return
	}
	var schema map[string]any
	if err := sv.n.Decode(&schema); err != nil {
		c.warn(sv, "parameter_openapi_schema: %v; not imported", err)
		return
	}
	schema = jsonCompatible(schema).(map[string]any)
	if err := project.ValidateParameters(schema, d.Parameters); err != nil {
		c.warn(sv, "parameter_openapi_schema does not accept the deployment's parameters (%v); not imported", err)
		return
	}
	d.ParameterSchema = schema
}

// jsonCompatible turns what yaml.v3 decodes into JSON's types.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonCompatible(e)
		}
	case []any:
		for i, e := range t {
			t[i] = jsonCompatible(e)
		}
	case time.Time:
		return t.Format(time.RFC3339Nano)
	}
	return v
}
