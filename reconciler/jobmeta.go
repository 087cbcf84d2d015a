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
)

// admissionRecord is what AnnotationAdmission holds.
type admissionRecord struct {
	ScheduledTime metav1.Time    `json:"scheduledTime"`
	AdmittedAt    metav1.Time    `json:"admittedAt"`
	Parameters    map[string]any `json:"parameters,omitempty"`
	JobVariables  map[string]any `json:"jobVariables,omitempty"`
}

func annotateAdmission(job *batchv1.Job, a *admission, now time.Time) error {
	rec, err := json.Marshal(admissionRecord{
		ScheduledTime: metav1.NewTime(a.scheduled),
		AdmittedAt:    metav1.NewTime(now),
		Parameters:    a.params,
		JobVariables:  a.jobVars,
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

// runOfJob names the run that owns a Job.
func runOfJob(job *batchv1.Job) string {
	for _, o := range job.OwnerReferences {
		if o.Kind == "ConfigMap" {
			return o.Name
		}
	}
	return ""
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
	st.JobName = job.Name
	st.Pool, st.Queue, st.Tags = s.Pool, job.Labels[project.LabelQueue], s.Tags
	var rec admissionRecord
	if json.Unmarshal([]byte(job.Annotations[AnnotationAdmission]), &rec) == nil {
		st.ScheduledTime, st.PendingTime = &rec.ScheduledTime, &rec.AdmittedAt
		st.Parameters, st.JobVariables = rec.Parameters, rec.JobVariables
	} else {
		st.PendingTime = &job.CreationTimestamp
	}
}

// admittedAt is when a Job was created for its run.
func admittedAt(job *batchv1.Job) time.Time {
	var rec admissionRecord
	if json.Unmarshal([]byte(job.Annotations[AnnotationAdmission]), &rec) == nil && !rec.AdmittedAt.IsZero() {
		return rec.AdmittedAt.Time
	}
	return job.CreationTimestamp.Time
}
