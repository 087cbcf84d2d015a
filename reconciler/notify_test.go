package reconciler

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// webhook is a receiver on 127.0.0.1 answering what the test says.
type webhook struct {
	*httptest.Server
	mu     sync.Mutex
	answer int
	got    []*http.Request
	bodies [][]byte
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{answer: http.StatusOK}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.got, w.bodies = append(w.got, r), append(w.bodies, body)
		rw.WriteHeader(w.answer)
	}))
	t.Cleanup(w.Close)
	return w
}

// notifying is a fixture whose deployment f/a notifies target hook of
// Failed runs, through Secret hook-secret pointing at the webhook, with
// runs that have failed, their final status in the cache.
func notifying(t *testing.T, w *webhook, runs ...string) *fixture {
	t.Helper()
	f := newFixture(t)
	f.c.notify.client = w.Client()
	f.c.notify.start()
	t.Cleanup(func() { f.c.notify.looks.ShutDown(); f.c.notify.sends.ShutDown() })
	if err := f.client.Tracker().Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook-secret", Namespace: testNS},
		Data: map[string][]byte{"url": []byte(w.URL + "/hook"), "signing-key": []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	f.admit(deployment("f", "a", "p", func(d *v1alpha1.Deployment) {
		d.Notifications = []v1alpha1.Notification{{Name: "hook", Secret: "hook-secret", Events: []string{"Failed"}}}
	}), runs...)
	for _, r := range runs {
		f.add(f.pod(r, r+"-1", corev1.PodFailed))
		f.updateJob(r, func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: metav1.Time{Time: testNow}}}
		})
		f.expect(r+" failed", f.sync(r), "get pods/log", "patch configmaps "+r+" Failed")
		f.catchUp(r)
	}
	return f
}

func delivered(run string) delivery {
	return delivery{run: types.NamespacedName{Namespace: testNS, Name: run}, uid: types.UID("uid-" + run), owedEvent: owedEvent{"hook", "Failed"}}
}

// TestNotifierRecordsAndDelivers: a run's final status is written with the
// notification it owes; a look finds it owed; a refused try is retried;
// a delivery carries the key and a signature of its body and is recorded
// in the status, after which nothing is owed or sent again.
func TestNotifierRecordsAndDelivers(t *testing.T) {
	w := newWebhook(t)
	f := notifying(t, w, "r")
	st := f.status("r")
	if len(st.Notifications) != 1 || st.Notifications[0] != (v1alpha1.NotificationRecord{Target: "hook", Event: "Failed"}) {
		t.Fatalf("the final status owes %+v", st.Notifications)
	}

	f.c.notify.looks.Add("r")
	f.c.notify.processLook(t.Context())
	if n := f.c.notify.sends.Len(); n != 1 {
		t.Fatalf("a look queued %d deliveries", n)
	}

	w.answer = http.StatusServiceUnavailable
	f.client.ClearActions()
	if retry, err := f.c.notify.send(t.Context(), delivered("r")); !retry || err == nil {
		t.Errorf("a refused try: retry %v, %v", retry, err)
	}
	f.expect("a refused try", f.actions(), "get secrets hook-secret")

	w.answer = http.StatusOK
	f.client.ClearActions()
	if retry, err := f.c.notify.send(t.Context(), delivered("r")); retry || err != nil {
		t.Errorf("a delivery: retry %v, %v", retry, err)
	}
	f.expect("a delivery", f.actions(), "get secrets hook-secret", "patch configmaps r Failed")
	req, body := w.got[len(w.got)-1], w.bodies[len(w.bodies)-1]
	if k := req.Header.Get(v1alpha1.HeaderIdempotencyKey); k != "uid-r/Failed" {
		t.Errorf("key %q", k)
	}
	if !v1alpha1.VerifyNotification([]byte("k"), body, req.Header.Get(v1alpha1.HeaderSignature)) {
		t.Errorf("the signature does not verify")
	}
	if !strings.Contains(string(body), `"run":"r"`) || !strings.Contains(string(body), `"logTail":"fake logs"`) {
		t.Errorf("body %s", body)
	}
	if r := f.status("r").Notifications; len(r) != 1 || r[0].Delivered == nil {
		t.Errorf("recorded %+v", r)
	}

	f.catchUp("r")
	cm, err := f.c.runs.Get("r")
	if err != nil {
		t.Fatal(err)
	}
	targets := []v1alpha1.Notification{{Name: "hook", Events: []string{"Failed"}}}
	if owed, _ := owedNotifications(f.c.statusForNotify(cm), targets, nil, f.now); len(owed) != 0 {
		t.Errorf("still owed: %v", owed)
	}
	f.client.ClearActions()
	tries := len(w.got)
	if retry, _ := f.c.notify.send(t.Context(), delivered("r")); retry || len(w.got) != tries {
		t.Errorf("sent again once recorded (retry %v)", retry)
	}
	f.expect("once recorded", f.actions())
}

