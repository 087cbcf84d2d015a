package plugin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-flows/kubectl-flows/printers"
)

// kindArgs are the "KIND NAME" arguments of describe, pause and resume.
type kindArgs struct {
	args []string
	kind *printers.Kind
	name string
}

func (a *kindArgs) complete(args []string) {
	a.args = args
	if len(args) == 2 {
		a.kind, a.name = printers.KindFor(args[0]), args[1]
	}
}

// validate checks that the arguments name one of kinds, for the command
// verb.
func (a *kindArgs) validate(verb string, kinds []*printers.Kind) error {
	if len(a.args) != 2 {
		return fmt.Errorf("usage: kubectl flows %s %s NAME", verb, kindChoice(kinds))
	}
	if !slices.Contains(kinds, a.kind) {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.Aliases[0]
		}
		last := len(names) - 1
		return fmt.Errorf("%s works on a %s or %s, not %q", verb, strings.Join(names[:last], ", "), names[last], a.args[0])
	}
	return nil
}

// kindChoice is "(run|deployment|pool)" for a usage line.
func kindChoice(kinds []*printers.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Aliases[0]
	}
	return "(" + strings.Join(names, "|") + ")"
}
