//go:build !linux

package harness

import (
	"context"
	"errors"
)

var errLinuxOnly = errors.New("not Linux (the real node's kubelet, containerd and network are Linux-only)")

func realNodePlatform() error { return errLinuxOnly }

func (cp *ControlPlane) prepareRealNode() error { return errLinuxOnly }

func (cp *ControlPlane) startRealNode(context.Context) error { return errLinuxOnly }

// Without a real node nothing is left to clean and nothing is mounted.
func cleanRunDirNode(string) error { return nil }

func mountsUnder(string) []string { return nil }
