package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/parallel"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// configSide is one side's project config, read back from the rendered
// ConfigMaps with the reader the CLI uses for an installed project, plus
// each ConfigMap's data as plain values for a field-by-field diff that
// keeps working when the project format grows.
type configSide struct {
	in *project.Installed
	// raw data, by pool name: the spec and the template. A deployment's
	// are parsed when it has changed (spec, preview): a change to one of a
	// thousand deployments reads one.
	poolSpec, poolTemplate map[string]any
	// objs are the objects read, and decoded what each config ConfigMap
	// decoded to, by object key, for the other side to take where its
	// ConfigMap is the same.
	objs    Objects
	decoded map[string]any
}

// readConfig reads one side's config. base is the other side, already
// read, or nil: a ConfigMap equal to base's of the same key is taken as
// base decoded it rather than decoded again (DecodeConfigMap is pure).
func readConfig(objs Objects, base *configSide) (*configSide, error) {
	var cms []corev1.ConfigMap
	var keys []string
	for _, k := range objs.Keys() {
		u := objs[k]
		if !isConfig(u) {
			continue
		}
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		cms = append(cms, cm)
		keys = append(keys, k)
	}
	s := &configSide{poolSpec: map[string]any{}, poolTemplate: map[string]any{}, objs: objs, decoded: map[string]any{}}
	ptrs := make([]*corev1.ConfigMap, len(cms))
	keyOf := make(map[*corev1.ConfigMap]string, len(cms))
	for i := range cms {
		ptrs[i] = &cms[i]
		keyOf[ptrs[i]] = keys[i]
	}
	schemas := &project.SchemaCache{}
	decoded := decodeAll(ptrs, func(cm *corev1.ConfigMap) (any, error) {
		k := keyOf[cm]
		if v := base.same(k, objs[k], cm); v != nil {
			return v, nil
		}
		return project.DecodeConfigMapWith(cm, schemas)
	})
	s.in = project.ReadConfigWith(ptrs, func(cm *corev1.ConfigMap) (any, error) {
		r := decoded[cm]
		s.decoded[keyOf[cm]] = r.v
		return r.v, r.err
	})
	if len(s.in.Errors) > 0 {
		var msgs []string
		for _, err := range s.in.Errors {
			msgs = append(msgs, err.Error())
		}
		sort.Strings(msgs)
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	for name, p := range s.in.Pools {
		s.poolSpec[name] = parse(p.ConfigMap.Data[v1alpha1.KeyPool])
		s.poolTemplate[name] = parse(p.ConfigMap.Data[v1alpha1.KeyJobTemplate])
	}
	return s, nil
}

type decodedConfigMap struct {
	v   any
	err error
}

// decodeAll decodes ConfigMaps on every core: a side holds a ConfigMap
// per deployment, and decoding one (its spec parsed strictly, its schema
// compiled) is most of reading it.
func decodeAll(cms []*corev1.ConfigMap, decode func(*corev1.ConfigMap) (any, error)) map[*corev1.ConfigMap]decodedConfigMap {
	results := make([]decodedConfigMap, len(cms))
	parallel.Each(len(cms), func(i int) {
		results[i].v, results[i].err = decode(cms[i])
	})
	out := make(map[*corev1.ConfigMap]decodedConfigMap, len(cms))
	for i, cm := range cms {
		out[cm] = results[i]
	}
	return out
}

// same returns what the side decoded the object at key to, as the other
// side's ConfigMap cm, if the side holds an equal object there; nil
// otherwise. The value is shared but for its ConfigMap: both sides only
// read it.
func (s *configSide) same(key string, u *unstructured.Unstructured, cm *corev1.ConfigMap) any {
	if s == nil {
		return nil
	}
	v, ok := s.decoded[key]
	if !ok || v == nil || !reflect.DeepEqual(s.objs[key].Object, u.Object) {
		return nil
	}
	switch v := v.(type) {
	case *project.InstalledPool:
		c := *v
		c.ConfigMap = cm
		return &c
	case *project.InstalledDeployment:
		c := *v
		c.ConfigMap = cm
		return &c
	}
	return v
}

// spec and preview parse a deployment's data.
func (s *configSide) spec(name string) any {
	return parse(s.in.Deployments[name].ConfigMap.Data[v1alpha1.KeyDeployment])
}

func (s *configSide) preview(name string) any {
	return parse(s.in.Deployments[name].ConfigMap.Data[v1alpha1.KeyJobPreview])
}

// parse reads YAML or JSON config data; what does not parse is compared
// as text.
func parse(data string) any {
	var v any
	if err := yaml.Unmarshal([]byte(data), &v); err != nil {
		return data
	}
	return v
}

// config reviews the project config: pools and queues, tag limits,
// deployments, their schedules, and what waiting runs can no longer get.
func (c *comparer) config(before, after Objects) {
	a, err := readConfig(before, nil)
	if err != nil {
		c.add(Change{Group: Other, Error: true, Object: "base", Note: err.Error()})
		return
	}
	b, err := readConfig(after, a)
	if err != nil {
		c.add(Change{Group: Other, Error: true, Object: "change", Note: err.Error()})
		return
	}
	c.pools(a, b)
	c.tagLimits(a.in.TagLimits, b.in.TagLimits)
	c.tagRates(a.in.TagRates, b.in.TagRates)
	c.deployments(a, b)
}

func (c *comparer) pools(a, b *configSide) {
	for _, name := range union(a.in.PoolNames(), b.in.PoolNames()) {
		obj := "pool " + name
		pa, pb := a.in.Pools[name], b.in.Pools[name]
		switch {
		case pa == nil:
			c.add(Change{Group: Capacity, Object: obj, Note: fmt.Sprintf("added: concurrency limit %s, queues %s", project.LimitString(pb.ConcurrencyLimit), queueList(&pb.Pool))})
			continue
		case pb == nil:
			c.add(Change{Group: Capacity, Object: obj, Note: "removed"})
			c.add(Change{Group: Admission, Object: obj, Note: "removed: runs already waiting for its deployments stay Scheduled until a pool of that name is installed again"})
			continue
		}
		for _, q := range pb.Queues {
			if pa.Queue(q.Name) == nil {
				c.add(Change{Group: Capacity, Object: fmt.Sprintf("pool %s, queue %s", name, q.Name), Note: fmt.Sprintf("added: priority %d, concurrency limit %s", q.Priority, project.LimitString(q.ConcurrencyLimit))})
			}
		}
		for _, q := range pa.Queues {
			if pb.Queue(q.Name) == nil {
				c.add(Change{Group: Capacity, Object: fmt.Sprintf("pool %s, queue %s", name, q.Name), Note: "removed"})
				c.add(Change{Group: Admission, Object: fmt.Sprintf("pool %s, queue %s", name, q.Name), Note: "removed: no deployment can send runs there; runs admitted to it keep their slots"})
			}
		}
		for _, l := range diffLeaves(a.poolSpec[name], b.poolSpec[name]) {
			if strings.HasPrefix(l.path, "queues[") {
				q, _, _ := strings.Cut(strings.TrimPrefix(l.path, "queues["), "]")
				if pa.Queue(q) == nil || pb.Queue(q) == nil {
					continue // added or removed, said above
				}
			}
			if head(l.path) == "retries" {
				continue // said whole, below
			}
			c.poolField(obj, &pb.Pool, l)
		}
		c.retries(obj, pa.Retries, pb.Retries)
		for _, l := range diffLeaves(a.poolTemplate[name], b.poolTemplate[name]) {
			switch {
			case strings.HasPrefix(l.path, "variables."):
				c.add(Change{Group: Deployments, Object: obj, Field: "baseJobTemplate." + l.path, Before: l.before, After: l.after,
					Note: "job variable schema: waiting runs whose job variables fail it are Rejected (InvalidJobVariables) when admitted"})
			case securityPath.MatchString(l.path):
				c.add(Change{Group: Security, Object: obj, Field: "baseJobTemplate." + l.path, Before: l.before, After: l.after})
			default:
				c.add(Change{Group: Deployments, Object: obj, Field: "baseJobTemplate." + l.path, Before: l.before, After: l.after})
			}
		}
	}
}

func (c *comparer) poolField(obj string, pool *v1alpha1.Pool, l leaf) {
	ch := Change{Object: obj, Field: l.path, Before: l.before, After: l.after}
	switch h := head(l.path); {
	case trustField(&ch, l.path):
	case h == "jobVariables":
		ch.Group, ch.Note = Deployments, "pool job variable; the Job previews show the result"
	case h == "timeout":
		ch.Group, ch.Note = Capacity, runPolicyNote(h)
	case h == "concurrencyLimit" || h == "paused" || h == "queues":
		ch.Group = Capacity
		if strings.HasPrefix(l.path, "queues[") {
			q, f, _ := strings.Cut(strings.TrimPrefix(l.path, "queues["), "]")
			ch.Object, ch.Field = fmt.Sprintf("pool %s, queue %s", pool.Name, q), strings.TrimPrefix(f, ".")
		}
		c.capacityNote(&ch, l)
	default:
		ch.Group = Other
	}
	c.add(ch)
}

// trustField puts a pool's or deployment's setting in Security when it
// says what run requests may override, or is a job variable that fills a
// security field of the pod, and reports whether it did.
func trustField(ch *Change, path string) bool {
	switch {
	case overridePath.MatchString(path):
		ch.Group, ch.Note = Security, "what a run request may override: run requests are untrusted input"
	case head(path) == "jobVariables" && securityPath.MatchString(path):
		ch.Group = Security
	default:
		return false
	}
	return true
}

// capacityNote explains limits and pauses, and flags a limit of 0: it
// admits nothing, so waiting runs wait until it is raised.
func (c *comparer) capacityNote(ch *Change, l leaf) {
	switch {
	case strings.HasSuffix(l.path, "concurrencyLimit") || l.path == "limit":
		if l.after == "" {
			ch.After, ch.Note = "unlimited", "limit removed"
		}
		if l.before == "" {
			ch.Before = "unlimited"
		}
		if l.after == "0" {
			c.add(Change{Group: Admission, Object: ch.Object, Note: "concurrency limit 0 admits no run: runs that need it wait until it is raised"})
		}
	case strings.HasSuffix(l.path, "paused"):
		if l.after == "true" {
			ch.Note = "paused: its runs wait until it is resumed"
		} else {
			ch.Note = "resumed"
		}
		if ch.Before == "" {
			ch.Before = "false"
		}
		if ch.After == "" {
			ch.After = "false"
		}
	}
}

// retries reviews a retry policy as a whole: its fields mean something
// only together.
func (c *comparer) retries(obj string, a, b *v1alpha1.RetryPolicy) {
	if before, after := a.String(), b.String(); before != after {
		c.add(Change{Group: Capacity, Object: obj, Field: "retries", Before: before, After: after, Note: runPolicyNote("retries")})
	}
}

// runPolicyNote says what a change of a retry policy or a timeout does.
func runPolicyNote(field string) string {
	if field == "timeout" {
		return "run timeout, counted from the pod's start: runs past it end Failed (TimedOut), their Job deleted; for attempts admitted from now on"
	}
	return "retry policy: each attempt is a Job of its own and takes its slots again; for attempts admitted from now on"
}

func queueList(p *v1alpha1.Pool) string {
	var qs []string
	for _, q := range p.Queues {
		qs = append(qs, fmt.Sprintf("%s (priority %d, limit %s)", q.Name, q.Priority, project.LimitString(q.ConcurrencyLimit)))
	}
	return strings.Join(qs, ", ")
}

func (c *comparer) tagLimits(a, b map[string]int32) {
	for _, t := range union(slices.Collect(maps.Keys(a)), slices.Collect(maps.Keys(b))) {
		va, oka := a[t]
		vb, okb := b[t]
		if oka && okb && va == vb {
			continue
		}
		l := leaf{path: "limit"}
		if oka {
			l.before = fmt.Sprint(va)
		}
		if okb {
			l.after = fmt.Sprint(vb)
		}
		ch := Change{Group: Capacity, Object: "tag " + t, Field: "limit", Before: l.before, After: l.after}
		c.capacityNote(&ch, l)
		c.add(ch)
	}
}

// tagRates reviews the start rates of tag limits: how often runs carrying
// the tag may start, and how many at once.
func (c *comparer) tagRates(a, b map[string]v1alpha1.TagLimit) {
	text := func(m map[string]v1alpha1.TagLimit, tag string) string {
		l, ok := m[tag]
		if !ok {
			return "none"
		}
		return fmt.Sprintf("%s, burst %d", l.Rate, l.BurstOf())
	}
	for _, t := range union(slices.Collect(maps.Keys(a)), slices.Collect(maps.Keys(b))) {
		before, after := text(a, t), text(b, t)
		if before == after {
			continue
		}
		note := "starts of runs carrying the tag, on top of its limit; waiting runs start no faster than this"
		if after == "none" {
			note = "rate removed: runs carrying the tag start as slots allow"
		}
		c.add(Change{Group: Capacity, Object: "tag " + t, Field: "rate", Before: before, After: after, Note: note})
	}
}

func (c *comparer) deployments(a, b *configSide) {
	before, after := a.in.DeploymentNames(), b.in.DeploymentNames()
	var removed, added []string
	for _, n := range before {
		if b.in.Deployments[n] == nil {
			removed = append(removed, n)
		}
	}
	for _, n := range after {
		if a.in.Deployments[n] == nil {
			added = append(added, n)
		}
	}
	// A deployment removed and one added with the same flow and entrypoint
	// is read as a rename: reviewed field by field under its new name.
	renamed := map[string]string{}
	for _, r := range removed {
		for _, n := range added {
			da, dn := a.in.Deployments[r], b.in.Deployments[n]
			if _, taken := renamed[n]; !taken && da.Flow == dn.Flow && da.Entrypoint == dn.Entrypoint {
				renamed[n] = r
				break
			}
		}
	}
	wasRenamed := map[string]bool{}
	for _, r := range renamed {
		wasRenamed[r] = true
	}
	for _, n := range removed {
		if wasRenamed[n] {
			continue
		}
		c.add(Change{Group: Deployments, Object: "deployment " + n, Note: "removed"})
		c.add(Change{Group: Admission, Object: "deployment " + n, Note: "removed: its waiting runs are Rejected (DeploymentNotFound); list them with `kubectl flows get runs --deployment " + n + "`"})
		for i, s := range a.in.Deployments[n].Schedules {
			c.add(Change{Group: Schedules, Object: "deployment " + n, Field: fmt.Sprintf("schedules[%d]", i), Before: describeSchedule(s), Note: "removed with the deployment"})
		}
	}
	for _, n := range added {
		d := b.in.Deployments[n]
		if old, ok := renamed[n]; ok {
			c.add(Change{Group: Deployments, Object: "deployment " + n, Note: "renamed from " + old})
			c.add(Change{Group: Admission, Object: "deployment " + old, Note: "renamed to " + n + ": runs waiting for " + old + " are Rejected (DeploymentNotFound); list them with `kubectl flows get runs --deployment " + old + "`"})
			c.deployment(n, a, b, old)
			continue
		}
		c.add(Change{Group: Deployments, Object: "deployment " + n, Note: fmt.Sprintf("added: pool %s, queue %s, image %s", d.Pool, d.Queue, previewImage(b.preview(n)))})
		c.schedules(n, nil, d.Schedules)
		c.checkDefaults(n, d)
	}
	for _, n := range after {
		if a.in.Deployments[n] != nil {
			c.deployment(n, a, b, n)
		}
	}
	c.flushPreviews()
}

// deployment reviews one deployment (old at a, name at b) field by field,
// then its Job preview: the Job a run with the defaults gets, where pool
// and deployment job variables and the template come together.
func (c *comparer) deployment(name string, a, b *configSide, old string) {
	da, db := a.in.Deployments[old], b.in.Deployments[name]
	if maps.Equal(da.ConfigMap.Data, db.ConfigMap.Data) {
		c.checkDefaults(name, db) // no field differs
		return
	}
	sa, sb, pa, pb := a.spec(old), b.spec(name), a.preview(old), b.preview(name)
	obj := "deployment " + name
	schemaChanged, schedulesChanged := false, false
	for _, l := range diffLeaves(sa, sb) {
		ch := Change{Object: obj, Field: l.path, Before: l.before, After: l.after}
		switch h := head(l.path); {
		case h == "name" || h == "flow":
			continue // a rename, said above
		case h == "image" || l.path == "jobVariables.image":
			// The Job preview's image says it, resolved; an overlay that
			// patches the spec alone leaves the preview as it was.
			if previewImage(pa) == previewImage(pb) {
				c.image(obj, l.path, l.before, l.after)
			}
			continue
		case h == "schedules":
			schedulesChanged = true
			continue
		case h == "starts":
			ch.Group, ch.Note = Security, "deployments its runs may start: its pods run as a ServiceAccount that may create runs (starters.yaml)"
		case trustField(&ch, l.path):
		case h == "jobVariables":
			ch.Group, ch.Note = Deployments, "job variable"
		case h == "parameters":
			ch.Group, ch.Note = Deployments, "parameter default"
		case h == "parameterSchema":
			ch.Group, ch.Note = Deployments, "parameter schema"
			schemaChanged = true
		case h == "retries":
			continue // said whole, below
		case h == "timeout":
			ch.Group, ch.Note = Capacity, runPolicyNote(h)
		case h == "concurrencyLimit" || h == "collisionStrategy" || h == "paused" || h == "pool" || h == "queue" || h == "tags":
			ch.Group = Capacity
			c.capacityNote(&ch, l)
		default:
			ch.Group = Deployments
		}
		c.add(ch)
	}
	c.retries(obj, da.Retries, db.Retries)
	if schemaChanged {
		c.add(Change{Group: Admission, Object: obj, Note: "parameter schema changed: waiting runs whose parameters fail it are Rejected (InvalidParameters) when admitted"})
	}
	if schedulesChanged {
		c.schedules(name, da.Schedules, db.Schedules)
	}
	c.checkDefaults(name, db)
	for _, l := range diffLeaves(pa, pb) {
		if previewNoise.MatchString(l.path) {
			continue // parameters, names and labels: said above
		}
		field := "Job preview: " + l.path
		switch {
		case strings.HasSuffix(l.path, ".image") && strings.Contains(l.path, "ontainers["):
			c.image(obj, field, l.before, l.after)
		case securityPath.MatchString(l.path):
			c.add(Change{Group: Security, Object: obj, Field: field, Before: l.before, After: l.after})
		default:
			c.previews = append(c.previews, preview{name, Change{Group: Deployments, Field: field, Before: l.before, After: l.after}})
		}
	}
}

// previewNoise matches the parts of a Job preview that follow from what
// the review says elsewhere: the parameters, the deployment's and the
// preview run's names.
var previewNoise = regexp.MustCompile(`env\[FLOWS_(PARAMETERS|DEPLOYMENT|RUN_NAME|FLOW)\]|labels\.kubectl-flows\.dev/|^metadata\.name$`)

// preview is one change of a deployment's Job preview.
type preview struct {
	deployment string
	change     Change
}

// flushPreviews reports the Job preview changes, one line for every
// deployment that shares a change (a pool job variable moves them all).
func (c *comparer) flushPreviews() {
	type key struct{ field, before, after string }
	var order []key
	names := map[key][]string{}
	for _, p := range c.previews {
		k := key{p.change.Field, p.change.Before, p.change.After}
		if _, ok := names[k]; !ok {
			order = append(order, k)
		}
		names[k] = append(names[k], p.deployment)
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].field < order[j].field })
	for _, k := range order {
		obj := "deployment " + names[k][0]
		if len(names[k]) > 1 {
			sort.Strings(names[k])
			obj = "deployments " + strings.Join(names[k], ", ")
		}
		c.add(Change{Group: Deployments, Object: obj, Field: k.field, Before: k.before, After: k.after})
	}
	c.previews = nil
}

