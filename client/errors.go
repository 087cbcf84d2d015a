package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Explain turns an API error into a message that says what to do:
// unreachable cluster, missing permission (naming the verb and resource),
// rejected credentials. Other errors pass through.
func (c *Client) Explain(err error, verb, resource string) error {
	if err == nil {
		return nil
	}
	switch {
	case apierrors.IsForbidden(err):
		where := fmt.Sprintf(" in namespace %q", c.ns)
		if resource == "namespaces" || resource == "nodes" {
			where = ""
		}
		msg := err.Error()
		if st, ok := err.(apierrors.APIStatus); ok {
			msg = st.Status().Message
		}
		return &explainedError{err: err, msg: fmt.Sprintf("forbidden: you may not %s %s%s. Ask your cluster admin for a Role granting %q on %q, or check with `kubectl auth can-i %s %s -n %s`.\n(%s)",
			verb, resource, where, verb, resource, verb, resource, c.ns, msg)}
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s rejected the credentials (401 Unauthorized): log in again or check the kubeconfig user", c.server)
	case isUnreachable(err):
		return fmt.Errorf("cannot reach %s: %s. Is the cluster running, and are the kubeconfig and --context the right ones?", c.server, rootCause(err))
	}
	return err
}

// explainedError is an API error with a message that says what to do; it
// unwraps to the API error, so callers can still tell its kind (the
// dashboard answers 403 for a forbidden one).
type explainedError struct {
	err error
	msg string
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// isUnreachable reports connection failures: refused, no route, unknown
// host, timeouts talking to the server.
func isUnreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue) && (ue.Timeout() || strings.Contains(ue.Error(), "connection refused"))
}

func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "connection refused"
	}
	return err.Error()
}

// NotFoundError is a run, deployment, pool, queue or limit that is not in
// the namespace, with the closest names.
type NotFoundError struct {
	Kind, Name, Namespace string
	// Hint follows the message: "; did you mean ...?", or how to list them.
	Hint string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found in namespace %q%s", e.Kind, e.Name, e.Namespace, e.Hint)
}

// notFound says that no kind of that name exists, suggesting the closest
// of names.
func (c *Client) notFound(kind, name string, names []string) *NotFoundError {
	return &NotFoundError{Kind: kind, Name: name, Namespace: c.ns, Hint: didYouMean(name, names)}
}

// didYouMean is "; did you mean a, b?" for the names closest to name, or "".
func didYouMean(name string, names []string) string {
	if close := project.Closest(name, names, 3); len(close) > 0 {
		return "; did you mean " + strings.Join(close, ", ") + "?"
	}
	return ""
}

// InvalidError is a request the user can fix, refused before anything
// was sent: parameters failing the schema (the reconciler would only
// reject the run), a run that already ended.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// notInstalled says that no project lives in the namespace, and where
// projects do live when the user may list across namespaces.
func (c *Client) notInstalled(ctx context.Context) error {
	hint := ""
	if nss := c.ProjectNamespaces(ctx); len(nss) > 0 {
		hint = fmt.Sprintf("; projects are installed in: %s (use -n NAMESPACE)", strings.Join(nss, ", "))
	}
	from := ""
	if c.nsFrom != "" && c.nsFrom != "--namespace" {
		from = " (from " + c.nsFrom + ")"
	}
	return fmt.Errorf("no kubectl-flows project is installed in namespace %q%s: it has no pool, limits or deployment ConfigMaps. Render and apply the project first (kubectl flows render && kubectl apply -k deploy/)%s",
		c.ns, from, hint)
}

// ProjectNamespaces are the namespaces holding a project's pools, as far
// as the user may list ConfigMaps across namespaces (none otherwise).
func (c *Client) ProjectNamespaces(ctx context.Context) []string {
	list, err := c.kube.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelConfig + "=" + v1alpha1.ConfigPool, Limit: 100})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var nss []string
	for _, cm := range list.Items {
		if !seen[cm.Namespace] {
			seen[cm.Namespace] = true
			nss = append(nss, cm.Namespace)
		}
	}
	sort.Strings(nss)
	return nss
}
