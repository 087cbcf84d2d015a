package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/version"
)

// reconcilerName is the name of the reconciler's Deployment, container
// and leader election Lease, as render installs them.
const reconcilerName = "flows-reconciler"

// VersionInfo is what `version -o json|yaml` prints.
type VersionInfo struct {
	Client     ClientVersion      `json:"clientVersion"`
	Reconciler *ReconcilerVersion `json:"reconcilerVersion,omitempty"`
}

// ClientVersion is the plugin's build.
type ClientVersion struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// ReconcilerVersion is what runs in the namespace.
type ReconcilerVersion struct {
	Namespace string `json:"namespace"`
	// Version is the reconciler image's tag ("" when not installed).
	Version       string `json:"version,omitempty"`
	Image         string `json:"image,omitempty"`
	Replicas      int32  `json:"replicas"`
	ReadyReplicas int32  `json:"readyReplicas"`
	// Leader holds the leader election Lease, when one does.
	Leader string `json:"leader,omitempty"`
}

// VersionOptions is `kubectl flows version`.
type VersionOptions struct {
	ClientOnly bool
	Output     string
	f          *Factory
	genericiooptions.IOStreams
}

// NewCmdVersion is `kubectl flows version`.
func NewCmdVersion(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version [--client] [-o json|yaml]",
		Short: "Print the plugin's version and the reconciler's",
		Long: `Print the plugin's version, and the version of the reconciler installed in
the namespace (the tag of the flows-reconciler Deployment's image, its ready
replicas, and which reconciler holds the leader Lease). --client skips the
cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.ClientOnly, "client", false, "print the plugin's version only")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "json or yaml")
	return cmd
}

// Run prints the versions.
func (o *VersionOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Output != "" && o.Output != "json" && o.Output != "yaml" {
		return fmt.Errorf("--output %q: want json or yaml", o.Output)
	}
	info := VersionInfo{Client: ClientVersion{
		Version: version.String(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}}
	var clusterErr error
	if !o.ClientOnly {
		info.Reconciler, clusterErr = o.reconciler(ctx)
	}
	switch o.Output {
	case "json":
		b, _ := json.MarshalIndent(info, "", "  ")
		fmt.Fprintln(o.Out, string(b))
	case "yaml":
		b, _ := yaml.Marshal(info)
		fmt.Fprint(o.Out, string(b))
	default:
		fmt.Fprintf(o.Out, "kubectl-flows %s (%s, %s)\n", info.Client.Version, info.Client.GoVersion, info.Client.Platform)
		if r := info.Reconciler; r != nil {
			fmt.Fprintf(o.Out, "reconciler    %s\n", r.text())
		}
	}
	return clusterErr
}

func (r *ReconcilerVersion) text() string {
	var parts []string
	if r.Image == "" {
		parts = append(parts, fmt.Sprintf("not installed in namespace %s", r.Namespace))
	} else {
		parts = append(parts, fmt.Sprintf("%s (%s) in namespace %s, %d/%d ready", r.Version, r.Image, r.Namespace, r.ReadyReplicas, r.Replicas))
	}
	if r.Leader != "" {
		parts = append(parts, "leader "+r.Leader)
	}
	return strings.Join(parts, "; ")
}

func (o *VersionOptions) reconciler(ctx context.Context) (*ReconcilerVersion, error) {
	c, err := o.f.KubeClient()
	if err != nil {
		return nil, err
	}
	ns, err := o.f.Namespace()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r := &ReconcilerVersion{Namespace: ns}
	d, err := c.AppsV1().Deployments(ns).Get(ctx, reconcilerName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, o.f.apiError(err, "get", "deployments")
	default:
		for _, ct := range d.Spec.Template.Spec.Containers {
			if ct.Name == "reconciler" || len(d.Spec.Template.Spec.Containers) == 1 {
				r.Image = ct.Image
			}
		}
		r.Version = imageVersion(r.Image)
		if d.Spec.Replicas != nil {
			r.Replicas = *d.Spec.Replicas
		}
		r.ReadyReplicas = d.Status.ReadyReplicas
	}
	lease, err := c.CoordinationV1().Leases(ns).Get(ctx, reconcilerName, metav1.GetOptions{})
	if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		r.Leader = *lease.Spec.HolderIdentity
		if rt := lease.Spec.RenewTime; rt != nil {
			r.Leader += fmt.Sprintf(" (renewed %s ago)", age(o.f.now(), metav1.Time{Time: rt.Time}))
		}
	}
	return r, nil
}

// imageVersion is an image reference's tag (or digest).
func imageVersion(image string) string {
	name := image
	if i := strings.Index(name, "@"); i >= 0 {
		return name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "latest"
}
