package plugin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/dashboard"
)

var dashboardLong = templates.LongDesc(`
	Serve a live web view of the project's runs, queues, limits and
	deployments on this machine, and print its URL. It stops on Ctrl-C.

	The dashboard reads the cluster with your kubeconfig, through watches,
	so it shows what you may see and its buttons do what you may do: Run
	and Cancel appear only when your account may create or cancel runs,
	and the API server decides each request. Nothing is installed in the
	cluster.

	It listens on 127.0.0.1 unless --address says otherwise. Forms carry a
	token made when the command starts, so other web sites cannot post to
	it.`)

var dashboardExample = templates.Examples(`
	# Serve on a free port of 127.0.0.1 and open a browser
	kubectl flows dashboard --open

	# A fixed port
	kubectl flows dashboard -n flows --port 8080`)

// DashboardOptions is `kubectl flows dashboard`.
type DashboardOptions struct {
	Address string
	Port    int
	Open    bool
	client  *client.Client
	f       *Factory
	genericiooptions.IOStreams
}

// NewCmdDashboard is `kubectl flows dashboard`.
func NewCmdDashboard(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DashboardOptions{f: f, IOStreams: streams, Address: "127.0.0.1"}
	cmd := &cobra.Command{
		Use:                   "dashboard [--port N] [--address ADDR] [--open]",
		DisableFlagsInUseLine: true,
		Short:                 "Serve a live web view of runs, queues, limits and deployments",
		Long:                  dashboardLong,
		Example:               dashboardExample,
		Args:                  cobra.NoArgs,
		RunE:                  runE(o),
	}
	cmd.Flags().StringVar(&o.Address, "address", o.Address, "address to listen on; anything but loopback lets other machines reach it")
	cmd.Flags().IntVar(&o.Port, "port", 0, "port to listen on; 0 picks a free one")
	cmd.Flags().BoolVar(&o.Open, "open", false, "open the dashboard in a browser")
	return cmd
}

// Complete finds the client.
func (o *DashboardOptions) Complete(args []string) error {
	var err error
	o.client, err = o.f.FlowsClient()
	return err
}

// Validate checks the flags.
func (o *DashboardOptions) Validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d: want 0 to 65535", o.Port)
	}
	if net.ParseIP(o.Address) == nil && o.Address != "localhost" {
		return fmt.Errorf("--address %q: want an IP address such as 127.0.0.1", o.Address)
	}
	return nil
}

// Run watches the project, serves, and stops when ctx ends.
func (o *DashboardOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := o.client.Installed(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Address, fmt.Sprint(o.Port)))
	if err != nil {
		return fmt.Errorf("listening on %s port %d: %w", o.Address, o.Port, err)
	}
	defer ln.Close()
	b := dashboard.NewClusterBackend(o.client)
	srv, err := dashboard.New(b, ln.Addr().String())
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if !b.Start(ctx, &wg, srv.Notify) {
		return ctx.Err()
	}
	wg.Add(1)
	go func() { defer wg.Done(); srv.Tick(ctx, 5*time.Second) }()

	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(o.Out, "kubectl flows dashboard for namespace %s: %s\n(Ctrl-C stops it)\n", o.client.Namespace(), url)
	if o.Open {
		openBrowser(url)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer scancel()
		_ = hs.Shutdown(sctx)
		return nil
	case err := <-errc:
		cancel()
		return err
	}
}

func openBrowser(url string) {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name = "explorer"
	}
	_ = exec.Command(name, url).Start()
}
