package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// How kwok plays pods here
//
// kwok runs no containers. It moves pods through their lifecycle by Stage
// objects, and the harness gives it kwok's "general" pod stages (from the
// kwok module, copied by build.sh into <bin>/stages/pod/general) with these
// changes: stage delays default to 0 (Options.PodStartDelay) except
// pod-complete (Options.PodRunTime), the built-in random jitter is gone (so
// a delay annotation means exactly that delay), and pods that ask for a
// failure or a stuck state below are kept off the normal path. A pod of a Job
// goes Pending -> Running (Ready) -> Succeeded; a pod of anything else stays
// Running until it is deleted. Images are never pulled: any image name
// "works".
//
// Per pod, through annotations (values are Go durations like "30s", or an
// RFC 3339 time meaning "at that time"; anything else, a bare number
// included, silently means the default):
//
//	pod-create.stage.kwok.x-k8s.io/delay     Pending without status (as if pulling) this long
//	pod-ready.stage.kwok.x-k8s.io/delay      then ContainerCreating this long before Running
//	pod-complete.stage.kwok.x-k8s.io/delay   then Running (Ready) this long before Succeeded
//	pod-delete.stage.kwok.x-k8s.io/delay     a deleted pod lingers (Terminating) this long
//
// Each also has a "/jitter-delay" twin: when it is later than the delay the
// actual delay is random between the two.

// Delay annotations of kwok's pod stages.
const (
	AnnotationCreateDelay   = "pod-create.stage.kwok.x-k8s.io/delay"
	AnnotationReadyDelay    = "pod-ready.stage.kwok.x-k8s.io/delay"
	AnnotationCompleteDelay = "pod-complete.stage.kwok.x-k8s.io/delay"
	AnnotationDeleteDelay   = "pod-delete.stage.kwok.x-k8s.io/delay"

	AnnotationCompleteJitter = "pod-complete.stage.kwok.x-k8s.io/jitter-delay"
)

// kwok's chaos stages (stages/pod/chaos): a pod *labelled*
// LabelFailContainers=true goes Running and then Failed, its containers
// terminated with exit code 1 (or AnnotationFailExitCode), reason
// "containerFailed" (AnnotationFailReason) and message "container failed"
// (AnnotationFailMessage), after 1s (AnnotationFailDelay);
// AnnotationFailContainer limits the failure to one named container.
// LabelFailInitContainers does the same to init containers while the pod is
// Pending. Both are labels, not annotations: kwok selects on them.
const (
	LabelFailContainers     = "pod-container-running-failed.stage.kwok.x-k8s.io"
	AnnotationFailDelay     = "pod-container-running-failed.stage.kwok.x-k8s.io/delay"
	AnnotationFailExitCode  = "pod-container-running-failed.stage.kwok.x-k8s.io/exit-code"
	AnnotationFailReason    = "pod-container-running-failed.stage.kwok.x-k8s.io/reason"
	AnnotationFailMessage   = "pod-container-running-failed.stage.kwok.x-k8s.io/message"
	AnnotationFailContainer = "pod-container-running-failed.stage.kwok.x-k8s.io/container-name"

	LabelFailInitContainers    = "pod-init-container-running-failed.stage.kwok.x-k8s.io"
	AnnotationFailInitDelay    = "pod-init-container-running-failed.stage.kwok.x-k8s.io/delay"
	AnnotationFailInitExitCode = "pod-init-container-running-failed.stage.kwok.x-k8s.io/exit-code"
)

// AnnotationStuck is the harness's own stage: a pod annotated with it is
// bound to a node and then never gets anywhere. Its value says how it looks:
//
//	StuckImagePullBackOff: phase Pending, containers waiting with reason
//	  ImagePullBackOff (a pod whose image does not exist).
//	StuckCrashLoopBackOff: phase Running but not Ready, containers waiting
//	  with reason CrashLoopBackOff, restartCount 5, last state terminated
//	  with exit code 1 (a container that keeps crashing under
//	  restartPolicy OnFailure/Always).
//
// Neither ever finishes: a test that wants the Job to end must delete it or
// give it activeDeadlineSeconds.
const (
	AnnotationStuck       = "sim.harness.kubectl-flows.dev/stuck"
	StuckImagePullBackOff = "ImagePullBackOff"
	StuckCrashLoopBackOff = "CrashLoopBackOff"
)

// Evict evicts a pod through the Eviction API, as a node drain does: the
// API server gives it the DisruptionTarget condition (reason
// EvictionByEvictionAPI) and deletes it. kwok's own stages never end a
// pod that is being deleted while a finalizer holds it (every Job's pod
// carries the Job controller's), so the harness plays the kubelet's part
// (its stage harness-pod-disrupted): a disrupted pod that is being deleted
// goes Failed, its containers terminated with exit code 137, and a Job's
// podFailurePolicy sees it as a kubelet would show it.
func Evict(ctx context.Context, c kubernetes.Interface, ns, pod string) error {
	return c.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns}})
}

