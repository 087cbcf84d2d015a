// Command flows-reconciler is the in-cluster half of kubectl-flows: it
// turns run-request ConfigMaps into Jobs under the project's limits. It
// runs in the cluster from the Deployment `kubectl flows render` writes,
// or out of cluster with --kubeconfig (tests, `make demo`, development).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud auth providers in kubeconfigs
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	_ "time/tzdata" // schedules' time zones in a distroless image

	"github.com/kubectl-flows/kubectl-flows/reconciler"
	"github.com/kubectl-flows/kubectl-flows/version"
)

type options struct {
	kubeconfig       string
	namespace        string
	configDigest     string
	leaderElect      bool
	leaseName        string
	leaseDuration    time.Duration
	renewDeadline    time.Duration
	retryPeriod      time.Duration
	metricsAddr      string
	healthAddr       string
	workers          int
	writes           int
	qps              float64
	burst            int
	logFormat        string
	identity         string
	showVersion      bool
	retentionEvery   time.Duration
	pprof            bool
	statusBatch      time.Duration
	statusQPS        float64
	statusBurst      int
	statusMaxLatency time.Duration
	notifyRetryFor   time.Duration
}

func main() {
	o := options{}
	d := reconciler.DefaultOptions()
	fs := flag.NewFlagSet("flows-reconciler", flag.ExitOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; empty means in-cluster config")
	fs.StringVar(&o.namespace, "namespace", "", "the project namespace (required)")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader on a coordination.k8s.io Lease; only the leader dispatches")
	fs.StringVar(&o.leaseName, "leader-elect-lease-name", "flows-reconciler", "name of the leader election Lease")
	fs.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a lease lasts without renewal; failover takes at most this")
	fs.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up")
	fs.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to acquire or renew")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of /metrics; 0 disables it")
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz; 0 disables them")
	fs.IntVar(&o.workers, "workers", d.Workers, "runs reconciled at once")
	fs.IntVar(&o.writes, "write-concurrency", d.WriteConcurrency, "dispatch writes (slot takes and Job creates) run at once")
	fs.Float64Var(&o.qps, "kube-api-qps", 500, "client queries per second to the API server; a run costs 2.5–4 writes, and client-go's default of 5 would hold a burst back for minutes")
	fs.IntVar(&o.burst, "kube-api-burst", 1000, "client burst to the API server")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&o.identity, "id", "", "leader election identity (default: hostname and pid)")
	fs.DurationVar(&o.retentionEvery, "retention-interval", d.RetentionInterval, "how often finished runs are pruned")
	fs.DurationVar(&o.statusBatch, "status-batch-period", d.StatusBatchPeriod, "how long Pending and Running state writes are batched (final states are written at once); negative for none")
	fs.Float64Var(&o.statusQPS, "status-write-qps", float64(d.StatusWriteQPS), "budget of Pending and Running state writes per second; past it they wait 5 batch periods and may be overtaken by the next state (final states never wait); negative for no budget")
	fs.IntVar(&o.statusBurst, "status-write-burst", d.StatusWriteBurst, "burst of the Pending and Running write budget")
	fs.DurationVar(&o.statusMaxLatency, "status-write-max-latency", d.StatusWriteMaxLatency, "while the reconciler's writes take longer than this on average (the API server is saturated), write Pending and Running only for runs that stay in them 30 s; negative never holds them")
	fs.StringVar(&o.configDigest, "config-digest", "", "digest of the rendered config index (render writes it into the reconciler Deployment): config ConfigMaps not listed in that index, or changed since, are ignored (required)")
	fs.DurationVar(&o.notifyRetryFor, "notification-retry-for", d.NotificationRetryFor, "how long one notification is retried (back-off from 1 s doubling to 30 s) before the reconciler gives up on it and records so in the run's status")
	fs.BoolVar(&o.pprof, "enable-pprof", false, "serve net/http/pprof under /debug/pprof/ on the metrics address")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	_ = fs.Parse(os.Args[1:])

	if o.showVersion {
		fmt.Println("flows-reconciler", version.String())
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if o.logFormat == "json" {
		handler = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(handler)
	slog.SetDefault(log)
	klog.SetSlogLogger(log)

	if o.namespace == "" {
		return errors.New("--namespace is required: the project namespace the reconciler serves")
	}
	if !strings.HasPrefix(o.configDigest, "sha256:") {
		return errors.New("--config-digest is required: the digest of the config index, as the rendered reconciler Deployment passes it (kubectl -n NS get deployment flows-reconciler -o yaml shows it)")
	}
	cfg, err := clientConfig(o)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// The signing key and schedule ticks: read before the caches start,
	// since which runs' stored states are the reconciler's own depends on
	// the key.
	state, err := reconciler.LoadState(ctx, client, o.namespace)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctrl, factories := newController(o, client, state, reg, log)
	for _, f := range factories {
		f.Start(ctx.Done())
	}

	if err := serve(ctx, o.metricsAddr, metricsMux(reg, o.pprof), log); err != nil {
		return err
	}
	if err := serve(ctx, o.healthAddr, healthMux(ctrl), log); err != nil {
		return err
	}

	log.Info("starting", "version", version.String(), "namespace", o.namespace, "leaderElect", o.leaderElect)
	if !o.leaderElect {
		return ctrl.Run(ctx)
	}
	return runAsLeader(ctx, o, client, ctrl, log)
}

// newController is the controller over its caches, each from an informer
// factory of its own; the factories are returned to be started.
func newController(o options, client kubernetes.Interface, state *reconciler.State, reg *prometheus.Registry, log *slog.Logger) (*reconciler.Controller, []informers.SharedInformerFactory) {
	// Each cache from a factory of its own, filtered by label and trimmed
	// (reconciler.FactoryOptions), the runs' without a namespace index
	// (reconciler.RunInformer); the Jobs and their pods share one.
	var factories []informers.SharedInformerFactory
	factory := func(c reconciler.Cache) informers.SharedInformerFactory {
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, reconciler.FactoryOptions(o.namespace, c, state)...)
		factories = append(factories, f)
		return f
	}
	work := factory(reconciler.WorkCache)
	ctrl := reconciler.New(client, reconciler.Informers{
		Configs:        factory(reconciler.ConfigCache).Core().V1().ConfigMaps(),
		Runs:           reconciler.RunInformer(factory(reconciler.RunCache), o.namespace),
		CancelRequests: factory(reconciler.CancelCache).Core().V1().ConfigMaps(),
		Jobs:           work.Batch().V1().Jobs(),
		Pods:           work.Core().V1().Pods(),
	}, reconciler.Options{
		Namespace:             o.namespace,
		Workers:               o.workers,
		WriteConcurrency:      o.writes,
		RetentionInterval:     o.retentionEvery,
		StatusBatchPeriod:     o.statusBatch,
		StatusWriteQPS:        float32(o.statusQPS),
		StatusWriteBurst:      o.statusBurst,
		StatusWriteMaxLatency: o.statusMaxLatency,
		State:                 state,
		ConfigDigest:          o.configDigest,
		Logger:                log,
		Metrics:               reconciler.NewMetrics(reg),
		NotificationRetryFor:  o.notifyRetryFor,
	})
	// After New: the factory calls in its arguments fill factories.
	return ctrl, factories
}

