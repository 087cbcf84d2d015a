// Package client is what the CLI's verbs and the dashboard both call to
// read and drive a project installed in a namespace: the installed config,
// one snapshot of runs, usage and cancel requests, one run with its Job,
// pods and children, submitting, cancelling, pausing and resuming, name
// look-ups and access checks. It holds the client read model (RunInfo,
// Usage) and the one view of each kind (RunView, DeploymentView, ...)
// that `get`, `describe` and the dashboard print. It knows nothing of
// flags, exit statuses or output formats.
package client

import (
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
)

// Client reads and drives the project of one namespace. It is immutable:
// a command that needs another namespace (diff, for the project file's)
// makes another Client.
type Client struct {
	kube   kubernetes.Interface
	meta   metadata.Interface
	ns     string
	nsFrom string
	server string
	now    func() time.Time
}

// Options are how a Client is made.
type Options struct {
	// Namespace is the project namespace; NamespaceFrom says where it was
	// found ("--namespace", a project file, "the kubeconfig context"), for
	// messages.
	Namespace, NamespaceFrom string
	// Server names the cluster in messages ("the Kubernetes API server at
	// https://..."); default "the cluster".
	Server string
	// Now is the clock (tests fix it); default time.Now.
	Now func() time.Time
	// Metadata, when set, reads objects of which only the metadata is
	// wanted (runs' Jobs, to see a start not yet written); else kube does.
	Metadata metadata.Interface
}

// New returns a Client over kube.
func New(kube kubernetes.Interface, o Options) *Client {
	if o.Server == "" {
		o.Server = "the cluster"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{kube: kube, meta: o.Metadata, ns: o.Namespace, nsFrom: o.NamespaceFrom, server: o.Server, now: o.Now}
}

// Kube is the cluster client.
func (c *Client) Kube() kubernetes.Interface { return c.kube }

// Namespace is the project namespace.
func (c *Client) Namespace() string { return c.ns }

// Now is the client's clock.
func (c *Client) Now() time.Time { return c.now() }

// FieldManager is the field manager of every write the clients make.
const FieldManager = "kubectl-flows"
