package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
)

// Problem is one thing wrong with a value (or, for a schema that breaks
// the metaschema, with the schema), at a path inside it: "" for the root,
// else as jsonvalue.JoinPath spells it with list indexes: env.FOO,
// tolerations[0].effect.
type Problem struct{ Path, Msg string }

// Problems flattens the library's error tree, of a Validate or of a
// Compile whose schema breaks the metaschema, into sorted, distinct
// problems, one per failing value, worded for people ("expected string,
// got number"). ok is false for an error of neither kind.
func Problems(err error) (problems []Problem, ok bool) {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) {
		err = se.Err
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, false
	}
	collect(ve, &problems)
	slices.SortFunc(problems, func(a, b Problem) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Msg, b.Msg)
	})
	return slices.Compact(problems), true
}

var printer = message.NewPrinter(language.English)

func collect(e *jsonschema.ValidationError, out *[]Problem) {
	loc := e.InstanceLocation
	add := func(msg string) { *out = append(*out, Problem{path(loc), msg}) }
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, Problem{path(append(slices.Clip(loc), m)), "required, but no value is set and the schema has no default"})
		}
		return
	case *kind.Type:
		add(typeMsg(k.Want, k.Got))
		return
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = show(w)
		}
		add(fmt.Sprintf("must be one of %s, got %s", strings.Join(want, ", "), show(k.Got)))
		return
	case *kind.Minimum:
		add(fmt.Sprintf("must be at least %s, got %s", k.Want.RatString(), k.Got.RatString()))
		return
	case *kind.Maximum:
		add(fmt.Sprintf("must be at most %s, got %s", k.Want.RatString(), k.Got.RatString()))
		return
	case *kind.ExclusiveMinimum:
		add(fmt.Sprintf("must be greater than %s, got %s", k.Want.RatString(), k.Got.RatString()))
		return
	case *kind.ExclusiveMaximum:
		add(fmt.Sprintf("must be less than %s, got %s", k.Want.RatString(), k.Got.RatString()))
		return
	case *kind.AnyOf, *kind.OneOf:
		// anyOf [{"type": "string"}, {"type": "null"}] (what Pydantic emits
		// for Optional[str]) fails with one type error per branch: merge them.
		if want, got := branchTypes(e); want != nil {
			add(typeMsg(want, got))
			return
		}
	}
	if len(e.Causes) == 0 {
		add(e.ErrorKind.LocalizedString(printer))
		return
	}
	for _, c := range e.Causes {
		collect(c, out)
	}
}

// branchTypes is the types wanted by the branches of a failed anyOf or
// oneOf when each failed only on its type, at the same value; else nil.
func branchTypes(e *jsonschema.ValidationError) (want []string, got string) {
	for _, c := range e.Causes {
		tk, ok := c.ErrorKind.(*kind.Type)
		if !ok || len(c.Causes) > 0 || !slices.Equal(c.InstanceLocation, e.InstanceLocation) {
			return nil, ""
		}
		want = append(want, tk.Want...)
		got = tk.Got
	}
	return want, got
}

// typeMsg reads "expected string, got number". null is left out of the
// expected types when there are others: a null value means "unset" here.
func typeMsg(want []string, got string) string {
	var w []string
	for _, t := range want {
		if t != "null" || len(want) == 1 {
			if !slices.Contains(w, t) {
				w = append(w, t)
			}
		}
	}
	return fmt.Sprintf("expected %s, got %s", strings.Join(w, " or "), got)
}

// path spells an instance location with nested keys and list indexes.
func path(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	p := loc[0]
	for _, seg := range loc[1:] {
		if _, err := strconv.Atoi(seg); err == nil {
			p += "[" + seg + "]"
			continue
		}
		p = jsonvalue.JoinPath(p, seg)
	}
	return p
}

// show quotes a string and writes anything else as JSON; (none) for null.
func show(v any) string {
	if v == nil {
		return "(none)"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
