package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/version"
)

// Factory gives commands their cluster client and namespace, the way
// kubectl's cmdutil.Factory does, and turns API errors into messages a
// person can act on.
type Factory struct {
	Flags *genericclioptions.ConfigFlags

	// Client, when set, is used instead of one built from Flags (tests).
	Client kubernetes.Interface
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Dir is where a project file is looked for when -n is not given;
	// default: the current directory.
	Dir string

	client kubernetes.Interface
	ns     string
	nsFrom string
}

// NewFactory returns a Factory over the standard kubectl flags.
func NewFactory(flags *genericclioptions.ConfigFlags) *Factory {
	return &Factory{Flags: flags, Now: time.Now}
}

func (f *Factory) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// RESTConfig is the client config from the kubeconfig and flags.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	if raw, err := f.Flags.ToRawKubeConfigLoader().RawConfig(); err == nil && len(raw.Clusters) == 0 &&
		(f.Flags.APIServer == nil || *f.Flags.APIServer == "") && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, errors.New("no kubeconfig: set KUBECONFIG or pass --kubeconfig (and --context) to say which cluster to use")
	}
	cfg, err := f.Flags.ToRESTConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no kubeconfig: set KUBECONFIG or pass --kubeconfig (and --context) to say which cluster to use")
		}
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "kubectl-flows/" + version.String()
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	return cfg, nil
}

// KubeClient returns the cluster client.
func (f *Factory) KubeClient() (kubernetes.Interface, error) {
	if f.Client != nil {
		return f.Client, nil
	}
	if f.client != nil {
		return f.client, nil
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	f.client = c
	return c, nil
}

// clientIn is the cluster client and the project namespace.
func (f *Factory) clientIn() (kubernetes.Interface, string, error) {
	c, err := f.KubeClient()
	if err != nil {
		return nil, "", err
	}
	ns, err := f.Namespace()
	return c, ns, err
}

// Namespace resolves the project namespace: -n; else the namespace of the
// project file (flows.yaml, flows.yml or flows.jsonnet) in the current
// directory; else the kubeconfig context's namespace.
func (f *Factory) Namespace() (string, error) {
	if f.ns != "" {
		return f.ns, nil
	}
	if f.Flags.Namespace != nil && *f.Flags.Namespace != "" {
		f.ns, f.nsFrom = *f.Flags.Namespace, "--namespace"
		return f.ns, nil
	}
	dir := f.Dir
	if dir == "" {
		dir = "."
	}
	if file := project.FindProjectFile(dir); file != "" {
		if ns, err := project.FileNamespace(file, nil); err == nil && ns != "" {
			f.ns, f.nsFrom = ns, file
			return f.ns, nil
		}
	}
	if f.Client != nil {
		f.ns, f.nsFrom = "default", "default"
		return f.ns, nil
	}
	ns, _, err := f.Flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return "", errors.New("no kubeconfig: set KUBECONFIG or pass --kubeconfig (and --context) to say which cluster to use")
		}
		return "", err
	}
	f.ns, f.nsFrom = ns, "the kubeconfig context"
	return ns, nil
}

// server names the cluster for error messages.
func (f *Factory) server() string {
	if f.Client != nil {
		return "the cluster"
	}
	cfg, err := f.Flags.ToRESTConfig()
	if err != nil || cfg.Host == "" {
		return "the cluster"
	}
	s := "the Kubernetes API server at " + cfg.Host
	if raw, err := f.Flags.ToRawKubeConfigLoader().RawConfig(); err == nil {
		ctx := raw.CurrentContext
		if f.Flags.Context != nil && *f.Flags.Context != "" {
			ctx = *f.Flags.Context
		}
		if ctx != "" {
			s += fmt.Sprintf(" (context %q)", ctx)
		}
	}
	return s
}

