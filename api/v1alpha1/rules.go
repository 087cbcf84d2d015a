package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxEcho is how many bytes of untrusted input an error message quotes: a
// run request may carry a megabyte where a name belongs, and its message is
// written back to the API server, shown by every `get` and logged.
const MaxEcho = 100

// Truncate returns s when it is at most n bytes, else its first n bytes (cut
// on a UTF-8 boundary) followed by "…" and the full length, so a message
// quoting untrusted input stays short yet says how long the input was.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// QuoteInput is %q of untrusted input, cut to MaxEcho bytes.
func QuoteInput(s string) string { return strconv.Quote(Truncate(s, MaxEcho)) }

// DNSLabelProblem says why v is not a DNS-1123 label (lowercase letters,
// digits and '-', at most 63), or "" when it is one. Pools, queues, flows
// and deployment names are such labels: they are written as label values
// and into object names. The message never quotes v.
func DNSLabelProblem(v string) string {
	if len(v) > validation.DNS1123LabelMaxLength {
		return fmt.Sprintf("must be no more than %d characters, got %d", validation.DNS1123LabelMaxLength, len(v))
	}
	return strings.Join(validation.IsDNS1123Label(v), "; ")
}

// TagProblem says why tag cannot be a tag, or "" when it can. A tag is a
// label value (letters, digits, '-', '_' and '.', at most 63, starting and
// ending alphanumeric): tags are joined with commas into a Job annotation
// and split back, so a comma inside one would count a run against a limit
// it does not carry, or none. The message never quotes tag.
func TagProblem(tag string) string {
	switch {
	case strings.TrimSpace(tag) == "":
		return "must not be empty"
	case strings.Contains(tag, ","):
		return "must not contain a comma (tags are joined with commas)"
	case len(tag) > validation.LabelValueMaxLength:
		return fmt.Sprintf("must be no more than %d characters, got %d", validation.LabelValueMaxLength, len(tag))
	}
	return strings.Join(validation.IsValidLabelValue(tag), "; ")
}

// CheckDeploymentName checks a run's deployment: flow/name, each a DNS
// label as render requires of deployments (the pair is written as the
// label value flow.name). The message quotes at most MaxEcho bytes of it.
func CheckDeploymentName(full string) error {
	flow, name, ok := SplitDeployment(full)
	if !ok {
		return fmt.Errorf("deployment %s must be flow/name, e.g. hello/default", QuoteInput(full))
	}
	for _, part := range []struct{ what, v string }{{"flow", flow}, {"name", name}} {
		if msg := DNSLabelProblem(part.v); msg != "" {
			return fmt.Errorf("deployment %s: the %s is not a valid name (%s); deployments are flow/name with both lowercase DNS labels", QuoteInput(full), part.what, msg)
		}
	}
	return nil
}