// checkDefaults: a default that the schema rejects fails every run that
// relies on it; render refuses such a project, a hand-edited or overlaid
// render may still carry one.
func (c *comparer) checkDefaults(name string, d *project.InstalledDeployment) {
	if d.Params == nil {
		return
	}
	schema := d.Params
	if err := schema.Validate(d.Parameters); err != nil {
		c.add(Change{Group: Deployments, Error: true, Object: "deployment " + name, Field: "parameters", Note: "the defaults fail the parameter schema, so every run without its own values is Rejected: " + err.Error()})
	}
	for j, s := range d.Schedules {
		if len(s.Parameters) == 0 {
			continue
		}
		if err := schema.Validate(project.ScheduleParameters(&d.Deployment, j)); err != nil {
			c.add(Change{Group: Schedules, Error: true, Object: "deployment " + name, Field: fmt.Sprintf("schedules[%d].parameters", j), Note: "merged over the deployment's, they fail the parameter schema, so every run the schedule fires is Rejected: " + err.Error()})
		}
	}
}

func previewImage(preview any) string {
	m := map[string]string{}
	flatten(preview, "", m)
	var imgs []string
	for p, v := range m {
		if strings.HasSuffix(p, ".image") && strings.Contains(p, "ontainers[") {
			imgs = append(imgs, v)
		}
	}
	sort.Strings(imgs)
	if len(imgs) == 0 {
		return "(none)"
	}
	return strings.Join(imgs, ", ")
}

