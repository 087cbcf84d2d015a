// Package version carries the build's version, stamped by the Makefile with
// -ldflags, so the plugin and the reconciler report the same string.
package version

import "runtime/debug"

// Version is set at link time; "dev" means a plain `go build`.
var Version = "dev"

// String returns the stamped version, or the module version when the binary
// was installed with `go install module@version`.
func String() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return Version
}
