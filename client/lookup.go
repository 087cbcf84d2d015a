package client

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// GetRun reads one run, saying clearly when there is none of that name.
func (c *Client) GetRun(ctx context.Context, name string) (*RunInfo, error) {
	cm, err := c.kube.CoreV1().ConfigMaps(c.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && cm.Labels[v1alpha1.LabelRun] != "true") {
		return nil, c.runNotFound(ctx, name)
	}
	if err != nil {
		return nil, c.Explain(err, "get", "configmaps")
	}
	return ReadRun(cm), nil
}

func (c *Client) runNotFound(ctx context.Context, name string) error {
	runs, err := c.ListRuns(ctx)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		if _, err := c.Installed(ctx); err != nil {
			return err
		}
	}
	return c.noRun(name, runs)
}

func (c *Client) noRun(name string, runs []*RunInfo) error {
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.ConfigMap.Name
	}
	e := c.notFound("run", name, names)
	e.Hint += " (list runs with `kubectl flows get runs`)"
	return e
}

// RunIn finds a run in a snapshot, saying clearly when there is none of
// that name.
func (c *Client) RunIn(s *Snapshot, name string) (*RunInfo, error) {
	if r := s.Run(name); r != nil {
		return r, nil
	}
	return nil, c.noRun(name, s.Runs)
}

// Deployment finds an installed deployment by flow/name, or by a bare name
// when one flow has it (or a flow with one deployment), suggesting close
// names when there is none.
func (c *Client) Deployment(in *project.Installed, full string) (*project.InstalledDeployment, error) {
	if d := in.Deployments[full]; d != nil {
		return d, nil
	}
	names := in.DeploymentNames()
	if _, _, ok := v1alpha1.SplitDeployment(full); !ok {
		var match []string
		for _, n := range names {
			flow, name, _ := v1alpha1.SplitDeployment(n)
			if name == full || flow == full {
				match = append(match, n)
			}
		}
		if len(match) == 1 {
			return in.Deployments[match[0]], nil
		}
		if len(match) > 1 {
			return nil, fmt.Errorf("%q is ambiguous: name the deployment as FLOW/NAME, one of %s", full, strings.Join(match, ", "))
		}
	}
	e := c.notFound("deployment", full, names)
	if e.Hint == "" && len(names) > 0 && len(names) <= 10 {
		e.Hint = "; deployments here: " + strings.Join(names, ", ")
	}
	return nil, e
}

// Pool finds an installed pool by name.
func (c *Client) Pool(in *project.Installed, name string) (*project.InstalledPool, error) {
	if p := in.Pools[name]; p != nil {
		return p, nil
	}
	return nil, c.notFound("pool", name, in.PoolNames())
}

// Queue finds a queue by POOL/QUEUE, or by a bare name when one pool has
// it, and returns its pool and name.
func (c *Client) Queue(in *project.Installed, name string) (*project.InstalledPool, string, error) {
	poolName, qName, ok := strings.Cut(name, "/")
	if !ok {
		var match []string
		for _, n := range in.QueueNames() {
			if strings.HasSuffix(n, "/"+name) {
				match = append(match, n)
			}
		}
		if len(match) != 1 {
			return nil, "", fmt.Errorf("name the queue as POOL/QUEUE (queues: %s)", strings.Join(in.QueueNames(), ", "))
		}
		poolName, qName, _ = strings.Cut(match[0], "/")
	}
	p := in.Pools[poolName]
	if p == nil || p.Queue(qName) == nil {
		return nil, "", c.notFound("queue", name, in.QueueNames())
	}
	return p, qName, nil
}

// TagLimit finds a tag's concurrency limit.
func (c *Client) TagLimit(in *project.Installed, tag string) (int32, error) {
	if l, ok := in.TagLimits[tag]; ok {
		return l, nil
	}
	return 0, c.notFound("limit", tag, TagNames(in))
}

// TagNames are the tags with a concurrency limit, sorted.
func TagNames(in *project.Installed) []string {
	tags := make([]string, 0, len(in.TagLimits))
	for t := range in.TagLimits {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags
}

// NotFound says that no kind of that name is among names, suggesting the
// closest.
func (c *Client) NotFound(kind, name string, names []string) error {
	return c.notFound(kind, name, names)
}

// RunNames lists the runs' names, newest first; with unfinished only those
// of runs not finished.
func (c *Client) RunNames(ctx context.Context, unfinished bool) ([]string, error) {
	runs, err := c.ListRuns(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := len(runs) - 1; i >= 0; i-- {
		if r := runs[i]; !unfinished || !r.State().Final() {
			names = append(names, r.ConfigMap.Name)
		}
	}
	return names, nil
}

// NamespaceNames lists the namespaces that hold a project or, when none
// do (or they cannot be listed), every namespace, sorted.
func (c *Client) NamespaceNames(ctx context.Context) []string {
	names := c.ProjectNamespaces(ctx)
	if len(names) == 0 {
		if nss, err := c.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
			for _, ns := range nss.Items {
				names = append(names, ns.Name)
			}
		}
	}
	sort.Strings(names)
	return names
}
