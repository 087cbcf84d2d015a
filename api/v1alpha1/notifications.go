package v1alpha1

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Notifications: what a deployment's config says about them (Notification,
// SLA), what the reconciler records of them in a run's status
// (NotificationRecord), and what a webhook receives (NotificationBody and
// its headers).

// Notification sends events of runs to a webhook. The webhook's URL and
// the key that signs each body come from a Secret the operator creates in
// the project namespace (NotificationSecretURLKey,
// NotificationSecretSigningKey), never from a run request, so whoever may
// submit runs cannot point notifications anywhere.
type Notification struct {
	// Name names the target in run statuses, logs and metrics.
	Name string `json:"name"`
	// Secret is the Secret in the project namespace holding the webhook's
	// url and signing-key. Render lets the reconciler get it by name and
	// nothing else.
	Secret string `json:"secret"`
	// Format is the body: json (NotificationFormatJSON, the default) or
	// slack (Slack's incoming-webhook body, which Mattermost and others
	// accept too).
	Format string `json:"format,omitempty"`
	// Events lists the events sent, of NotificationEvents.
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
// its deployment's SLA. A breach is sent as EventSLA/maxDuration or
// EventSLA/maxLateness.
const (
	EventFailed   = "Failed"
	EventCrashed  = "Crashed"
	EventRejected = "Rejected"
	EventTimedOut = "TimedOut"
	EventLate     = "Late"
	EventSLA      = "SLA"
)

// NotificationEvents are the events a target may list.
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

// The headers of a notification. A receiver deduplicates by
// HeaderIdempotencyKey (NotificationKey: the same for every try, from any
// replica, after any failover) and checks HeaderSignature
// (SignNotification), as GitHub's webhooks sign theirs.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Flows-Signature-256"
	HeaderEvent          = "X-Flows-Event"
)

// NotificationBody is the body of a notification in format json.
type NotificationBody struct {
	// Key is the idempotency key, as in HeaderIdempotencyKey.
	Key   string `json:"key"`
	Event string `json:"event"`
	// Summary says it in one line, as the Slack format shows it.
	Summary    string       `json:"summary"`
	Namespace  string       `json:"namespace"`
	Run        string       `json:"run"`
	RunUID     types.UID    `json:"runUID"`
	Deployment string       `json:"deployment"`
	State      string       `json:"state"`
	Reason     string       `json:"reason,omitempty"`
	Message    string       `json:"message,omitempty"`
	Scheduled  *metav1.Time `json:"scheduledTime,omitempty"`
	Start      *metav1.Time `json:"startTime,omitempty"`
	End        *metav1.Time `json:"endTime,omitempty"`
	// LogTail is the end of the pod's log the reconciler keeps for a
	// Failed or Crashed run (empty when the pod left none).
	LogTail string `json:"logTail,omitempty"`
	// Link is the run's page on the dashboard, when the target names one.
	Link string `json:"link,omitempty"`
}

// NotificationKey is a notification's idempotency key: the run's UID and
// the event.
func NotificationKey(uid types.UID, event string) string { return string(uid) + "/" + event }

// SignNotification is HeaderSignature's value for a body: "sha256=" and
// the hex HMAC-SHA256 of the body under the target Secret's signing-key.
func SignNotification(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyNotification checks a notification's signature header against
// its body, as a receiver does.
func VerifyNotification(key, body []byte, header string) bool {
	return hmac.Equal([]byte(SignNotification(key, body)), []byte(header))
}
