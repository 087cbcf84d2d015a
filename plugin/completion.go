package plugin

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/printers"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Shell completion. Cobra's `completion bash|zsh|fish|powershell` command
// completes `kubectl-flows ...`; for `kubectl flows ...` kubectl (1.26 and
// later) runs the kubectl_complete-flows executable from PATH, which calls
// `kubectl-flows __complete "$@"`. Both end here: these functions complete
// deployment, run, pool and queue names from the cluster.

const completionTimeout = 5 * time.Second

func completionContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), completionTimeout)
}

func filterPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// installedNames lists names of the installed config, for completion.
func (f *Factory) installedNames(prefix string, names func(*project.Installed) []string) []string {
	ctx, cancel := completionContext()
	defer cancel()
	c, err := f.FlowsClient()
	if err != nil {
		return nil
	}
	in, err := c.Installed(ctx)
	if err != nil {
		return nil
	}
	return filterPrefix(names(in), prefix)
}

// deploymentNames lists flow/name of the installed deployments.
func (f *Factory) deploymentNames(prefix string) []string {
	return f.installedNames(prefix, (*project.Installed).DeploymentNames)
}

// runNames lists run names, newest first, optionally only unfinished ones.
func (f *Factory) runNames(prefix string, unfinished bool) []string {
	ctx, cancel := completionContext()
	defer cancel()
	c, err := f.FlowsClient()
	if err != nil {
		return nil
	}
	names, err := c.RunNames(ctx, unfinished)
	if err != nil {
		return nil
	}
	return filterPrefix(names, prefix)
}

// namesOf completes the names of a kind.
func (f *Factory) namesOf(k *printers.Kind, prefix string) []string {
	switch k {
	case printers.RunKind:
		return f.runNames(prefix, false)
	case printers.DeploymentKind:
		return f.deploymentNames(prefix)
	case printers.PoolKind:
		return f.installedNames(prefix, (*project.Installed).PoolNames)
	case printers.QueueKind:
		return f.installedNames(prefix, (*project.Installed).QueueNames)
	case printers.LimitKind:
		return f.installedNames(prefix, client.TagNames)
	}
	return nil
}

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completeDeployments completes the first argument with deployments.
func completeDeployments(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return f.deploymentNames(toComplete), noFiles
	}
}

// completeRuns completes every argument with run names.
func completeRuns(f *Factory, unfinished bool, max int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, noFiles
		}
		return f.runNames(toComplete, unfinished), noFiles
	}
}

// completeGet completes a kind, then names of that kind.
func completeGet(f *Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return filterPrefix(printers.KindNames(), toComplete), noFiles
		}
		k := printers.KindFor(args[0])
		if k == nil {
			return nil, noFiles
		}
		return f.namesOf(k, toComplete), noFiles
	}
}

// completeKindName completes "KIND NAME" for describe, pause and resume,
// over the kinds given.
func completeKindName(f *Factory, allowed ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return filterPrefix(allowed, toComplete), noFiles
		case 1:
			k := printers.KindFor(args[0])
			if k == nil {
				return nil, noFiles
			}
			return f.namesOf(k, toComplete), noFiles
		}
		return nil, noFiles
	}
}

// namespaceNames completes -n with namespaces that hold a project, or all
// namespaces when none do.
func (f *Factory) namespaceNames(prefix string) []string {
	ctx, cancel := completionContext()
	defer cancel()
	kube, err := f.KubeClient()
	if err != nil {
		return nil
	}
	return filterPrefix(client.New(kube, client.Options{}).NamespaceNames(ctx), prefix)
}
