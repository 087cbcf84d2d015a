// Command kubectl-flows is the kubectl plugin: with it on PATH,
// `kubectl flows ...` runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers in kubeconfigs

	_ "time/tzdata" // schedules' time zones, wherever the binary runs

	"github.com/kubectl-flows/kubectl-flows/plugin"
)

func main() {
	// Ctrl-C ends -w and -f quietly, as with kubectl.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := plugin.NewCmdFlows(streams).ExecuteContext(ctx)
	if err != nil && ctx.Err() != nil {
		os.Exit(130)
	}
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "error:", msg)
		}
	}
	os.Exit(plugin.ExitCode(err))
}
