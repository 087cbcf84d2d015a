package reconciler

import (
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// A tag's start rate is a token bucket (project.StartBucket) that is never
// stored: each pass replays it from the starts of runs carrying the tag,
// which are their Jobs' admission times, as slots are counted from their
// Jobs. A restart or a failover therefore finds it as it was. Jobs that
// are gone (a TTL, retention, a crash's deletion) before the tag's horizon
// has passed are remembered by the process that made them (startLog); a
// new process knows only the Jobs that remain.

// tagStartsIndex indexes every run's Job, finished or not, by each tag it
// carries.
const tagStartsIndex = "tag-starts"

func tagStartsIndexFunc(obj any) ([]string, error) {
	job, ok := obj.(*batchv1.Job)
	if !ok || runOfJob(job) == "" {
		return nil, nil
	}
	return slotsOfJob(job).Tags, nil
}

// startLog holds the starts this process made, by Job name.
type startLog struct {
	mu    sync.Mutex
	byJob map[string]startRecord
}

type startRecord struct {
	tags []string
	at   time.Time
}

// started records the start of a Job this process created.
func (c *Controller) started(job *batchv1.Job) {
	tags := slotsOfJob(job).Tags
	if len(tags) == 0 {
		return
	}
	c.starts.mu.Lock()
	defer c.starts.mu.Unlock()
	if c.starts.byJob == nil {
		c.starts.byJob = map[string]startRecord{}
	}
	c.starts.byJob[job.Name] = startRecord{tags: tags, at: admittedAt(job)}
}

// rateBuckets replays the start bucket of every tag with a rate at now,
// from the Jobs the cache shows, the creates in flight (claims) and the
// starts this process remembers, each Job counted once.
func (c *Controller) rateBuckets(cfg *project.Installed, claims map[string]claim, now time.Time) map[string]*project.StartBucket {
	c.starts.mu.Lock()
	defer c.starts.mu.Unlock()
	var longest time.Duration
	out := make(map[string]*project.StartBucket, len(cfg.TagRates))
	for tag, l := range cfg.TagRates {
		rate, err := v1alpha1.ParseRate(l.Rate) // checked when decoded
		if err != nil {
			continue
		}
		burst := l.BurstOf()
		horizon := project.RateHorizon(rate, burst)
		longest = max(longest, horizon)
		since := now.Add(-horizon)
		starts := map[string]time.Time{}
		for _, job := range byIndex[*batchv1.Job](c.jobIndex, tagStartsIndex, tag) {
			// Its admission is at most a moment before its creation:
			// older Jobs are not decoded.
			if job.CreationTimestamp.Add(time.Second).After(since) {
				starts[job.Name] = admittedAt(job)
			}
		}
		for name, rec := range c.starts.byJob {
			if _, ok := starts[name]; !ok && slices.Contains(rec.tags, tag) {
				starts[name] = rec.at
			}
		}
		for _, cl := range claims {
			if _, ok := starts[cl.job]; !ok && cl.job != "" && slices.Contains(cl.slots.Tags, tag) {
				starts[cl.job] = cl.at
			}
		}
		times := make([]time.Time, 0, len(starts))
		for _, t := range starts {
			times = append(times, t)
		}
		out[tag] = project.ReplayStarts(rate, burst, times, now)
	}
	for name, rec := range c.starts.byJob {
		if now.Sub(rec.at) > longest {
			delete(c.starts.byJob, name)
		}
	}
	return out
}
