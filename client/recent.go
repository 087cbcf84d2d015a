package client

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/pager"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// RecentOptions bound what RecentSnapshot reads of the finished runs
// retention keeps (tens of thousands, each a ConfigMap): every run not
// finished is always read, as positions and slots are worked out from them.
type RecentOptions struct {
	// Finished is how many finished runs to read, the newest by their
	// end; negative reads every run.
	Finished int
	// Selector narrows the finished runs read (server side): a
	// deployment's, a state's.
	Selector labels.Selector
	// ChunkSize pages each list, as kubectl's --chunk-size; 0 reads each
	// in one response.
	ChunkSize int64
	// Installed is the config, when the caller has read it already.
	Installed *project.Installed
}

// firstWindow is how far back the newest finished runs are first looked
// for; the window grows until it holds enough.
const firstWindow = time.Minute

// lastWindow is the widest window looked through by end time; past it,
// the finished runs with an end label are read whatever their end.
const lastWindow = 366 * 24 * time.Hour

// RecentSnapshot is Snapshot reading every run not finished and only the
// newest finished runs, selected on the server by the state and end-time
// labels the reconciler writes with a final state (LabelState,
// LabelEnded). Labels are a selection hint only: each run read is shown by
// its status, as Snapshot shows it, and a run whose status does not say it
// ended is kept whatever its labels say.
func (c *Client) RecentSnapshot(ctx context.Context, o RecentOptions) (*Snapshot, error) {
	in, err := o.Installed, error(nil)
	if in == nil {
		if in, err = c.Installed(ctx); err != nil {
			return nil, err
		}
	}
	var cancels CancelRequests
	var cancelErr error
	var wg sync.WaitGroup
	wg.Go(func() { cancels, cancelErr = c.ListCancelRequests(ctx) })
	var items []corev1.ConfigMap
	if o.Finished < 0 {
		items, err = c.pagedList(ctx, v1alpha1.LabelRun+"=true", o.ChunkSize)
	} else {
		items, err = c.recentRuns(ctx, in, o)
	}
	wg.Wait()
	if err == nil {
		err = cancelErr
	}
	if err != nil {
		return nil, err
	}
	return c.withStartedFromAPI(ctx, Assemble(c.ns, c.now(), in, ReadRuns(items), cancels)), nil
}

