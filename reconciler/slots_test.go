package reconciler

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-flows/kubectl-flows/api/v1alpha1"
	"github.com/kubectl-flows/kubectl-flows/project"
)

// The Job cache's slot indexes count what a dispatch pass would count by
// walking every Job: unfinished run Jobs, by each slot they hold; finished
// Jobs and Jobs of no run hold none, and a Job that finishes gives its
// slots back.
func TestSlotIndexesCountUnfinishedRunJobs(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, jobSlotIndexers())
	job := func(name, queue, deployment, tags string, finished, owned bool) *batchv1.Job {
		flow, dname, _ := v1alpha1.SplitDeployment(deployment)
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns",
			Labels:      map[string]string{v1alpha1.LabelPool: "p", v1alpha1.LabelQueue: queue, v1alpha1.LabelDeployment: v1alpha1.DeploymentLabelValue(flow, dname)},
			Annotations: map[string]string{v1alpha1.AnnotationTags: tags},
		}}
		if owned {
			controller := true
			j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: "u-" + types.UID(name), Controller: &controller}}
		}
		if finished {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		}
		return j
	}
	running := job("a", "q1", "f/a", "db,gpu", false, true)
	for _, j := range []*batchv1.Job{
		running,
		job("b", "q1", "f/a", "db", false, true),
		job("c", "q2", "f/b", "", false, true),
		job("done", "q1", "f/a", "db", true, true),    // finished: frees its slots
		job("stray", "q1", "f/a", "db", false, false), // no run owns it
	} {
		if err := idx.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	c := &Controller{jobIndex: idx}
	want := map[[2]string]int32{
		{project.SlotPool, "p"}: 3, {project.SlotQueue, "p/q1"}: 2, {project.SlotQueue, "p/q2"}: 1,
		{project.SlotDeployment, "f/a"}: 2, {project.SlotDeployment, "f/b"}: 1,
		{project.SlotTag, "db"}: 2, {project.SlotTag, "gpu"}: 1, {project.SlotTag, "none"}: 0,
	}
	for k, n := range want {
		if got := c.held(k[0], k[1]); got != n {
			t.Errorf("%s %s: %d slots held, want %d", k[0], k[1], got, n)
		}
	}

	done := running.DeepCopy()
	done.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
	if err := idx.Update(done); err != nil {
		t.Fatal(err)
	}
	if got := c.held(project.SlotTag, "gpu"); got != 0 {
		t.Errorf("gpu held %d after its only Job failed, want 0", got)
	}
	if got := c.held(project.SlotPool, "p"); got != 2 {
		t.Errorf("pool p held %d after one Job failed, want 2", got)
	}
}
