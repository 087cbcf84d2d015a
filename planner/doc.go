// Package planner decides a dispatch pass on a read-only snapshot: which
// waiting runs start, which wait and why, which are rejected, from the
// installed config, the runs waiting and the slots in use. The reconciler
// applies its decisions; the client asks it (Explain) why a run waits.
// It holds no client and no informer, so the kubectl plugin links it
// without the controller.
package planner
