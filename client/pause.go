package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Paused is what a pause or resume did.
type Paused struct {
	// What is the kind and name: "queue kubernetes/default".
	What string
	// StaysPaused says a resumed object is still paused by the project
	// file (paused: true), which only a render and apply can change.
	StaysPaused bool
}

// SetPaused pauses (or resumes) a deployment, queue or pool: the
// annotation `kubectl flows pause` sets on its config ConfigMap.
func (c *Client) SetPaused(ctx context.Context, in *project.Installed, kind, name string, pause bool) (Paused, error) {
	t, err := c.pauseTarget(in, kind, name)
	if err != nil {
		return Paused{}, err
	}
	if err := c.annotate(ctx, t.configMap, t.key, func(cur string) string { return t.set(cur, pause) }); err != nil {
		return Paused{}, err
	}
	return Paused{What: t.what, StaysPaused: !pause && t.byProject}, nil
}

// pauseTarget is the annotation that pauses one object.
type pauseTarget struct {
	what, configMap, key string
	byProject            bool
	// set is the annotation's new value from its current one.
	set func(cur string, pause bool) string
}

func (c *Client) pauseTarget(in *project.Installed, kind, name string) (pauseTarget, error) {
	switch kind {
	case "deployment":
		d, err := c.Deployment(in, name)
		if err != nil {
			return pauseTarget{}, err
		}
		return pauseTarget{"deployment " + d.FullName(), d.ConfigMap.Name, v1alpha1.AnnotationPaused, d.Paused, pauseFlag}, nil
	case "pool":
		p, err := c.Pool(in, name)
		if err != nil {
			return pauseTarget{}, err
		}
		return pauseTarget{"pool " + p.Name, p.ConfigMap.Name, v1alpha1.AnnotationPaused, p.Paused, pauseFlag}, nil
	case "queue":
		p, q, err := c.Queue(in, name)
		if err != nil {
			return pauseTarget{}, err
		}
		return pauseTarget{"queue " + p.Name + "/" + q, p.ConfigMap.Name, v1alpha1.AnnotationPausedQueues, p.Queue(q).Paused, pauseMember(q)}, nil
	}
	return pauseTarget{}, fmt.Errorf("pause works on a deployment, queue or pool, not %q", kind)
}

// pauseFlag is the value of v1alpha1.AnnotationPaused ("" removes it).
func pauseFlag(_ string, pause bool) string {
	if pause {
		return "true"
	}
	return ""
}

// pauseMember adds or removes a queue from the pool's list of paused
// queues, keeping the others.
func pauseMember(queue string) func(cur string, pause bool) string {
	return func(cur string, pause bool) string {
		set := map[string]bool{}
		for _, q := range v1alpha1.SplitList(cur) {
			set[q] = true
		}
		set[queue] = pause
		var qs []string
		for q, on := range set {
			if on {
				qs = append(qs, q)
			}
		}
		sort.Strings(qs)
		return strings.Join(qs, ",")
	}
}

// annotate sets (or, for "", removes) one annotation of a config
// ConfigMap from its current value, retrying on conflict: two people
// pausing two queues of one pool at once both win.
func (c *Client) annotate(ctx context.Context, cmName, key string, value func(cur string) string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := c.kube.CoreV1().ConfigMaps(c.ns).Get(ctx, cmName, metav1.GetOptions{})
		if err != nil {
			return c.Explain(err, "get", "configmaps")
		}
		cur, had := cm.Annotations[key]
		v := value(cur)
		if v == cur && (had || v == "") {
			return nil
		}
		var av any = v
		if v == "" {
			av = nil // merge patch: remove
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": cm.ResourceVersion,
			"annotations":     map[string]any{key: av},
		}})
		_, err = c.kube.CoreV1().ConfigMaps(c.ns).Patch(ctx, cmName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		return c.Explain(err, "patch", "configmaps")
	})
}
