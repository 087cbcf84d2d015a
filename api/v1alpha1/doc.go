// Package v1alpha1 is the wire contract of kubectl-flows: the names and
// formats of the objects that render, the reconciler and clients exchange
// through the API server, and nothing else. No CRDs: every object is a
// ConfigMap (config, run requests, cancel requests), a Job or a pod, and
// this package says which label, annotation, finalizer and data key means
// what, what the documents under those keys hold, and how they are read
// and written.
//
// Who writes what decides how far it is trusted:
//
//   - Config (pool.yaml, deployment.yaml, limits.yaml, the config index)
//     comes from operators, through render. It is trusted only as listed,
//     with its digest, by the config index the reconciler was started with
//     (TrustedConfig).
//   - A run request (a ConfigMap labelled LabelRun=true, its request under
//     KeyRun) and a cancel request (LabelCancelRequest=true, KeyCancel) are
//     input from someone you do not trust: anyone who may create a
//     ConfigMap in the namespace may create one, with any name, labels,
//     annotations and data, including the keys the reconciler owns
//     (LabelState, KeyStatus). They are decoded strictly and bounded in
//     size (DecodeRunRequest, CheckRunObject, DecodeCancelRequest), and a
//     message about them quotes at most MaxEcho bytes of them.
//   - A run's state (LabelState and KeyStatus) is the reconciler's only
//     when it carries the reconciler's signature (AnnotationSignature); a
//     Job or pod is a run's only when the run controls it by owner
//     reference and UID, never by label.
//
// The package imports no other package of this module but internal ones,
// so the CLI, render, review, the dashboard and the reconciler all read
// the contract from here.
package v1alpha1