// apiError turns an API error into a message that says what to do:
// unreachable cluster, missing permission (naming the verb and resource),
// rejected credentials. Other errors pass through.
func (f *Factory) apiError(err error, verb, resource string) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	ns := f.ns
	switch {
	case apierrors.IsForbidden(err):
		where := fmt.Sprintf(" in namespace %q", ns)
		if resource == "namespaces" || resource == "nodes" {
			where = ""
		}
		msg := err.Error()
		if st, ok := err.(apierrors.APIStatus); ok {
			msg = st.Status().Message
		}
		return &explainedError{err: err, msg: fmt.Sprintf("forbidden: you may not %s %s%s. Ask your cluster admin for a Role granting %q on %q, or check with `kubectl auth can-i %s %s -n %s`.\n(%s)",
			verb, resource, where, verb, resource, verb, resource, ns, msg)}
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s rejected the credentials (401 Unauthorized): log in again or check the kubeconfig user", f.server())
	case isUnreachable(err):
		return fmt.Errorf("cannot reach %s: %s. Is the cluster running, and are the kubeconfig and --context the right ones?", f.server(), rootCause(err))
	}
	return err
}

// explainedError is an API error with a message that says what to do; it
// unwraps to the API error, so callers can still tell its kind (the
// dashboard answers 403 for a forbidden one).
type explainedError struct {
	err error
	msg string
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// isUnreachable reports connection failures: refused, no route, unknown
// host, timeouts talking to the server.
func isUnreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) && (ue.Timeout() || strings.Contains(ue.Error(), "connection refused")) {
		return true
	}
	return false
}

func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return err.Error()
}

// readInstalled reads the project's config ConfigMaps and fails with a
// clear message when nothing is installed in the namespace.
func (f *Factory) readInstalled(ctx context.Context) (*project.Installed, error) {
	items, err := f.listConfigMaps(ctx, v1alpha1.LabelConfig)
	if err != nil {
		return nil, err
	}
	in := project.ReadInstalled(items)
	if in.Empty() {
		return nil, f.notInstalled(ctx)
	}
	return in, nil
}

// notInstalled says that no project lives in the namespace, and where
// projects do live when the user may list across namespaces.
func (f *Factory) notInstalled(ctx context.Context) error {
	hint := ""
	if c, err := f.KubeClient(); err == nil {
		list, err := c.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelConfig + "=" + v1alpha1.ConfigPool, Limit: 100})
		if err == nil {
			seen := map[string]bool{}
			var nss []string
			for _, cm := range list.Items {
				if !seen[cm.Namespace] {
					seen[cm.Namespace] = true
					nss = append(nss, cm.Namespace)
				}
			}
			sort.Strings(nss)
			if len(nss) > 0 {
				hint = fmt.Sprintf("; projects are installed in: %s (use -n NAMESPACE)", strings.Join(nss, ", "))
			}
		}
	}
	from := ""
	if f.nsFrom != "" && f.nsFrom != "--namespace" {
		from = " (from " + f.nsFrom + ")"
	}
	return fmt.Errorf("no kubectl-flows project is installed in namespace %q%s: it has no pool, limits or deployment ConfigMaps. Render and apply the project first (kubectl flows render && kubectl apply -k deploy/)%s",
		f.ns, from, hint)
}

// snapshot reads what one `get` or `describe` shows: the installed config
// and the runs matching an extra selector.
func (f *Factory) snapshot(ctx context.Context, runSelector string) (*snapshot, error) {
	ns, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	in, err := f.readInstalled(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := f.listRuns(ctx, runSelector)
	if err != nil {
		return nil, err
	}
	cancels, err := f.listCancelRequests(ctx)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(ns, f.now(), in, runs)
	s.cancels = cancels
	return s, nil
}

// listRuns lists the run request ConfigMaps matching an extra selector.
func (f *Factory) listRuns(ctx context.Context, selector string) ([]*project.RunInfo, error) {
	sel := v1alpha1.LabelRun + "=true"
	if selector != "" {
		sel += "," + selector
	}
	items, err := f.listConfigMaps(ctx, sel)
	if err != nil {
		return nil, err
	}
	return readRuns(items), nil
}

// listConfigMaps lists the namespace's ConfigMaps matching a selector.
func (f *Factory) listConfigMaps(ctx context.Context, selector string) ([]corev1.ConfigMap, error) {
	c, err := f.KubeClient()
	if err != nil {
		return nil, err
	}
	ns, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	list, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, f.apiError(err, "list", "configmaps")
	}
	return list.Items, nil
}

