package reconciler

import (
	"context"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// catchUpTimeout bounds how long a new leader waits for its cache.
const catchUpTimeout = 30 * time.Second

// catchUp holds a new leader's first pass until its cache holds every run
// and Job as a consistent read from the API server shows them. An
// informer's first list may be served from a watch cache a little behind,
// and a slot counted from a stale run would be handed out twice. Before
// that it waits StartupGrace, so that a write a killed predecessor had on
// the wire has landed by the time of the read.
func (c *Controller) catchUp(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(c.opts.StartupGrace):
	}
	runs, err := c.client.CoreV1().ConfigMaps(c.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRun + "=true"})
	if err != nil {
		return err
	}
	jobs, err := c.client.BatchV1().Jobs(c.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunName})
	if err != nil {
		return err
	}
	want := map[string]string{}
	for i := range runs.Items {
		want["run/"+runs.Items[i].Name] = runs.Items[i].ResourceVersion
	}
	for i := range jobs.Items {
		want["job/"+jobs.Items[i].Name] = jobs.Items[i].ResourceVersion
	}
	deadline := time.Now().Add(catchUpTimeout)
	for {
		for key, rv := range want {
			var cached string
			if name := key[4:]; key[:4] == "run/" {
				if cm, err := c.runs.Get(name); err == nil {
					cached = cm.ResourceVersion
				}
			} else if job, err := c.jobs.Get(name); err == nil {
				cached = job.ResourceVersion
			}
			if cached != "" && !olderRV(cached, rv) {
				delete(want, key)
			}
		}
		if len(want) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			c.log.Info("cache has not caught up; going on", "behind", len(want))
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// olderRV compares resourceVersions. They are opaque by contract but are
// etcd revisions in practice; when they do not parse, only equality counts.
func olderRV(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != b
	}
	return x < y
}
