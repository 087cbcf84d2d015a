package reconciler

import (
	"encoding/json"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/project"
)

// Annotations with which a Job records its run's admission: the Job is the
// run's durable slot, and the run's first status is written from it.
const (
	// AnnotationDeployment is the run's deployment, flow/name.
	AnnotationDeployment = "kubectl-flows.dev/deployment"
	// AnnotationTags lists the run's tags, comma-separated.
	AnnotationTags = "kubectl-flows.dev/tags"
	// AnnotationAdmission holds the rest, as JSON.
	AnnotationAdmission = "kubectl-flows.dev/admission"
	// AnnotationAttempt is the attempt of its run the Job is (from 1).
	AnnotationAttempt = "kubectl-flows.dev/attempt"
	// AnnotationRetries holds the run's retry policy, as JSON, when it has
	// one: what to do when this attempt ends is decided from the Job.
	AnnotationRetries = "kubectl-flows.dev/retries"
	// AnnotationTimeout is how long the run may run from its pod's start.
	AnnotationTimeout = "kubectl-flows.dev/timeout"
)

// admissionRecord is what AnnotationAdmission holds.
type admissionRecord struct {
	ScheduledTime metav1.Time `json:"scheduledTime"`
	// AdmittedAt is a time.Time, not a metav1.Time, to keep its fraction
	// of a second (a metav1.Time reads either): a tag's start rate is
	// replayed from it.
	AdmittedAt   time.Time      `json:"admittedAt"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	JobVariables map[string]any `json:"jobVariables,omitempty"`
}

func annotateAdmission(job *batchv1.Job, a *admission, now time.Time) error {
	rec, err := json.Marshal(admissionRecord{
		ScheduledTime: metav1.NewTime(a.scheduled),
		AdmittedAt:    now.UTC(),
		Parameters:    a.run.Parameters,
		JobVariables:  a.run.JobVariables,
	})
	if err != nil {
		return err
	}
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[AnnotationDeployment] = a.slots.Deployment
	job.Annotations[AnnotationTags] = strings.Join(a.slots.Tags, ",")
	job.Annotations[AnnotationAdmission] = string(rec)
	return nil
}

// runOfJob names the run that controls a Job: its controller owner
// reference. Callers that act on the run check that reference's UID
// against the run's (jobOf); a Job with no such reference is not a run's.
func runOfJob(job *batchv1.Job) string {
	if ref := metav1.GetControllerOfNoCopy(job); ref != nil && ref.Kind == "ConfigMap" && ref.APIVersion == "v1" {
		return ref.Name
	}
	return ""
}

// FinalizerRun holds a run's Job until the run's final state is written:
// the Job is the only durable record that the run was admitted, and a run
// whose Job vanished before its first state write would look new and be
// admitted again. Deleted by anyone (a TTL of 0, kubectl delete, the
// garbage collector after the run went), the Job stays, marked for
// deletion, until the reconciler has ended the run and lets it go.
const FinalizerRun = "kubectl-flows.dev/run"

func hasFinalizer(job *batchv1.Job) bool {
	for _, f := range job.Finalizers {
		if f == FinalizerRun {
			return true
		}
	}
	return false
}

// slotsOfJob is the slots a Job holds until it finishes.
func slotsOfJob(job *batchv1.Job) slots {
	var tags []string
	if t := job.Annotations[AnnotationTags]; t != "" {
		tags = strings.Split(t, ",")
	}
	return slotsOf(job.Labels[project.LabelPool], job.Labels[project.LabelQueue], job.Annotations[AnnotationDeployment], tags)
}

// fillFromJob completes a run's status from its Job's admission record, for
// the first status written after the Job was created.
func fillFromJob(st *project.RunStatus, job *batchv1.Job) {
	s := slotsOfJob(job)
	st.JobName, st.RetryTime = job.Name, nil
	st.Pool, st.Queue, st.Tags = s.Pool, job.Labels[project.LabelQueue], s.Tags
	var rec admissionRecord
	if json.Unmarshal([]byte(job.Annotations[AnnotationAdmission]), &rec) == nil {
		st.ScheduledTime, st.PendingTime = &rec.ScheduledTime, &metav1.Time{Time: rec.AdmittedAt}
		st.Parameters, st.JobVariables = rec.Parameters, rec.JobVariables
	} else {
		st.PendingTime = &job.CreationTimestamp
	}
	st.Timeout, st.PendingTimeout = durationOf(timeoutOf(job)), durationOf(podWatchTimeout(job))
	if p := retriesOf(job, nil); p != nil {
		st.Retries, st.MaxAttempts, st.Attempt = p, p.Attempts, attemptOfJob(job)
	}
}

func durationOf(d time.Duration) *metav1.Duration {
	if d <= 0 {
		return nil
	}
	return &metav1.Duration{Duration: d}
}

// admittedAt is when a Job was created for its run.
func admittedAt(job *batchv1.Job) time.Time {
	var rec admissionRecord
	if json.Unmarshal([]byte(job.Annotations[AnnotationAdmission]), &rec) == nil && !rec.AdmittedAt.IsZero() {
		return rec.AdmittedAt
	}
	return job.CreationTimestamp.Time
}