// clientConfig is the API client's configuration: the kubeconfig's (or
// the pod's), with the reconciler's rate limits, user agent and encoding.
func clientConfig(o options) (*rest.Config, error) {
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	cfg.UserAgent = "flows-reconciler/" + version.String()
	// Protobuf, as kube-controller-manager speaks: the API server encodes a
	// watch event once per encoding and shares it among watchers, so JSON
	// watches would cost it a second encoding of every pod and Job change,
	// and JSON decoding is most of this process's CPU in a burst.
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	// And no gzip, as kube-controller-manager and kube-scheduler set: next
	// to the API server, compressing costs both ends more CPU than the
	// bytes are worth.
	cfg.DisableCompression = true
	return cfg, nil
}

// metricsMux serves the registry's metrics and, with pprof, the profiles.
func metricsMux(reg *prometheus.Registry, withPprof bool) *http.ServeMux {
	metrics := http.NewServeMux()
	// Uncompressed: a gzip writer holds about 800 KB from one scrape to
	// the next, several times the page it would compress.
	metrics.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}))
	if withPprof {
		metrics.HandleFunc("/debug/pprof/", pprof.Index)
		metrics.HandleFunc("/debug/pprof/profile", pprof.Profile)
		metrics.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		metrics.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return metrics
}

// healthMux serves the probes: ready once the controller's caches synced.
func healthMux(ctrl *reconciler.Controller) *http.ServeMux {
	health := http.NewServeMux()
	health.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	health.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ctrl.HasSynced() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return health
}

// runAsLeader runs the controller while this replica holds the lease,
// and returns once it stops: an error if the lease was lost while running.
func runAsLeader(ctx context.Context, o options, client kubernetes.Interface, ctrl *reconciler.Controller, log *slog.Logger) error {
	id := o.identity
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.leaseName, Namespace: o.namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	lost := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		ReleaseOnCancel: true, // a clean stop hands over at once, not after the lease expires
		Name:            o.leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				log.Info("became leader", "id", id)
				if err := ctrl.Run(ctx); err != nil {
					log.Error("reconciler stopped", "err", err)
				}
			},
			OnStoppedLeading: func() {
				log.Info("stopped leading", "id", id)
				close(lost)
			},
			OnNewLeader: func(identity string) {
				if identity != id {
					log.Info("following leader", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	<-lost
	if ctx.Err() == nil {
		// Lost the lease while still running: exit so that this replica can
		// never dispatch beside a new leader; it restarts as a candidate.
		return errors.New("leader election lost")
	}
	log.Info("stopped")
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// serve starts an HTTP server on addr until ctx ends; "0" or "" disables it.
func serve(ctx context.Context, addr string, mux http.Handler, log *slog.Logger) error {
	if addr == "" || addr == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "addr", addr, "err", err)
		}
	}()
	log.Info("serving", "addr", ln.Addr().String())
	return nil
}