// LabelNoSuchNode is a node label no harness node carries; see Unschedulable.
const LabelNoSuchNode = "harness.kubectl-flows.dev/no-such-node"

func setAnnotation(obj metav1.Object, key, value string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	obj.SetAnnotations(a)
}

func setLabel(obj metav1.Object, key, value string) {
	l := obj.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[key] = value
	obj.SetLabels(l)
}

// AnnotateDelay makes a Job's pod stay Running (and Ready) for d before it
// Succeeds. obj is the pod template (&job.Spec.Template) or a pod.
func AnnotateDelay(obj metav1.Object, d time.Duration) {
	setAnnotation(obj, AnnotationCompleteDelay, d.String())
}

// AnnotateStartDelay makes a pod stay Pending (containers waiting,
// ContainerCreating) for d after it is bound to a node, before it runs.
func AnnotateStartDelay(obj metav1.Object, d time.Duration) {
	setAnnotation(obj, AnnotationReadyDelay, d.String())
}

// DelayAnnotations returns the annotations AnnotateDelay sets, for templates
// built as plain maps.
func DelayAnnotations(d time.Duration) map[string]string {
	return map[string]string{AnnotationCompleteDelay: d.String()}
}

// FailAfter makes a pod go Running and then Failed after d, every container
// terminated with exitCode (use 1 for an ordinary crash). A Job whose pods
// fail this way becomes Failed once its backoffLimit is used up; give such a
// Job backoffLimit 0 unless the test is about retries, since the Job
// controller backs off 10s, 20s, 40s... between them.
func FailAfter(obj metav1.Object, d time.Duration, exitCode int) {
	setLabel(obj, LabelFailContainers, "true")
	setAnnotation(obj, AnnotationFailDelay, d.String())
	setAnnotation(obj, AnnotationFailExitCode, strconv.Itoa(exitCode))
}

// Stuck marks a pod to hang in the given state (StuckImagePullBackOff or
// StuckCrashLoopBackOff) once it is on a node.
func Stuck(obj metav1.Object, state string) {
	setAnnotation(obj, AnnotationStuck, state)
}

// Unschedulable gives a pod a node selector no node matches: it stays
// Pending with condition PodScheduled=False, reason Unschedulable, forever.
func Unschedulable(spec *corev1.PodSpec) {
	if spec.NodeSelector == nil {
		spec.NodeSelector = map[string]string{}
	}
	spec.NodeSelector[LabelNoSuchNode] = "true"
}

// The stages of pod/general that make up a pod's normal path.
var normalPodStages = []string{
	"pod-create", "pod-init-container-running", "pod-init-container-completed", "pod-ready", "pod-complete",
}

// kwokConfig builds the multi-document --config file for kwok: a
// KwokConfiguration and the Stage objects.
func kwokConfig(binDir string, opts Options) ([]byte, error) {
	stagesDir := filepath.Join(binDir, "stages")
	var stages []map[string]any
	for _, sub := range []string{"node/fast", "node/heartbeat-with-lease", "pod/general", "pod/chaos"} {
		dir := filepath.Join(stagesDir, sub)
		found, err := loadStages(dir)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no kwok stages in %s", dir)
		}
		stages = append(stages, found...)
	}
	for _, st := range stages {
		tunePodStage(st, opts)
	}
	own, err := harnessStages()
	if err != nil {
		return nil, err
	}
	return yamlDocs(append(append([]map[string]any{kwokConfiguration()}, stages...), own...))
}

// loadStages reads the Stage objects of the YAML files in dir, in the
// order of their names.
func loadStages(dir string) ([]map[string]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var stages []map[string]any
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		docs, err := readYAMLDocs(f)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d["kind"] == "Stage" {
				stages = append(stages, d)
			}
		}
	}
	return stages, nil
}

// tunePodStage sets a pod stage's delay from opts and keeps the normal
// path's stages off the pods the harness's labels and annotations make
// stick or fail. Node stages are left as they are.
func tunePodStage(st map[string]any, opts Options) {
	name, _ := nested(st, "metadata", "name").(string)
	spec, _ := st["spec"].(map[string]any)
	ref, _ := spec["resourceRef"].(map[string]any)
	if ref["kind"] != "Pod" {
		return
	}
	if delay, ok := spec["delay"].(map[string]any); ok {
		// kwok's delay is min(delay, jitter) when jitter is not later than
		// the delay, so a default jitter would cap every delay annotation.
		delete(delay, "jitterDurationMilliseconds")
		switch {
		case name == "pod-complete":
			delay["durationMilliseconds"] = opts.PodRunTime.Milliseconds()
		case name == "pod-delete":
			delete(delay, "jitterDurationFrom")
			delay["durationMilliseconds"] = 0
		case slices.Contains(normalPodStages, name):
			delay["durationMilliseconds"] = opts.PodStartDelay.Milliseconds()
		}
	}
	if !slices.Contains(normalPodStages, name) {
		return
	}
	sel, _ := spec["selector"].(map[string]any)
	if sel == nil {
		sel = map[string]any{}
		spec["selector"] = sel
	}
	exprs, _ := sel["matchExpressions"].([]any)
	exprs = append(exprs,
		matchExpr(`.metadata.annotations["`+AnnotationStuck+`"]`, "DoesNotExist"),
		matchExpr(`.metadata.labels["`+LabelFailInitContainers+`"]`, "NotIn", "true"),
	)
	if name == "pod-complete" {
		exprs = append(exprs, matchExpr(`.metadata.labels["`+LabelFailContainers+`"]`, "NotIn", "true"))
	}
	sel["matchExpressions"] = exprs
}

