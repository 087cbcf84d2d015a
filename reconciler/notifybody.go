package reconciler

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// newNotification builds the body of one event of a run.
func newNotification(ns, run string, uid types.UID, deployment string, st *v1alpha1.RunStatus, target *v1alpha1.Notification, event string, sla *v1alpha1.SLA) *v1alpha1.NotificationBody {
	n := &v1alpha1.NotificationBody{
		Key: v1alpha1.NotificationKey(uid, event), Event: event, Namespace: ns, Run: run, RunUID: uid,
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
func eventSummary(st *v1alpha1.RunStatus, target *v1alpha1.Notification, event string, sla *v1alpha1.SLA) string {
	bound := func(d *metav1.Duration) string {
		if d == nil {
			return ""
		}
		return d.Duration.String()
	}
	switch event {
	case v1alpha1.EventLate:
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

// notificationBody encodes a notification in a target's format.
func notificationBody(n *v1alpha1.NotificationBody, format string) ([]byte, error) {
	if format != v1alpha1.NotificationFormatSlack {
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

// notifyBackoff spaces the tries of one delivery: doubling from a second
// up to half a minute, for at most the reconciler's
// --notification-retry-for.
const (
	notifyBackoffBase = time.Second
	notifyBackoffMax  = 30 * time.Second
)
