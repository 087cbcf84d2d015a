// Package review says what a change to a kubectl-flows project does to
// flow runs, for a pull request: it compares the objects of two renders
// (or two rendered directories, or the builds of a kustomize overlay at
// two commits) and lists the changes by risk, security first. Both sides
// come from the project's own loader and renderer, or from kustomize, so
// review reads exactly what would be applied.
package review

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/internal/yamlcodec"
)

// Group is what kind of risk a change carries; groups are listed in the
// order of Groups.
type Group string

// The groups, by risk.
const (
	Security    Group = "security"
	Capacity    Group = "capacity"
	Deployments Group = "deployments"
	Schedules   Group = "schedules"
	Admission   Group = "admission"
	Other       Group = "other"
)

// Groups is the order of the report.
var Groups = []Group{Security, Capacity, Deployments, Schedules, Admission, Other}

// Title is a group's heading.
func (g Group) Title() string {
	switch g {
	case Security:
		return "Security"
	case Capacity:
		return "Capacity"
	case Deployments:
		return "Deployments, images, parameters, job variables"
	case Schedules:
		return "Schedules"
	case Admission:
		return "Waiting runs that cannot be admitted"
	}
	return "Other"
}

// Change is one thing a reviewer should know.
type Change struct {
	Group Group `json:"group"`
	// Error marks a change that breaks something (a parameter default the
	// new schema rejects): review exits 2.
	Error bool `json:"error,omitempty"`
	// Object is what changed: "deployment hello/default", "pool batch",
	// "Role flows/flows-submitter".
	Object string `json:"object"`
	// Field is the path within it, where one applies.
	Field  string `json:"field,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Note says what it means, in a line.
	Note string `json:"note,omitempty"`
	// Details are further lines: the next fire times of a schedule.
	Details []string `json:"details,omitempty"`
}

// Hunk is the unified diff of one object's YAML.
type Hunk struct {
	Object string `json:"object"`
	Diff   string `json:"diff"`
}

// Report is the review of one target: a project's render or an overlay.
type Report struct {
	Target  string   `json:"target"`
	Changes []Change `json:"changes"`
	Hunks   []Hunk   `json:"hunks"`
}

// Errors counts the changes marked Error.
func (r *Report) Errors() int {
	n := 0
	for _, c := range r.Changes {
		if c.Error {
			n++
		}
	}
	return n
}

// Options steer a comparison.
type Options struct {
	// Now is when the next fire times of schedules are counted from.
	Now time.Time
}

// Compare reviews the change from before to after.
func Compare(target string, before, after Objects, opts Options) *Report {
	c := &comparer{opts: opts, r: &Report{Target: target, Changes: []Change{}, Hunks: []Hunk{}}}
	c.config(before, after)
	refused, why := unsigned(after)
	for _, k := range refused {
		c.add(Change{Group: Admission, Error: true, Object: k, Note: why[k]})
	}
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		a, b := before[k], after[k]
		if a != nil && b != nil && reflect.DeepEqual(a.Object, b.Object) {
			continue // most objects of a change; their YAML would be equal
		}
		ya, yb := yamlOf(a), yamlOf(b)
		if ya == yb {
			continue
		}
		from, to := "a/"+k, "b/"+k
		if a == nil {
			from = "/dev/null"
		}
		if b == nil {
			to = "/dev/null"
		}
		c.r.Hunks = append(c.r.Hunks, Hunk{Object: k, Diff: udiff.Unified(from, to, ya, yb)})
		if !isConfig(a) && !isConfig(b) {
			c.object(k, a, b)
		}
	}
	sort.SliceStable(c.r.Changes, func(i, j int) bool {
		return groupRank(c.r.Changes[i].Group) < groupRank(c.r.Changes[j].Group)
	})
	return c.r
}

func groupRank(g Group) int {
	for i, h := range Groups {
		if g == h {
			return i
		}
	}
	return len(Groups)
}

type comparer struct {
	opts     Options
	r        *Report
	previews []preview
}

func (c *comparer) add(ch Change) { c.r.Changes = append(c.r.Changes, ch) }

func yamlOf(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	b, err := yamlcodec.Marshal(u.Object)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// isConfig reports a ConfigMap that carries project config (a pool, a
// deployment, the tag limits); those are read for their meaning.
func isConfig(u *unstructured.Unstructured) bool {
	return u != nil && u.GetKind() == "ConfigMap" && u.GetAPIVersion() == "v1" && u.GetLabels()[v1alpha1.LabelConfig] != ""
}

// securityPath matches the fields of a pod spec, or the job variables
// that fill them, that change what a run's pod may do or who it acts as.
var securityPath = regexp.MustCompile(`(?i)(securityContext|privileged|allowPrivilegeEscalation|capabilities|runAsUser|runAsGroup|runAsNonRoot|seccomp|appArmor|seLinux|procMount|hostNetwork|hostPID|hostIPC|hostUsers|hostPath|hostPort|serviceAccount|service_account|automountServiceAccountToken|sysctls|imagePullSecrets|image_pull_secrets)`)

// overridePath matches settings that say what a run request may override
// (run-override allow-lists): a run request is untrusted input, so
// widening them is a security change whatever the field is called.
var overridePath = regexp.MustCompile(`(?i)(override|allow)`)

// object reviews a non-config object by its kind.
func (c *comparer) object(key string, a, b *unstructured.Unstructured) {
	u := b
	if u == nil {
		u = a
	}
	kind, group := u.GetKind(), u.GroupVersionKind().Group
	switch {
	case group == "rbac.authorization.k8s.io":
		c.rbac(key, a, b)
		return
	case kind == "ServiceAccount" && group == "":
		if a == nil || b == nil {
			c.add(Change{Group: Security, Object: key, Note: addedRemoved(a, b)})
			return
		}
	}
	if a == nil || b == nil {
		c.add(Change{Group: Other, Object: key, Note: addedRemoved(a, b)})
		if a == nil {
			c.podTemplate(key, nil, b)
		}
		return
	}
	leaves := diffLeaves(a.Object, b.Object)
	for _, l := range leaves {
		switch {
		case kind == "Namespace" && strings.HasPrefix(l.path, "metadata.labels.pod-security.kubernetes.io/"):
			c.add(Change{Group: Security, Object: key, Field: "label " + strings.TrimPrefix(l.path, "metadata.labels."), Before: l.before, After: l.after,
				Note: "the pod security admission level of the namespace, which every run's pod must meet"})
		case strings.HasPrefix(l.path, "spec.template.spec."):
			// below
		case l.path == "spec.replicas":
			c.add(Change{Group: Capacity, Object: key, Field: "replicas", Before: l.before, After: l.after})
		case kind == "GitRepository" && (strings.HasPrefix(l.path, "spec.url") || strings.HasPrefix(l.path, "spec.secretRef") || strings.HasPrefix(l.path, "spec.ref")):
			c.add(Change{Group: Security, Object: key, Field: l.path, Before: l.before, After: l.after, Note: "where the cluster takes its manifests from"})
		default:
			c.add(Change{Group: Other, Object: key, Field: l.path, Before: l.before, After: l.after})
		}
	}
	c.podTemplate(key, a, b)
}

// podTemplate reviews the pod template of a workload (the reconciler's
// Deployment): its security fields and its images.
func (c *comparer) podTemplate(key string, a, b *unstructured.Unstructured) {
	var pa, pb any
	if a != nil {
		pa, _, _ = unstructured.NestedFieldNoCopy(a.Object, "spec", "template", "spec")
	}
	if b != nil {
		pb, _, _ = unstructured.NestedFieldNoCopy(b.Object, "spec", "template", "spec")
	}
	if pb == nil && pa == nil {
		return
	}
	c.podSpec(key, "spec.template.spec.", pa, pb, Other)
}

// podSpec reviews two pod specs: security fields to Security, images by
// what moved (registry or repository to Security, tag to Deployments),
// the rest to rest.
func (c *comparer) podSpec(object, prefix string, a, b any, rest Group) {
	for _, l := range diffLeaves(a, b) {
		field := prefix + l.path
		switch {
		case strings.HasSuffix(l.path, ".image") && strings.Contains(l.path, "ontainers["):
			c.image(object, field, l.before, l.after)
		case securityPath.MatchString(l.path):
			c.add(Change{Group: Security, Object: object, Field: field, Before: l.before, After: l.after})
		case rest != "":
			c.add(Change{Group: rest, Object: object, Field: field, Before: l.before, After: l.after})
		}
	}
}

// image classifies an image change: another registry or repository is a
// security change (other code, other supply chain); a new tag is the
// everyday change of a release.
func (c *comparer) image(object, field, before, after string) {
	ra, rb := imageRepo(before), imageRepo(after)
	switch {
	case before == "" || after == "" || ra != rb:
		note := "image source changes: review the registry and repository"
		if regA, regB := registry(ra), registry(rb); before != "" && after != "" && regA != regB {
			note = fmt.Sprintf("image registry changes from %s to %s", regA, regB)
		}
		c.add(Change{Group: Security, Object: object, Field: field, Before: before, After: after, Note: note})
	default:
		c.add(Change{Group: Deployments, Object: object, Field: field, Before: before, After: after, Note: "image tag"})
	}
}

// imageRepo is an image reference without its tag or digest.
func imageRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// registry is the host an image is pulled from (docker.io when the
// reference names none).
func registry(repo string) string {
	first, _, found := strings.Cut(repo, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

func addedRemoved(a, b *unstructured.Unstructured) string {
	if a == nil {
		return "added"
	}
	if b == nil {
		return "removed"
	}
	return "changed"
}

// rbac reviews Roles, ClusterRoles and their bindings by their meaning:
// the rules granted or taken away, the subjects bound, the role bound to.
func (c *comparer) rbac(key string, a, b *unstructured.Unstructured) {
	if a == nil || b == nil {
		u := a
		if u == nil {
			u = b
		}
		ch := Change{Group: Security, Object: key, Note: addedRemoved(a, b)}
		ch.Details = append(rules(u), subjects(u)...)
		if ref := roleRef(u); ref != "" {
			ch.Details = append(ch.Details, "binds "+ref)
		}
		c.add(ch)
		return
	}
	c.listDiff(key, "rules", rules(a), rules(b), "permission granted", "permission taken away")
	c.listDiff(key, "subjects", subjects(a), subjects(b), "subject bound", "subject unbound")
	if x, y := roleRef(a), roleRef(b); x != y {
		c.add(Change{Group: Security, Object: key, Field: "roleRef", Before: x, After: y})
	}
	for _, l := range diffLeaves(a.Object, b.Object) {
		if h := head(l.path); h != "rules" && h != "subjects" && h != "roleRef" {
			c.add(Change{Group: Security, Object: key, Field: l.path, Before: l.before, After: l.after})
		}
	}
}

// listDiff reports the lines in after and not before, then the reverse.
func (c *comparer) listDiff(key, field string, before, after []string, added, removed string) {
	was, is := set(before), set(after)
	for _, v := range after {
		if !was[v] {
			c.add(Change{Group: Security, Object: key, Field: field, After: v, Note: added})
		}
	}
	for _, v := range before {
		if !is[v] {
			c.add(Change{Group: Security, Object: key, Field: field, Before: v, Note: removed})
		}
	}
}

func set(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// rules reads a role's rules as lines: "create, delete jobs (batch)".
func rules(u *unstructured.Unstructured) []string {
	list, _, _ := unstructured.NestedSlice(u.Object, "rules")
	var out []string
	for _, r := range list {
		m, _ := r.(map[string]any)
		str := func(k string) string {
			vs, _, _ := unstructured.NestedStringSlice(m, k)
			return strings.Join(vs, ", ")
		}
		groups := str("apiGroups")
		if groups == "" {
			groups = `""`
		}
		line := fmt.Sprintf("%s on %s (apiGroups %s)", str("verbs"), str("resources"), groups)
		if n := str("resourceNames"); n != "" {
			line += " named " + n
		}
		if n := str("nonResourceURLs"); n != "" {
			line = fmt.Sprintf("%s on %s", str("verbs"), n)
		}
		out = append(out, line)
	}
	return out
}

func subjects(u *unstructured.Unstructured) []string {
	list, _, _ := unstructured.NestedSlice(u.Object, "subjects")
	var out []string
	for _, s := range list {
		m, _ := s.(map[string]any)
		name := fmt.Sprint(m["name"])
		if ns, ok := m["namespace"].(string); ok && ns != "" {
			name = ns + "/" + name
		}
		out = append(out, fmt.Sprintf("%s %s", m["kind"], name))
	}
	return out
}

func roleRef(u *unstructured.Unstructured) string {
	m, ok, _ := unstructured.NestedMap(u.Object, "roleRef")
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s %s", m["kind"], m["name"])
}