// harnessStages are the stages the harness adds to kwok's own: a stuck
// image pull, a crash loop and a disrupted pod.
func harnessStages() ([]map[string]any, error) {
	var stages []map[string]any
	for _, doc := range []string{stuckImagePullStage, stuckCrashLoopStage, disruptedStage} {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("harness stage: %w", err)
		}
		stages = append(stages, m)
	}
	return stages, nil
}

// kwokConfiguration is kwok's KwokConfiguration: the nodes it manages and
// how many of each thing it does at once.
func kwokConfiguration() map[string]any {
	return map[string]any{
		"apiVersion": "config.kwok.x-k8s.io/v1alpha1",
		"kind":       "KwokConfiguration",
		"metadata":   map[string]any{"name": "harness"},
		"options": map[string]any{
			"manageAllNodes":               false,
			"manageNodesWithLabelSelector": kwokNodeSelector,
			"cidr":                         "10.244.0.0/16",
			"nodeIP":                       "10.200.0.1",
			"nodeLeaseDurationSeconds":     40,
			// kwok applies its defaults only when there is no
			// KwokConfiguration at all, so give every option.
			"podPlayStageParallelism":         8,
			"nodePlayStageParallelism":        4,
			"nodeLeaseParallelism":            4,
			"podsOnNodeSyncParallelism":       2,
			"enablePodsOnNodeSyncListPager":   true,
			"enablePodsOnNodeSyncStreamWatch": false,
			"enableDebuggingHandlers":         false,
			"enableContentionProfiling":       false,
			"enableProfilingHandler":          false,
		},
	}
}

// yamlDocs writes docs as one multi-document YAML file.
func yamlDocs(docs []map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	for i, doc := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

func matchExpr(key, op string, values ...string) map[string]any {
	m := map[string]any{"key": key, "operator": op}
	if len(values) > 0 {
		vs := make([]any, len(values))
		for i, v := range values {
			vs[i] = v
		}
		m["values"] = vs
	}
	return m
}

func nested(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func readYAMLDocs(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []map[string]any
	for _, part := range strings.Split("\n"+string(data), "\n---") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(part), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
	return docs, nil
}

// The harness's own stages. They match only pods carrying AnnotationStuck
// that kwok has not touched yet (no podIP), and leave a podIP behind so they
// never match twice.
const stuckImagePullStage = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: harness-pod-image-pull-backoff
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["` + AnnotationStuck + `"]'
      operator: 'In'
      values: ['` + StuckImagePullBackOff + `']
  next:
    event:
      type: Warning
      reason: Failed
      message: 'Error: ImagePullBackOff'
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: Ready
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        imageID: ""
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting:
            reason: ImagePullBackOff
            message: {{ printf "Back-off pulling image %q" .image | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Pending
      startTime: {{ $now | Quote }}
`

const stuckCrashLoopStage = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: harness-pod-crash-loop-backoff
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
    - key: '.metadata.annotations["` + AnnotationStuck + `"]'
      operator: 'In'
      values: ['` + StuckCrashLoopBackOff + `']
  next:
    event:
      type: Warning
      reason: BackOff
      message: 'Back-off restarting failed container'
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: Ready
      - lastProbeTime: null
        lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        imageID: ""
        name: {{ .name | Quote }}
        ready: false
        restartCount: 5
        started: false
        lastState:
          terminated:
            exitCode: 1
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          waiting:
            reason: CrashLoopBackOff
            message: {{ printf "back-off 2m40s restarting failed container=%s" .name | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
`

// disruptedStage ends a pod that is being deleted after a disruption (the
// Eviction API, preemption, a taint) as the kubelet would: Failed, its
// containers terminated by the kill. See Evict.
const disruptedStage = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: harness-pod-disrupted
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending', 'Running']
    - key: '.status.conditions.[] | select( .type == "DisruptionTarget" ) | .status'
      operator: 'In'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 137
            reason: Error
            message: killed by the disruption
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`
