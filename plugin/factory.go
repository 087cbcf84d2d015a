package plugin

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-flows/kubectl-flows/client"
	"github.com/kubectl-flows/kubectl-flows/project"
	"github.com/kubectl-flows/kubectl-flows/version"
)

// Factory gives commands their cluster clients and namespace, the way
// kubectl's cmdutil.Factory does. What it resolves (the client, the
// namespace) is resolved once and never changes: a command that works in
// another namespace asks ClientIn for a client of its own.
type Factory struct {
	Flags *genericclioptions.ConfigFlags

	// Client, when set, is used instead of one built from Flags (tests).
	Client kubernetes.Interface
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Dir is where a project file is looked for when -n is not given;
	// default: the current directory.
	Dir string

	kubeOnce sync.Once
	kube     kubernetes.Interface
	kubeErr  error
	meta     metadata.Interface // made with kube

	nsOnce         sync.Once
	ns, nsFrom     string
	nsErr          error
	flowsOnce      sync.Once
	flows          *client.Client
	flowsErr       error
	serverNameOnce sync.Once
	serverName     string
}

var errNoKubeconfig = errors.New("no kubeconfig: set KUBECONFIG or pass --kubeconfig (and --context) to say which cluster to use")

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
		return nil, errNoKubeconfig
	}
	cfg, err := f.Flags.ToRESTConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errNoKubeconfig
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
	f.kubeOnce.Do(func() {
		cfg, err := f.RESTConfig()
		if err != nil {
			f.kubeErr = err
			return
		}
		if f.kube, f.kubeErr = kubernetes.NewForConfig(cfg); f.kubeErr == nil {
			f.meta, f.kubeErr = metadata.NewForConfig(cfg)
		}
	})
	return f.kube, f.kubeErr
}

// Namespace resolves the project namespace: -n; else the namespace of the
// project file (flows.yaml, flows.yml or flows.jsonnet) in the current
// directory; else the kubeconfig context's.
func (f *Factory) Namespace() (string, error) {
	f.nsOnce.Do(func() { f.ns, f.nsFrom, f.nsErr = f.resolveNamespace() })
	return f.ns, f.nsErr
}

func (f *Factory) resolveNamespace() (ns, from string, err error) {
	if f.Flags.Namespace != nil && *f.Flags.Namespace != "" {
		return *f.Flags.Namespace, "--namespace", nil
	}
	dir := f.Dir
	if dir == "" {
		dir = "."
	}
	if file := project.FindProjectFile(dir); file != "" {
		if ns, err := project.FileNamespace(file, nil); err == nil && ns != "" {
			return ns, file, nil
		}
	}
	if f.Client != nil {
		return "default", "default", nil
	}
	ns, _, err = f.Flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return "", "", errNoKubeconfig
		}
		return "", "", err
	}
	return ns, "the kubeconfig context", nil
}

// FlowsClient is the client of the project namespace.
func (f *Factory) FlowsClient() (*client.Client, error) {
	f.flowsOnce.Do(func() {
		ns, err := f.Namespace()
		if err != nil {
			f.flowsErr = err
			return
		}
		f.flows, f.flowsErr = f.ClientIn(ns, f.nsFrom)
	})
	return f.flows, f.flowsErr
}

// ClientIn is a client of another namespace (from says where it comes
// from, for messages): diff works in the project file's.
func (f *Factory) ClientIn(ns, from string) (*client.Client, error) {
	kube, err := f.KubeClient()
	if err != nil {
		return nil, err
	}
	meta, err := f.MetadataClient()
	if err != nil {
		return nil, err
	}
	return client.New(kube, client.Options{Namespace: ns, NamespaceFrom: from, Server: f.server(), Now: f.now, Metadata: meta}), nil
}

// MetadataClient returns the cluster client for objects' metadata alone,
// made with KubeClient's from the same config; nil with Client set
// (tests), whose clientset then serves those reads.
func (f *Factory) MetadataClient() (metadata.Interface, error) {
	if f.Client != nil {
		return nil, nil
	}
	if _, err := f.KubeClient(); err != nil {
		return nil, err
	}
	return f.meta, nil
}

// server names the cluster for error messages.
func (f *Factory) server() string {
	if f.Client != nil {
		return "the cluster"
	}
	f.serverNameOnce.Do(func() {
		f.serverName = "the cluster"
		cfg, err := f.Flags.ToRESTConfig()
		if err != nil || cfg.Host == "" {
			return
		}
		f.serverName = "the Kubernetes API server at " + cfg.Host
		if raw, err := f.Flags.ToRawKubeConfigLoader().RawConfig(); err == nil {
			ctx := raw.CurrentContext
			if f.Flags.Context != nil && *f.Flags.Context != "" {
				ctx = *f.Flags.Context
			}
			if ctx != "" {
				f.serverName += fmt.Sprintf(" (context %q)", ctx)
			}
		}
	})
	return f.serverName
}
