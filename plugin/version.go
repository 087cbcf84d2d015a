package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/version"
)

// VersionInfo is what `version -o json|yaml` prints.
type VersionInfo struct {
	Client     ClientVersion             `json:"clientVersion"`
	Reconciler *client.ReconcilerVersion `json:"reconcilerVersion,omitempty"`
}

// ClientVersion is the plugin's build.
type ClientVersion struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
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
		RunE: runE(o),
	}
	cmd.Flags().BoolVar(&o.ClientOnly, "client", false, "print the plugin's version only")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "json or yaml")
	return cmd
}

// Complete has nothing to fill in: the cluster is read only without
// --client.
func (o *VersionOptions) Complete(args []string) error { return nil }

// Validate checks the output format.
func (o *VersionOptions) Validate() error {
	if o.Output != "" && o.Output != "json" && o.Output != "yaml" {
		return fmt.Errorf("--output %q: want json or yaml", o.Output)
	}
	return nil
}

// Run prints the versions.
func (o *VersionOptions) Run(ctx context.Context) error {
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
			fmt.Fprintf(o.Out, "reconciler    %s\n", r.Text())
		}
	}
	return clusterErr
}

func (o *VersionOptions) reconciler(ctx context.Context) (*client.ReconcilerVersion, error) {
	c, err := o.f.FlowsClient()
	if err != nil {
		return nil, err
	}
	return c.Reconciler(ctx)
}
