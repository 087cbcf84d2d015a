package project

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Notification sends events of runs to a webhook. The webhook's URL and
// the key that signs each body come from a Secret the operator creates in
// the project namespace: never from a run request, so whoever may submit
// runs cannot point notifications anywhere.
type Notification struct {
	// Name names the target in run statuses, logs and metrics.
	Name string `json:"name"`
	// Secret is the Secret in the project namespace holding the webhook's
	// url and signing-key (NotificationSecretURLKey,
	// NotificationSecretSigningKey). Render lets the reconciler get it by
	// name and nothing else.
	Secret string `json:"secret"`
	// Format is the body: json (NotificationFormatJSON, the default) or
	// slack (Slack's incoming-webhook body, which Mattermost and others
	// accept too).
	Format string `json:"format,omitempty"`
	// Events lists the events sent: Failed, Crashed, Rejected, TimedOut, Late
	// and SLA.
	Events []string `json:"events"`
	// LateAfter is how long past its scheduled time a run still waiting
	// for its slots fires Late; required with Late in Events.
	LateAfter *metav1.Duration `json:"lateAfter,omitempty"`
	// DashboardURL is where `kubectl flows dashboard` (or a proxy to it)
	// is reached; each body links the run's page under it.
	DashboardURL string `json:"dashboardURL,omitempty"`
}

// SLA bounds a deployment's runs: a run that breaches a bound fires the
// SLA event once per bound.
type SLA struct {
	// MaxDuration bounds the time from a run's start (its pod running) to
	// its end.
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
	// MaxLateness bounds the time from a run's scheduled time to its
	// start: a run still waiting for its slots, or held Pending with a
	// pod that does not start, breaches it.
	MaxLateness *metav1.Duration `json:"maxLateness,omitempty"`
}

// Notification events: the run states worth a person's notice, a run
// that timed out, a run Late beyond a target's LateAfter, and a breach of
// its deployment's SLA.
const (
	EventFailed   = "Failed"
	EventCrashed  = "Crashed"
	EventRejected = "Rejected"
	EventTimedOut = "TimedOut"
	EventLate     = "Late"
	EventSLA      = "SLA"
)

// NotificationEvents are the events a target may list in Events.
var NotificationEvents = []string{EventFailed, EventCrashed, EventRejected, EventTimedOut, EventLate, EventSLA}

// Notification body formats.
const (
	NotificationFormatJSON  = "json"
	NotificationFormatSlack = "slack"
)

// The keys of a notification target's Secret.
const (
	NotificationSecretURLKey     = "url"
	NotificationSecretSigningKey = "signing-key"
)

// NotificationRecord is a notification the reconciler owes a target for
// an event of a run, and what became of it. It lives in the run's status,
// which only the reconciler writes and signs, so a submitter cannot mark
// one delivered in advance: a forged status is not the reconciler's, and
// its first write replaces it.
type NotificationRecord struct {
	Target string `json:"target"`
	// Event is the event fired: Failed, Crashed, Rejected, TimedOut,
	// Late, SLA/maxDuration or SLA/maxLateness.
	Event string `json:"event"`
	// Delivered is when the target answered 2xx.
	Delivered *metav1.Time `json:"delivered,omitempty"`
	// GaveUp is when the reconciler stopped retrying, with the last error.
	GaveUp *metav1.Time `json:"gaveUp,omitempty"`
	Error  string       `json:"error,omitempty"`
}

// Done reports whether nothing more is owed for the record.
func (r *NotificationRecord) Done() bool { return r.Delivered != nil || r.GaveUp != nil }

// Targets is the list of notification targets a deployment's runs go to:
// the project's, then the deployment's own. Render writes it into the
// deployment's config, so the reconciler reads one list per deployment.
func Targets(p *Project, d *Deployment) []Notification {
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
func validateNotifications(e *errs, fp *field.Path, list []Notification, taken map[string]bool) {
	for i, n := range list {
		fn := fp.Index(i)
		dnsLabel(e, fn.Child("name").String(), n.Name)
		if taken[n.Name] {
			e.add(fn.Child("name").String(), "notification target %q is declared twice (a deployment's targets add to the project's)", n.Name)
		}
		taken[n.Name] = true
		if n.Secret == "" {
			e.add(fn.Child("secret").String(), "required: the Secret in the project namespace holding the webhook's %s and %s", NotificationSecretURLKey, NotificationSecretSigningKey)
		} else if errs := validation.IsDNS1123Subdomain(n.Secret); len(errs) > 0 {
			e.add(fn.Child("secret").String(), "%s is not a Secret's name: %s", quoteInput(n.Secret), strings.Join(errs, "; "))
		}
		switch n.Format {
		case "", NotificationFormatJSON, NotificationFormatSlack:
		default:
			e.add(fn.Child("format").String(), "must be %s or %s, got %s", NotificationFormatJSON, NotificationFormatSlack, quoteInput(n.Format))
		}
		validateEvents(e, fn, n)
		if n.DashboardURL != "" {
			if u, err := url.Parse(n.DashboardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				e.add(fn.Child("dashboardURL").String(), "%s is not an http(s) URL", quoteInput(n.DashboardURL))
			}
		}
	}
}

func validateEvents(e *errs, fn *field.Path, n Notification) {
	if len(n.Events) == 0 {
		e.add(fn.Child("events").String(), "required: the events to send, of %s", strings.Join(NotificationEvents, ", "))
	}
	seen := map[string]bool{}
	for j, ev := range n.Events {
		switch {
		case !slices.Contains(NotificationEvents, ev):
			e.add(fn.Child("events").Index(j).String(), "unknown event %s (known: %s)", quoteInput(ev), strings.Join(NotificationEvents, ", "))
		case seen[ev]:
			e.add(fn.Child("events").Index(j).String(), "%s listed twice", ev)
		}
		seen[ev] = true
	}
	switch {
	case seen[EventLate] && n.LateAfter == nil:
		e.add(fn.Child("lateAfter").String(), "required with Late in events: how long past its scheduled time a waiting run fires Late, e.g. 10m")
	case !seen[EventLate] && n.LateAfter != nil:
		e.add(fn.Child("lateAfter").String(), "set, but events does not list Late")
	case n.LateAfter != nil && n.LateAfter.Duration <= 0:
		e.add(fn.Child("lateAfter").String(), "must be a positive duration such as 10m")
	}
}

func validateSLA(e *errs, fp *field.Path, s *SLA) {
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
