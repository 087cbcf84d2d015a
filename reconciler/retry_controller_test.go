package reconciler

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
)

// TestRetriedRunMakesOneJobPerAttempt follows a run with a retry policy
// through the controller: its first attempt's Job is evicted, the run
// waits Scheduled (Retrying) with its slot free, the next pass after the
// delay makes the second attempt's Job, once, and its eviction ends the
// run, both attempts listed.
func TestRetriedRunMakesOneJobPerAttempt(t *testing.T) {
	f := newFixture(t)
	p := pool("p", nil)
	dep := deployment("f", "a", "p", func(d *v1alpha1.Deployment) {
		d.Retries = &v1alpha1.RetryPolicy{Attempts: 2, Delay: &metav1.Duration{Duration: 40 * time.Second}, On: []string{v1alpha1.OutcomeEvicted}}
	})
	f.add(configMaps(t, []v1alpha1.Pool{p}, []v1alpha1.Deployment{dep}, nil)...)
	f.add(newRun(t, "r", time.Second, v1alpha1.RunRequest{Deployment: "f/a"}))
	f.expect("first attempt", f.pass(), "create jobs r")
	job := f.jobNamed("r")
	if job.Annotations[v1alpha1.AnnotationAttempt] != "1" || *job.Spec.BackoffLimit != 0 || job.Spec.PodFailurePolicy == nil {
		t.Fatalf("first attempt's Job: annotations %v, backoffLimit %d, podFailurePolicy %v", job.Annotations, *job.Spec.BackoffLimit, job.Spec.PodFailurePolicy)
	}
	f.catchUp("r")
	// Its Pending is never written (put off under load, say): the attempt's
	// record takes the admission from its Job.

	evict := func(j *batchv1.Job) {
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "PodFailurePolicy",
			Message: "Pod flows/r-1 has condition DisruptionTarget matching FailJob rule at index 0", LastTransitionTime: metav1.Time{Time: f.now}}}
	}
	f.updateJobNamed("r", evict)
	f.expect("evicted: back to Scheduled", f.sync("r"), "patch configmaps r Scheduled")
	st := f.status("r")
	if st.Reason != v1alpha1.ReasonRetrying || st.Attempt != 2 || st.RetryTime == nil || !st.RetryTime.Time.Equal(testNow.Add(40*time.Second)) ||
		len(st.Attempts) != 1 || st.Attempts[0].Outcome != v1alpha1.OutcomeEvicted || st.Attempts[0].PendingTime == nil {
		t.Fatalf("status after the eviction: %+v", st)
	}
	f.catchUp("r")
	f.expect("within the delay", f.pass())

	f.now = testNow.Add(41 * time.Second)
	f.expect("after the delay: the second attempt", f.pass(), "create jobs r-attempt-2")
	f.expect("the create not yet in the cache: no second", f.pass())
	second := f.jobNamed("r-attempt-2")
	if second.Annotations[v1alpha1.AnnotationAttempt] != "2" || second.Labels[v1alpha1.LabelRunName] != "r-attempt-2" || !v1alpha1.ControlledBy(second, "uid-r") {
		t.Fatalf("second attempt's Job: %+v", second.ObjectMeta)
	}
	f.cache(second)
	f.expect("its Job in the cache: still none", f.pass())
	f.expect("Pending again", f.sync("r"), "patch configmaps r Pending")
	if st := f.status("r"); st.JobName != "r-attempt-2" || st.RetryTime != nil || st.Attempt != 2 {
		t.Fatalf("status of the second attempt: %+v", st)
	}
	f.catchUp("r")
	f.updateJobNamed("r-attempt-2", evict)
	f.expect("evicted on the last attempt", f.sync("r"), "patch configmaps r Crashed")
	if st := f.status("r"); st.Reason != "Evicted" || len(st.Attempts) != 2 || st.Attempts[1].JobName != "r-attempt-2" {
		t.Errorf("final status: %+v", st)
	}
}

// jobNamed returns the Job of a name as the API server holds it.
func (f *fixture) jobNamed(name string) *batchv1.Job {
	f.t.Helper()
	job, err := f.client.BatchV1().Jobs(testNS).Get(f.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return job
}

// updateJobNamed changes a Job in the API server and the cache.
func (f *fixture) updateJobNamed(name string, edit func(*batchv1.Job)) {
	f.t.Helper()
	job := f.jobNamed(name)
	edit(job)
	if err := f.client.Tracker().Update(batchv1.SchemeGroupVersion.WithResource("jobs"), job, testNS); err != nil {
		f.t.Fatal(err)
	}
	f.cache(job)
}
