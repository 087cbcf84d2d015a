package reconciler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
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
	// What users chart and alert on (examples/monitoring): how long runs
	// wait and run, by deployment and queue; no label ever names a run,
	// so the series stay as few as the project's deployments and queues.
	RunWait       *prometheus.HistogramVec
	RunDuration   *prometheus.HistogramVec
	QueueWaiting  *prometheus.GaugeVec
	QueueOldest   *prometheus.GaugeVec
	Leader        prometheus.Gauge
	Notifications *prometheus.CounterVec
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
			Name: "flows_runs_finished_total", Help: "Runs that reached a final state after taking slots, by deployment (flow/name) and state.",
		}, []string{"deployment", "state"}),
		RunWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flows_run_wait_seconds",
			Help:    "Time from a run's scheduled time to its start (a pod of its Job running), by queue (pool/queue) and deployment (flow/name); observed when the start is written.",
			Buckets: runTimeBuckets,
		}, []string{"queue", "deployment"}),
		RunDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flows_run_duration_seconds",
			Help:    "Time from a run's start to its end, by deployment (flow/name) and final state, for runs that started.",
			Buckets: runTimeBuckets,
		}, []string{"deployment", "state"}),
		QueueWaiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flows_queue_waiting_runs", Help: "Runs past their scheduled time waiting for slots (or paused), per queue (pool/queue), as of the last dispatch pass.",
		}, []string{"queue"}),
		QueueOldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flows_queue_oldest_waiting_seconds", Help: "How long past its scheduled time the longest-waiting run of a queue (pool/queue) is, as of the last dispatch pass; 0 when none waits.",
		}, []string{"queue"}),
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flows_leader", Help: "1 while this replica is the leader (dispatches, runs schedules, sends notifications), else 0.",
		}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flows_notifications_total", Help: "Notification deliveries by target and outcome: delivered, failed (an attempt, retried) or gave_up.",
		}, []string{"target", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.Runs, m.SlotsInUse, m.SlotsLimit, m.DispatchLatency, m.DispatchPass,
			m.ReconcileErrors, m.JobsCreated, m.StateWrites, m.StateDeferred, m.WriteSeconds, m.RunsFinished,
			m.RunWait, m.RunDuration, m.QueueWaiting, m.QueueOldest, m.Leader, m.Notifications)
	}
	return m
}

// observePass publishes what a dispatch pass derived.
func (m *Metrics) observePass(cfg *project.Installed, u *planner.Usage, counts map[v1alpha1.RunState]int) {
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
		m.SlotsInUse.WithLabelValues("pool", name).Set(float64(u.Get(project.SlotPool, name)))
		if pool.ConcurrencyLimit != nil {
			m.SlotsLimit.WithLabelValues("pool", name).Set(float64(*pool.ConcurrencyLimit))
		}
		for _, q := range pool.Queues {
			key := name + "/" + q.Name
			m.SlotsInUse.WithLabelValues("queue", key).Set(float64(u.Get(project.SlotQueue, key)))
			if q.ConcurrencyLimit != nil {
				m.SlotsLimit.WithLabelValues("queue", key).Set(float64(*q.ConcurrencyLimit))
			}
		}
	}
	for name, d := range cfg.Deployments {
		m.SlotsInUse.WithLabelValues("deployment", name).Set(float64(u.Get(project.SlotDeployment, name)))
		if d.ConcurrencyLimit != nil {
			m.SlotsLimit.WithLabelValues("deployment", name).Set(float64(*d.ConcurrencyLimit))
		}
	}
	for tag, l := range cfg.TagLimits {
		m.SlotsInUse.WithLabelValues("tag", tag).Set(float64(u.Get(project.SlotTag, tag)))
		m.SlotsLimit.WithLabelValues("tag", tag).Set(float64(l))
	}
}

// runTimeBuckets span the waits and durations of flow runs: seconds to a
// day.
var runTimeBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}

// observeStarted records a run's wait, once its start is written.
func (m *Metrics) observeStarted(st *v1alpha1.RunStatus, deployment string) {
	if st.StartTime == nil || st.ScheduledTime == nil {
		return
	}
	wait := st.StartTime.Sub(st.ScheduledTime.Time)
	m.RunWait.WithLabelValues(st.Pool+"/"+st.Queue, deployment).Observe(max(wait, 0).Seconds())
}

// observeFinished records a run's end, once its final state is written.
func (m *Metrics) observeFinished(st *v1alpha1.RunStatus, deployment string) {
	m.RunsFinished.WithLabelValues(deployment, string(st.State)).Inc()
	if st.StartTime != nil && st.EndTime != nil {
		m.RunDuration.WithLabelValues(deployment, string(st.State)).Observe(max(st.EndTime.Sub(st.StartTime.Time), 0).Seconds())
	}
}

// observeQueues publishes, per queue, the due runs a pass left waiting and
// how late the longest-waiting one is. Runs not yet due are not waiting.
// Keyed without building a string per run: with ten thousand waiting, a
// pass would allocate one for each.
func (m *Metrics) observeQueues(cfg *project.Installed, decisions []planner.Decision, now time.Time) {
	type queue struct{ pool, name string }
	waiting, oldest := map[queue]int{}, map[queue]time.Duration{}
	for _, d := range decisions {
		a := d.Admission
		if d.Kind != planner.DecideWait || a == nil || a.Scheduled.After(now) {
			continue
		}
		q := queue{a.Pool.Name, a.Deployment.Queue}
		waiting[q]++
		oldest[q] = max(oldest[q], now.Sub(a.Scheduled))
	}
	m.QueueWaiting.Reset()
	m.QueueOldest.Reset()
	for name, pool := range cfg.Pools {
		for _, q := range pool.Queues {
			key, label := queue{name, q.Name}, name+"/"+q.Name
			m.QueueWaiting.WithLabelValues(label).Set(float64(waiting[key]))
			m.QueueOldest.WithLabelValues(label).Set(oldest[key].Seconds())
		}
	}
}