// TestNotifierGivesUp: past --notification-retry-for, a delivery is given
// up and recorded so, with the error, and not tried again.
func TestNotifierGivesUp(t *testing.T) {
	w := newWebhook(t)
	w.answer = http.StatusInternalServerError
	f := notifying(t, w, "r")
	if retry, _ := f.c.notify.send(t.Context(), delivered("r")); !retry {
		t.Fatal("the first refused try is not retried")
	}
	f.now = f.now.Add(time.Hour + time.Second)
	if retry, err := f.c.notify.send(t.Context(), delivered("r")); retry || err != nil {
		t.Errorf("past the retry time: retry %v, %v", retry, err)
	}
	r := f.status("r").Notifications
	if len(r) != 1 || r[0].GaveUp == nil || r[0].Delivered != nil || !strings.Contains(r[0].Error, "500") {
		t.Fatalf("recorded %+v", r)
	}
	f.catchUp("r")
	tries := len(w.got)
	if retry, _ := f.c.notify.send(t.Context(), delivered("r")); retry || len(w.got) != tries {
		t.Errorf("tried again after giving up")
	}
}

// TestNotificationRecordsOutliveRewrites: a status a dispatch pass writes
// afresh (here Rejected, after config changed) keeps the records of the
// run's earlier notifications, and adds what its end owes.
func TestNotificationRecordsOutliveRewrites(t *testing.T) {
	w := newWebhook(t)
	f := newFixture(t)
	f.c.notify.client = w.Client()
	f.c.notify.start()
	t.Cleanup(func() { f.c.notify.looks.ShutDown(); f.c.notify.sends.ShutDown() })
	config := func(rv string, edit func(*v1alpha1.Deployment)) []runtime.Object {
		d := deployment("f", "a", "p", func(d *v1alpha1.Deployment) {
			d.Notifications = []v1alpha1.Notification{{Name: "hook", Secret: "hook-secret", Events: []string{"Late", "Rejected"},
				LateAfter: &metav1.Duration{Duration: time.Minute}}}
			edit(d)
		})
		objs := configMaps(t, []v1alpha1.Pool{pool("p", nil)}, []v1alpha1.Deployment{d}, nil)
		for _, o := range objs {
			o.(*corev1.ConfigMap).ResourceVersion = rv
		}
		return objs
	}
	f.add(config("1", func(d *v1alpha1.Deployment) { d.Paused = true })...)
	if err := f.client.Tracker().Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook-secret", Namespace: testNS},
		Data: map[string][]byte{"url": []byte(w.URL), "signing-key": []byte("k")}}); err != nil {
		t.Fatal(err)
	}
	f.add(newRun(t, "r", 2*time.Minute, v1alpha1.RunRequest{Deployment: "f/a", Parameters: map[string]any{"n": 1}}))
	f.expect("paused", f.pass(), "patch configmaps r Scheduled")
	f.catchUp("r")
	late := delivery{run: types.NamespacedName{Namespace: testNS, Name: "r"}, uid: "uid-r", owedEvent: owedEvent{"hook", "Late"}}
	if retry, err := f.c.notify.send(t.Context(), late); retry || err != nil {
		t.Fatalf("Late: retry %v, %v", retry, err)
	}
	f.catchUp("r")

	// Unpaused, with a schema the run's parameters fail.
	f.cache(config("2", func(d *v1alpha1.Deployment) {
		d.ParameterSchema = map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "string"}}}
	})...)
	f.expect("rejected", f.pass(), "patch configmaps r Rejected")
	st := f.status("r")
	if len(st.Notifications) != 2 || st.Notifications[0].Event != "Late" || st.Notifications[0].Delivered == nil ||
		st.Notifications[1] != (v1alpha1.NotificationRecord{Target: "hook", Event: "Rejected"}) {
		t.Errorf("records %+v", st.Notifications)
	}
}
