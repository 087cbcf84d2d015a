package reconciler

import (
	"context"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
)

// Retention when neither the pool nor the project sets one.
const (
	DefaultRetentionCount = 100
	DefaultRetentionAge   = 7 * 24 * time.Hour
)

// prune deletes finished runs past their pool's retention, per deployment:
// beyond the newest Count, or ended longer ago than Age. Their Jobs go with
// them through the owner reference.
func (c *Controller) prune(ctx context.Context) {
	cms, err := c.configs.List(labels.Everything())
	if err != nil {
		return
	}
	cfg := c.cfgCache.build(cms)
	runs, err := c.runs.List(labels.Everything())
	if err != nil {
		return
	}
	type finished struct {
		cm  *corev1.ConfigMap
		end time.Time
	}
	byDeployment := map[string][]finished{}
	pools := map[string]string{}
	for _, cm := range runs {
		// Only runs the reconciler ended: a forged final state is not
		// its, and neither is a forged end time.
		if !c.state.stateOf(cm).Final() {
			continue
		}
		st := planner.StatusOf(cm)
		key := cm.Labels[v1alpha1.LabelDeployment]
		end := cm.CreationTimestamp.Time
		if st.EndTime != nil {
			end = st.EndTime.Time
		}
		byDeployment[key] = append(byDeployment[key], finished{cm, end})
		if st.Pool != "" {
			pools[key] = st.Pool
		}
	}
	now := c.opts.Now()
	for key, list := range byDeployment {
		count, age := int32(DefaultRetentionCount), DefaultRetentionAge
		if p := cfg.Pools[pools[key]]; p != nil && p.RunRetention != nil {
			if p.RunRetention.Count != nil {
				count = *p.RunRetention.Count
			}
			if p.RunRetention.Age != nil {
				age = p.RunRetention.Age.Duration
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].end.After(list[j].end) })
		for i, f := range list {
			if int32(i) < count && now.Sub(f.end) <= age {
				continue
			}
			uid := f.cm.UID
			err := c.client.CoreV1().ConfigMaps(c.opts.Namespace).Delete(ctx, f.cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				c.log.Error("pruning run", "run", f.cm.Name, "err", err)
			}
		}
	}
}
