//go:build !windows

package plugin

import "syscall"

// terminate is the signal that stops a local run, as the kubelet stops a
// container.
var terminate = syscall.SIGTERM
