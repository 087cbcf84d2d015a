package reconciler

import (
	"encoding/json"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/planner"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// annotateAdmission records a run's admission on its Job: the Job is the
// run's durable slot, and the run's first status is written from it. The
// deployment is not recorded again: the Job's LabelDeployment names it.
func annotateAdmission(job *batchv1.Job, a *planner.Admission, run *project.CheckedRun, now time.Time) error {
	rec, err := json.Marshal(v1alpha1.AdmissionRecord{
		ScheduledTime: metav1.NewTime(a.Scheduled),
		AdmittedAt:    now.UTC(),
		Parameters:    run.Parameters,
		JobVariables:  run.JobVariables,
	})
	if err != nil {
		return err
	}
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[v1alpha1.AnnotationTags] = strings.Join(a.Slots.Tags, ",")
	job.Annotations[v1alpha1.AnnotationAdmission] = string(rec)
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

// hasFinalizer reports whether a Job is held for its run, by the finalizer
// or by the one an older reconciler gave it.
func hasFinalizer(job *batchv1.Job) bool {
	for _, f := range job.Finalizers {
		if isRunFinalizer(f) {
			return true
		}
	}
	return false
}

func isRunFinalizer(f string) bool {
	return f == v1alpha1.FinalizerRunProtection || f == v1alpha1.LegacyFinalizerRun
}

// slotsOfJob is the slots a Job holds until it finishes.
func slotsOfJob(job *batchv1.Job) planner.Slots {
	var tags []string
	if t := job.Annotations[v1alpha1.AnnotationTags]; t != "" {
		tags = strings.Split(t, ",")
	}
	return planner.SlotsOf(job.Labels[v1alpha1.LabelPool], job.Labels[v1alpha1.LabelQueue], v1alpha1.DeploymentOfLabelValue(job.Labels[v1alpha1.LabelDeployment]), tags)
}

// fillFromJob completes a run's status from its Job, for the first status
// written after the Job was created: its admission (FillAdmission), and the
// timeouts and retry policy the Job carries.
func fillFromJob(st *v1alpha1.RunStatus, job *batchv1.Job) {
	st.FillAdmission(job)
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
	var rec v1alpha1.AdmissionRecord
	if json.Unmarshal([]byte(job.Annotations[v1alpha1.AnnotationAdmission]), &rec) == nil && !rec.AdmittedAt.IsZero() {
		return rec.AdmittedAt
	}
	return job.CreationTimestamp.Time
}
