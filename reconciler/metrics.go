package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// Metrics are the reconciler's Prometheus metrics.
type Metrics struct {
	Runs            *prometheus.GaugeVec
	SlotsInUse      *prometheus.GaugeVec
	SlotsLimit      *prometheus.GaugeVec
	DispatchLatency prometheus.Histogram
	DispatchPass    prometheus.Histogram
	ReconcileErrors prometheus.Counter
	JobsCreated     prometheus.Counter
	StateWrites     *prometheus.CounterVec
	StateDeferred   prometheus.Counter
	WriteSeconds    *prometheus.HistogramVec
	RunsFinished    *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flows_runs", Help: "Runs by state, as of the last dispatch pass (Late: Scheduled more than 15 s past its time; New: not yet seen).",
		}, []string{"state"}),
		SlotsInUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flows_slots_in_use", Help: "Slots held by unfinished runs, per pool, queue, deployment and tag.",
		}, []string{"kind", "name"}),
		SlotsLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flows_slots_limit", Help: "Concurrency limit per pool, queue, deployment and tag (absent when unlimited).",
		}, []string{"kind", "name"}),
		DispatchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flows_dispatch_latency_seconds",
			Help:    "Time from a run request first seen to its Job created.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		DispatchPass: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flows_dispatch_pass_seconds",
			Help:    "Duration of one dispatch pass deciding; its writes are carried out after it, by the writer pool.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		ReconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flows_reconcile_errors_total", Help: "Reconciles that failed and were retried.",
		}),
		JobsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flows_jobs_created_total", Help: "Jobs created (a create that found the Job already there is not counted).",
		}),
		StateWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flows_state_writes_total", Help: "Run status writes, by the state written.",
		}, []string{"state"}),
		StateDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flows_state_writes_deferred_total", Help: "Pending or Running writes put off because the progress write budget (--status-write-qps) was spent or the API server was slow (--status-write-max-latency).",
		}),
		WriteSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flows_write_seconds",
			Help:    "Duration of the reconciler's writes: Job creates (job) and run status writes (status).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"write"}),
		RunsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flows_runs_finished_total", Help: "Runs that reached a final state after taking slots, by state.",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.Runs, m.SlotsInUse, m.SlotsLimit, m.DispatchLatency, m.DispatchPass,
			m.ReconcileErrors, m.JobsCreated, m.StateWrites, m.StateDeferred, m.WriteSeconds, m.RunsFinished)
	}
	return m
}

// observePass publishes what a dispatch pass derived.
func (m *Metrics) observePass(cfg *project.Installed, u *usage, counts map[v1alpha1.RunState]int) {
	m.Runs.Reset()
	for s, n := range counts {
		if s == "" {
			s = "New"
		}
		if n > 0 {
			m.Runs.WithLabelValues(string(s)).Set(float64(n))
		}
	}
	m.SlotsInUse.Reset()
	m.SlotsLimit.Reset()
	for name, pool := range cfg.Pools {
		m.SlotsInUse.WithLabelValues("pool", name).Set(float64(u.get(slotPool, name)))
		if pool.ConcurrencyLimit != nil {
			m.SlotsLimit.WithLabelValues("pool", name).Set(float64(*pool.ConcurrencyLimit))
		}
		for _, q := range pool.Queues {
			key := name + "/" + q.Name
			m.SlotsInUse.WithLabelValues("queue", key).Set(float64(u.get(slotQueue, key)))
			if q.ConcurrencyLimit != nil {
				m.SlotsLimit.WithLabelValues("queue", key).Set(float64(*q.ConcurrencyLimit))
			}
		}
	}
	for name, d := range cfg.Deployments {
		m.SlotsInUse.WithLabelValues("deployment", name).Set(float64(u.get(slotDeployment, name)))
		if d.ConcurrencyLimit != nil {
			m.SlotsLimit.WithLabelValues("deployment", name).Set(float64(*d.ConcurrencyLimit))
		}
	}
	for tag, l := range cfg.TagLimits {
		m.SlotsInUse.WithLabelValues("tag", tag).Set(float64(u.get(slotTag, tag)))
		m.SlotsLimit.WithLabelValues("tag", tag).Set(float64(l))
	}
}
