// Command kubectl-flows is the kubectl plugin: with it on PATH,
// `kubectl flows ...` runs it.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers in kubeconfigs

	_ "time/tzdata" // schedules' time zones, wherever the binary runs

	"github.com/kubectl-flows/kubectl-flows/plugin"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := plugin.NewCmdFlows(streams).Execute()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "error:", msg)
		}
	}
	os.Exit(plugin.ExitCode(err))
}