// schedules lists schedules added, changed and removed, by position, each
// with its next three fire times in its own time zone.
func (c *comparer) schedules(name string, before, after []v1alpha1.Schedule) {
	obj := "deployment " + name
	for i := 0; i < len(before) || i < len(after); i++ {
		fld := fmt.Sprintf("schedules[%d]", i)
		switch {
		case i >= len(before):
			c.add(Change{Group: Schedules, Object: obj, Field: fld, After: describeSchedule(after[i]), Note: "added", Details: c.nextFires(after[i])})
		case i >= len(after):
			c.add(Change{Group: Schedules, Object: obj, Field: fld, Before: describeSchedule(before[i]), Note: "removed"})
		default:
			ja, _ := json.Marshal(before[i])
			jb, _ := json.Marshal(after[i])
			if string(ja) != string(jb) {
				c.add(Change{Group: Schedules, Object: obj, Field: fld, Before: describeSchedule(before[i]), After: describeSchedule(after[i]), Note: "changed", Details: c.nextFires(after[i])})
			}
		}
	}
}

func describeSchedule(s v1alpha1.Schedule) string {
	var b strings.Builder
	if s.Interval != nil {
		fmt.Fprintf(&b, "every %s", s.Interval.Duration)
	} else {
		fmt.Fprintf(&b, "cron %q", s.Cron)
	}
	tz := s.Timezone
	if tz == "" {
		tz = "UTC"
	}
	fmt.Fprintf(&b, " in %s", tz)
	if !s.IsActive() {
		b.WriteString(", inactive")
	}
	if s.CatchUp != "" {
		fmt.Fprintf(&b, ", catchup %s", s.CatchUp)
	}
	if s.MaxCatchup != nil {
		fmt.Fprintf(&b, " (max %d)", *s.MaxCatchup)
	}
	if len(s.Parameters) > 0 {
		p, _ := json.Marshal(s.Parameters)
		fmt.Fprintf(&b, ", parameters %s", p)
	}
	return b.String()
}

// nextFires gives a schedule's next three fire times after Now, computed
// by the reconciler's own schedule code, in the schedule's time zone.
func (c *comparer) nextFires(s v1alpha1.Schedule) []string {
	if !s.IsActive() {
		return []string{"inactive: fires nothing"}
	}
	fires, err := project.NextFires(s, c.opts.Now, 3)
	if err != nil {
		return []string{err.Error()}
	}
	loc, err := time.LoadLocation(s.Timezone) // "" is UTC
	if err != nil {
		return []string{"time zone: " + err.Error()}
	}
	var out []string
	for _, f := range fires {
		out = append(out, "next: "+f.In(loc).Format("Mon 2006-01-02 15:04 MST"))
	}
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
