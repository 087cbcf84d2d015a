package project

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// Targets is the list of notification targets a deployment's runs go to:
// the project's, then the deployment's own. Render writes it into the
// deployment's config, so the reconciler reads one list per deployment.
func Targets(p *Project, d *v1alpha1.Deployment) []v1alpha1.Notification {
	if len(p.Notifications) == 0 {
		return d.Notifications
	}
	return append(slices.Clone(p.Notifications), d.Notifications...)
}

// NotificationSecrets are the Secrets the project's notification targets
// read, sorted and distinct: the reconciler's Role lets it get these by
// name and no other Secret.
func NotificationSecrets(p *Project) []string {
	seen := map[string]bool{}
	for _, n := range p.Notifications {
		seen[n.Secret] = true
	}
	for _, d := range p.Deployments {
		for _, n := range d.Notifications {
			seen[n.Secret] = true
		}
	}
	names := make([]string, 0, len(seen))
	for s := range seen {
		names = append(names, s)
	}
	sort.Strings(names)
	return names
}

// validateNotifications checks a list of targets; taken are the target
// names already in use (the project's, for a deployment's list).
func validateNotifications(e *errs, fp *field.Path, list []v1alpha1.Notification, taken map[string]bool) {
	for i, n := range list {
		fn := fp.Index(i)
		dnsLabel(e, fn.Child("name").String(), n.Name)
		if taken[n.Name] {
			e.add(fn.Child("name").String(), "notification target %q is declared twice (a deployment's targets add to the project's)", n.Name)
		}
		taken[n.Name] = true
		if n.Secret == "" {
			e.add(fn.Child("secret").String(), "required: the Secret in the project namespace holding the webhook's %s and %s", v1alpha1.NotificationSecretURLKey, v1alpha1.NotificationSecretSigningKey)
		} else if errs := validation.IsDNS1123Subdomain(n.Secret); len(errs) > 0 {
			e.add(fn.Child("secret").String(), "%s is not a Secret's name: %s", v1alpha1.QuoteInput(n.Secret), strings.Join(errs, "; "))
		}
		switch n.Format {
		case "", v1alpha1.NotificationFormatJSON, v1alpha1.NotificationFormatSlack:
		default:
			e.add(fn.Child("format").String(), "must be %s or %s, got %s", v1alpha1.NotificationFormatJSON, v1alpha1.NotificationFormatSlack, v1alpha1.QuoteInput(n.Format))
		}
		validateEvents(e, fn, n)
		if n.DashboardURL != "" {
			if u, err := url.Parse(n.DashboardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				e.add(fn.Child("dashboardURL").String(), "%s is not an http(s) URL", v1alpha1.QuoteInput(n.DashboardURL))
			}
		}
	}
}

func validateEvents(e *errs, fn *field.Path, n v1alpha1.Notification) {
	if len(n.Events) == 0 {
		e.add(fn.Child("events").String(), "required: the events to send, of %s", strings.Join(v1alpha1.NotificationEvents, ", "))
	}
	seen := map[string]bool{}
	for j, ev := range n.Events {
		switch {
		case !slices.Contains(v1alpha1.NotificationEvents, ev):
			e.add(fn.Child("events").Index(j).String(), "unknown event %s (known: %s)", v1alpha1.QuoteInput(ev), strings.Join(v1alpha1.NotificationEvents, ", "))
		case seen[ev]:
			e.add(fn.Child("events").Index(j).String(), "%s listed twice", ev)
		}
		seen[ev] = true
	}
	switch {
	case seen[v1alpha1.EventLate] && n.LateAfter == nil:
		e.add(fn.Child("lateAfter").String(), "required with Late in events: how long past its scheduled time a waiting run fires Late, e.g. 10m")
	case !seen[v1alpha1.EventLate] && n.LateAfter != nil:
		e.add(fn.Child("lateAfter").String(), "set, but events does not list Late")
	case n.LateAfter != nil && n.LateAfter.Duration <= 0:
		e.add(fn.Child("lateAfter").String(), "must be a positive duration such as 10m")
	}
}

func validateSLA(e *errs, fp *field.Path, s *v1alpha1.SLA) {
	if s == nil {
		return
	}
	if s.MaxDuration == nil && s.MaxLateness == nil {
		e.add(fp.String(), "set maxDuration, maxLateness or both")
	}
	for _, b := range []struct {
		name string
		d    *metav1.Duration
	}{{"maxDuration", s.MaxDuration}, {"maxLateness", s.MaxLateness}} {
		if b.d != nil && b.d.Duration <= 0 {
			e.add(fp.Child(b.name).String(), "must be a positive duration such as 30m")
		}
	}
}
