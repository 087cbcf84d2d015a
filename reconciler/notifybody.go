package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// The headers of a notification. A receiver deduplicates by
// HeaderIdempotencyKey (the run's UID and the event: the same for every
// retry and after a failover) and checks HeaderSignature, the hex
// HMAC-SHA256 of the body under the target Secret's signing-key, as
// GitHub's webhooks sign theirs.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Flows-Signature-256"
	HeaderEvent          = "X-Flows-Event"
)

// Notification is the JSON body of a notification (format json).
type Notification struct {
	// Key is the idempotency key: runUID/event.
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

// idempotencyKey is a notification's key: the same for every try, from any
// replica.
func idempotencyKey(uid types.UID, event string) string { return string(uid) + "/" + event }

// newNotification builds the body of one event of a run.
func newNotification(ns, run string, uid types.UID, deployment string, st *project.RunStatus, target *project.Notification, event string, sla *project.SLA) *Notification {
	n := &Notification{
		Key: idempotencyKey(uid, event), Event: event, Namespace: ns, Run: run, RunUID: uid,
		Deployment: deployment, State: string(st.State), Reason: st.Reason, Message: st.Message,
		Scheduled: st.ScheduledTime, Start: st.StartTime, End: st.EndTime, LogTail: st.LogTail,
	}
	if target.DashboardURL != "" {
		n.Link = strings.TrimRight(target.DashboardURL, "/") + "/runs/" + url.PathEscape(run)
	}
	n.Summary = fmt.Sprintf("run %s of %s: %s", run, deployment, eventSummary(st, target, event, sla))
	return n
}

// eventSummary says what happened, in words.
func eventSummary(st *project.RunStatus, target *project.Notification, event string, sla *project.SLA) string {
	bound := func(d *metav1.Duration) string {
		if d == nil {
			return ""
		}
		return d.Duration.String()
	}
	switch event {
	case project.EventLate:
		return fmt.Sprintf("Late: still waiting %s past its scheduled time", bound(target.LateAfter))
	case eventSLAMaxLateness:
		return fmt.Sprintf("SLA breached: not started within maxLateness %s of its scheduled time", bound(sla.MaxLateness))
	case eventSLAMaxDuration:
		return fmt.Sprintf("SLA breached: running longer than maxDuration %s", bound(sla.MaxDuration))
	}
	s := event
	if st.Reason != "" {
		s += " (" + st.Reason + ")"
	}
	if st.Message != "" {
		s += ": " + st.Message
	}
	return s
}

// body encodes a notification in a target's format.
func (n *Notification) body(format string) ([]byte, error) {
	if format != project.NotificationFormatSlack {
		return json.Marshal(n)
	}
	text := "*" + slackEscape(n.Summary) + "*"
	if n.LogTail != "" {
		text += "\n```" + slackEscape(n.LogTail) + "```"
	}
	if n.Link != "" {
		text += "\n<" + n.Link + "|Open " + slackEscape(n.Run) + " in the dashboard>"
	}
	return json.Marshal(map[string]string{"text": text})
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so a message cannot forge a link or a mention.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// signBody is the signature header's value for a body.
func signBody(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a notification's signature header against its
// body, as a receiver does.
func VerifySignature(key, body []byte, header string) bool {
	return hmac.Equal([]byte(signBody(key, body)), []byte(header))
}

// notifyBackoff spaces the tries of one delivery: doubling from a second
// up to half a minute, for at most the reconciler's
// --notification-retry-for.
const (
	notifyBackoffBase = time.Second
	notifyBackoffMax  = 30 * time.Second
)