func readRuns(items []corev1.ConfigMap) []*project.RunInfo {
	runs := make([]*project.RunInfo, 0, len(items))
	for i := range items {
		if items[i].Labels[v1alpha1.LabelRun] != "true" {
			continue
		}
		runs = append(runs, project.ReadRun(&items[i]))
	}
	sortRuns(runs)
	return runs
}

// sortRuns orders runs oldest first, like a log.
func sortRuns(runs []*project.RunInfo) {
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i].ConfigMap, runs[j].ConfigMap
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// getRun reads one run, saying clearly when there is none of that name.
func (f *Factory) getRun(ctx context.Context, name string) (*project.RunInfo, error) {
	c, err := f.KubeClient()
	if err != nil {
		return nil, err
	}
	ns, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && cm.Labels[v1alpha1.LabelRun] != "true") {
		return nil, f.runNotFound(ctx, name)
	}
	if err != nil {
		return nil, f.apiError(err, "get", "configmaps")
	}
	return project.ReadRun(cm), nil
}

func (f *Factory) runNotFound(ctx context.Context, name string) error {
	runs, err := f.listRuns(ctx, "")
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		if _, err := f.readInstalled(ctx); err != nil {
			return err
		}
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.ConfigMap.Name
	}
	hint := ""
	if close := project.Closest(name, names, 3); len(close) > 0 {
		hint = "; did you mean " + strings.Join(close, ", ") + "?"
	}
	return fmt.Errorf("run %q not found in namespace %q%s (list runs with `kubectl flows get runs`)", name, f.ns, hint)
}

// deployment finds an installed deployment by flow/name, suggesting close
// names when there is none.
func (f *Factory) deployment(in *project.Installed, full string) (*project.InstalledDeployment, error) {
	if d := in.Deployments[full]; d != nil {
		return d, nil
	}
	if _, _, ok := v1alpha1.SplitDeployment(full); !ok {
		// Accept a bare name when one flow has it, or a flow with one
		// deployment.
		var match []string
		for _, n := range in.DeploymentNames() {
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
	hint := ""
	if close := project.Closest(full, in.DeploymentNames(), 3); len(close) > 0 {
		hint = "; did you mean " + strings.Join(close, ", ") + "?"
	} else if names := in.DeploymentNames(); len(names) > 0 && len(names) <= 10 {
		hint = "; deployments here: " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("deployment %q not found in namespace %q%s", full, f.ns, hint)
}

// runWatcher lists and watches one run's ConfigMap, for the commands that
// follow a run until it ends (run --wait/--watch, logs -f).
func runWatcher(c kubernetes.Interface, ns, name string) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	cms := c.CoreV1().ConfigMaps(ns)
	lw := listWatch(cms.List, cms.Watch, func(o *metav1.ListOptions) { o.FieldSelector = sel })
	return cache.ToListWatcherWithWatchListSemantics(lw, c)
}

// listWatch is a ListWatch over a typed client's List and Watch, with the
// options set by with (a label or field selector).
func listWatch[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), with func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			with(&opts)
			return list(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			with(&opts)
			return watchFn(ctx, opts)
		},
	}
}

// withLabels sets a label selector on list and watch options.
func withLabels(sel string) func(*metav1.ListOptions) {
	return func(o *metav1.ListOptions) { o.LabelSelector = sel }
}

// configMapInformer caches the ConfigMaps of ns matching a label selector,
// by list and watch: `get -w` and the dashboard follow the project with it.
func configMapInformer(c kubernetes.Interface, ns, sel string) cache.SharedIndexInformer {
	cms := c.CoreV1().ConfigMaps(ns)
	lw := listWatch(cms.List, cms.Watch, withLabels(sel))
	return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c), &corev1.ConfigMap{}, 0, cache.Indexers{})
}

// canI asks the API server whether the kubeconfig's user may do verb on
// resource in the project namespace (a SelfSubjectAccessReview), so a page
// offers only what the user may do; the API server still decides each
// request.
func (f *Factory) canI(ctx context.Context, verb, resource string) bool {
	c, ns, err := f.clientIn()
	if err != nil {
		return false
	}
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Resource: resource,
		}},
	}, metav1.CreateOptions{})
	return err == nil && r.Status.Allowed
}
