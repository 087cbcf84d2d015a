package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ContextName is the cluster, user and context name in kubeconfigs the
// harness writes.
const ContextName = "kubectl-flows-test"

// writeKubeconfig writes a kubeconfig equivalent to cfg (certificates or a
// bearer token, and the CA inline), with namespace as the context's default
// namespace when set.
func writeKubeconfig(path string, cfg *rest.Config, namespace string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[ContextName] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts[ContextName] = &clientcmdapi.Context{
		Cluster:   ContextName,
		AuthInfo:  ContextName,
		Namespace: namespace,
	}
	kc.CurrentContext = ContextName
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// APIServerURL is the apiserver's https URL.
func (cp *ControlPlane) APIServerURL() string { return cp.Config.Host }

// CAFile is the path of the apiserver's serving CA certificate.
func (cp *ControlPlane) CAFile() string { return cp.caFile }

// LogDir holds one log file per component (etcd.log, kube-apiserver.log,
// kube-controller-manager.log, kube-scheduler.log, kwok.log).
func (cp *ControlPlane) LogDir() string { return filepath.Join(cp.Dir, "logs") }

// RESTConfig returns a copy of the admin rest.Config.
func (cp *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(cp.Config) }

// KubectlPath is the kubectl built with the control plane (same version),
// or "kubectl" from PATH when the bin directory has none.
func (cp *ControlPlane) KubectlPath() string {
	p := filepath.Join(cp.BinDir, "kubectl")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "kubectl"
}

// Kubectl returns a command running kubectl against the control plane as
// admin: KUBECONFIG is set to Kubeconfig (pass --kubeconfig to use another).
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cp.KubectlPath(), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	return cmd
}

// RESTConfigForUser provisions a user authenticated by client certificate
// (CN name, O groups) and returns its rest.Config. The user has no
// permissions beyond what RBAC grants name or groups (system:authenticated
// is implied).
func (cp *ControlPlane) RESTConfigForUser(name string, groups []string) (*rest.Config, error) {
	base := &rest.Config{QPS: ClientQPS, Burst: ClientBurst}
	// envtest's certificate authority is not safe for concurrent use.
	cp.userMu.Lock()
	u, err := cp.env.AddUser(envtest.User{Name: name, Groups: groups}, base)
	cp.userMu.Unlock()
	if err != nil {
		return nil, err
	}
	return rest.CopyConfig(u.Config()), nil
}

// KubeconfigForUser is RESTConfigForUser written as a kubeconfig file in the
// run directory; it returns the path.
func (cp *ControlPlane) KubeconfigForUser(name string, groups []string) (string, error) {
	cfg, err := cp.RESTConfigForUser(name, groups)
	if err != nil {
		return "", err
	}
	path := filepath.Join(cp.Dir, "kubeconfigs", "user-"+fileSafe(name)+"-"+randSuffix(6)+".kubeconfig")
	return path, writeKubeconfig(path, cfg, "")
}

// RESTConfigForServiceAccount returns a rest.Config authenticating as the
// ServiceAccount namespace/name (which must exist) with a bound token from
// the TokenRequest API, valid for 24h: what a pod running as it would use.
func (cp *ControlPlane) RESTConfigForServiceAccount(ctx context.Context, namespace, name string) (*rest.Config, error) {
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return &rest.Config{
		Host:            cp.Config.Host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.Config.CAData},
		QPS:             ClientQPS,
		Burst:           ClientBurst,
	}, nil
}

// KubeconfigForServiceAccount is RESTConfigForServiceAccount written as a
// kubeconfig file (default namespace: namespace); it returns the path.
func (cp *ControlPlane) KubeconfigForServiceAccount(ctx context.Context, namespace, name string) (string, error) {
	cfg, err := cp.RESTConfigForServiceAccount(ctx, namespace, name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(cp.Dir, "kubeconfigs", "sa-"+fileSafe(namespace)+"-"+fileSafe(name)+"-"+randSuffix(6)+".kubeconfig")
	return path, writeKubeconfig(path, cfg, namespace)
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

func fileSafe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// CreateNamespace creates a namespace named prefix-XXXXX (prefix made
// DNS-safe and short) and waits until its "default" ServiceAccount exists,
// so pods can be created in it at once. It returns the name.
func (cp *ControlPlane) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	p := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(prefix), "-"), "-")
	if len(p) > 40 {
		p = strings.TrimRight(p[:40], "-")
	}
	if p == "" {
		p = "test"
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   p + "-" + randSuffix(5),
		Labels: map[string]string{"kubectl-flows.dev/test-namespace": "true"},
	}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	err := WaitFor(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	if err != nil {
		return "", fmt.Errorf("namespace %s: default ServiceAccount: %w", ns.Name, err)
	}
	return ns.Name, nil
}

// NewNamespace creates a fresh namespace for a test (named after it), ready
// for pods, and deletes it when the test ends (kept if the test failed and
// KUBECTL_FLOWS_HARNESS_KEEP=1).
func (cp *ControlPlane) NewNamespace(tb testing.TB) string {
	tb.Helper()
	name, err := cp.CreateNamespace(context.Background(), "t-"+tb.Name())
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() && cp.opts.KeepDir {
			tb.Logf("harness: keeping namespace %s of failed test", name)
			return
		}
		err := cp.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			tb.Logf("harness: deleting namespace %s: %v", name, err)
		}
	})
	return name
}
