// Package schema is the one JSON Schema compiler of kubectl-flows, and the
// one reader of its errors. A pool's job variables and a deployment's
// parameterSchema are both compiled here the way Prefect validates them:
// draft 2020-12 unless the schema's $schema names another, formats
// asserted, and nothing loaded. A schema comes from a project file and is
// compiled wherever the project is rendered and in the reconciler's pod,
// so a $ref must point inside the schema: one that names a file or a URL
// is refused, and compiling reads nothing but the document given.
package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
)

// ErrExternalRef is what a schema that refers outside itself (by $ref or
// $schema) fails to compile with.
var ErrExternalRef = errors.New("a $ref must point inside the schema (#/...): no file or URL is read")

// base is where a schema is compiled: a hierarchical location, so that a
// relative $ref ("other.json") resolves to a location noLoader is asked
// for, and refuses, rather than to the schema itself.
const base = "https://schema.kubectl-flows.invalid/"

// noLoader refuses every load: the document given is the whole schema.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("refusing to load %q: %w", url, ErrExternalRef)
}

// Compile compiles doc, a JSON Schema given as a JSON value of any Go
// representation, as the package says. name is what the schema is
// ("parameterSchema", "variables"), for messages. An error is one Problems can read when the schema breaks the
// metaschema; a $ref outside the schema is ErrExternalRef, naming the
// reference.
func Compile(name string, doc any) (*jsonschema.Schema, error) {
	v, err := jsonvalue.Normalize(doc)
	if err != nil {
		return nil, err
	}
	url := base + name + ".json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	if err := c.AddResource(url, v); err != nil {
		return nil, err
	}
	sch, err := c.Compile(url)
	// noLoader is the only loader: a load error is its refusal.
	if le := (*jsonschema.LoadURLError)(nil); errors.As(err, &le) {
		return nil, fmt.Errorf("%s refers to %q outside itself: %w", name, strings.TrimPrefix(le.URL, base), ErrExternalRef)
	}
	return sch, err
}

// Validate checks v, a JSON value of any Go representation, against sch.
// An error is one Problems can read.
func Validate(sch *jsonschema.Schema, v any) error {
	inst, err := jsonvalue.Normalize(v)
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