// recentRuns reads the runs not finished, the newest o.Finished finished
// ones (with every one that ended within a tag's start-rate horizon, whose
// starts the rate is replayed from), those finished with no end label (an
// older reconciler's), and the parents the runs not finished name.
func (c *Client) recentRuns(ctx context.Context, in *project.Installed, o RecentOptions) ([]corev1.ConfigMap, error) {
	finals := make([]string, len(v1alpha1.FinalStates))
	for i, s := range v1alpha1.FinalStates {
		finals[i] = string(s)
	}
	run := v1alpha1.LabelRun + "=true,"
	inFinal := v1alpha1.LabelState + " in (" + strings.Join(finals, ",") + ")"
	finished := run + inFinal
	if o.Selector != nil && !o.Selector.Empty() {
		finished += "," + o.Selector.String()
	}
	// Three lists, each of its own runs: made at once, as each waits on
	// the API server.
	var active, unlabelled, newest []corev1.ConfigMap
	var errs [3]error
	var wg sync.WaitGroup
	wg.Go(func() {
		active, errs[0] = c.pagedList(ctx, run+v1alpha1.LabelState+" notin ("+strings.Join(finals, ",")+")", o.ChunkSize)
	})
	wg.Go(func() { unlabelled, errs[1] = c.pagedList(ctx, finished+",!"+v1alpha1.LabelEnded, o.ChunkSize) })
	wg.Go(func() { newest, errs[2] = c.newestFinished(ctx, finished, rateHorizon(in), o) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	items := append(append(active, unlabelled...), newest...)
	return append(items, c.missingParents(ctx, items)...), nil
}

// newestFinished reads the finished runs whose end label is within a
// window back from now, growing the window (by what the last one held)
// until it holds o.Finished, then keeps the newest o.Finished by the end
// their status says, and every one within the rate horizon.
func (c *Client) newestFinished(ctx context.Context, selector string, horizon time.Duration, o RecentOptions) ([]corev1.ConfigMap, error) {
	now := c.now()
	window := max(firstWindow, horizon)
	var items []corev1.ConfigMap
	for {
		sel := selector + "," + v1alpha1.LabelEnded
		if window <= lastWindow {
			sel += ">" + v1alpha1.EndedLabelValue(now.Add(-window))
		}
		var err error
		if items, err = c.pagedList(ctx, sel, o.ChunkSize); err != nil {
			return nil, err
		}
		if len(items) >= o.Finished || window > lastWindow {
			break
		}
		grow := 16.0
		if len(items) > 0 {
			grow = min(grow, 1.5*float64(o.Finished)/float64(len(items)))
		}
		window = time.Duration(float64(window) * max(grow, 2))
	}
	return keepNewest(items, o.Finished, now.Add(-horizon)), nil
}

// keepNewest keeps the n runs that ended last by their status, those that
// ended after since, and those whose status does not say they ended.
func keepNewest(items []corev1.ConfigMap, n int, since time.Time) []corev1.ConfigMap {
	type ended struct {
		cm  corev1.ConfigMap
		end time.Time
		cut bool
	}
	list := make([]ended, len(items))
	for i := range items {
		r := ReadRun(&items[i])
		list[i] = ended{cm: items[i], end: r.ConfigMap.CreationTimestamp.Time, cut: r.State().Final()}
		if r.Status.EndTime != nil {
			list[i].end = r.Status.EndTime.Time
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].end.After(list[j].end) })
	out := make([]corev1.ConfigMap, 0, min(n, len(list)))
	kept := 0
	for _, e := range list {
		switch {
		case !e.cut:
			out = append(out, e.cm)
		case kept < n || e.end.After(since):
			out = append(out, e.cm)
			kept++
		}
	}
	return out
}

// rateHorizon is how far back a tag's start rate is replayed from, the
// longest of the installed limits'; 0 without rates.
func rateHorizon(in *project.Installed) time.Duration {
	var h time.Duration
	for _, l := range in.TagRates {
		if r, err := v1alpha1.ParseRate(l.Rate); err == nil {
			h = max(h, project.RateHorizon(r, l.BurstOf()))
		}
	}
	return h
}

// missingParents reads the runs named as parents by the runs not finished
// among items that items lack: the dispatch rule checks a child against
// its parent.
func (c *Client) missingParents(ctx context.Context, items []corev1.ConfigMap) []corev1.ConfigMap {
	have := make(map[string]bool, len(items))
	for i := range items {
		have[items[i].Name] = true
	}
	var out []corev1.ConfigMap
	for i := range items {
		r := ReadRun(&items[i])
		if r.State().Final() || r.Request == nil || r.Request.Parent == nil || have[r.Request.Parent.Run] {
			continue
		}
		name := r.Request.Parent.Run
		have[name] = true
		cm, err := c.kube.CoreV1().ConfigMaps(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && cm.Labels[v1alpha1.LabelRun] == "true" {
			out = append(out, *cm)
		}
	}
	return out
}

// pagedList lists the namespace's ConfigMaps matching a selector, chunk
// at a time (kubectl's --chunk-size); 0 in one response.
func (c *Client) pagedList(ctx context.Context, selector string, chunk int64) ([]corev1.ConfigMap, error) {
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) {
		return c.kube.CoreV1().ConfigMaps(c.ns).List(ctx, opts)
	}))
	p.PageSize = chunk
	var out []corev1.ConfigMap
	err := p.EachListItem(ctx, metav1.ListOptions{LabelSelector: selector}, func(obj runtime.Object) error {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return fmt.Errorf("listing configmaps: got %T", obj)
		}
		out = append(out, *cm)
		return nil
	})
	if err != nil {
		return nil, c.Explain(err, "list", "configmaps")
	}
	return out, nil
}
