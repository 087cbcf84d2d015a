package project

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubectl-flows/kubectl-flows/internal/schema"
)

// ValidateParameters checks a flow's parameters against the deployment's
// parameter schema (a JSON Schema, as Prefect generates from the flow's
// signature). The error names each parameter and why it fails.
func ValidateParameters(schema, params map[string]any) error {
	s, err := CompileParameterSchema(schema)
	if err != nil {
		return err
	}
	return s.Validate(params)
}

// ParameterSchema is a compiled parameter schema, for validating many runs
// without compiling it again for each.
type ParameterSchema struct{ schema *jsonschema.Schema }

// CompileParameterSchema compiles a deployment's parameterSchema by the one
// compiler (internal/schema: draft 2020-12, formats asserted, nothing
// loaded). A $ref outside the schema is refused: the schema comes from a
// project file, and is compiled by render on a CI machine and by the
// reconciler in its pod, neither of which may read files or URLs for it.
func CompileParameterSchema(doc map[string]any) (*ParameterSchema, error) {
	sch, err := schema.Compile("parameterSchema", doc)
	if errors.Is(err, schema.ErrExternalRef) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("parameterSchema is not a valid JSON Schema: %s", problemsText(err, "parameterSchema"))
	}
	return &ParameterSchema{schema: sch}, nil
}

// Validate checks parameters; a nil schema accepts anything.
func (s *ParameterSchema) Validate(params map[string]any) error {
	if s == nil {
		return nil
	}
	if params == nil {
		params = map[string]any{}
	}
	if err := schema.Validate(s.schema, params); err != nil {
		return fmt.Errorf("parameters do not match parameterSchema: %s", problemsText(err, "parameter"))
	}
	return nil
}

// SchemaCache compiles each distinct parameterSchema once, keyed by its
// JSON: the deployments of a flow share the schema Prefect generates from
// its signature, and compiling one costs more than everything else about
// a deployment. Safe for concurrent use; the zero value is ready.
type SchemaCache struct {
	mu sync.Mutex
	m  map[string]*compiledSchema
}

type compiledSchema struct {
	once   sync.Once
	schema *ParameterSchema
	err    error
}

// Compile is CompileParameterSchema, once per distinct schema, also when
// several goroutines ask for it at once (the others wait for the one
// compiling); a nil cache compiles every time.
func (c *SchemaCache) Compile(schema map[string]any) (*ParameterSchema, error) {
	if c == nil {
		return CompileParameterSchema(schema)
	}
	key, err := json.Marshal(schema)
	if err != nil {
		return CompileParameterSchema(schema) // reports what JSON cannot hold
	}
	c.mu.Lock()
	r, ok := c.m[string(key)]
	if !ok {
		if c.m == nil {
			c.m = map[string]*compiledSchema{}
		}
		r = &compiledSchema{}
		c.m[string(key)] = r
	}
	c.mu.Unlock()
	r.once.Do(func() { r.schema, r.err = CompileParameterSchema(schema) })
	return r.schema, r.err
}

// problemsText is schema.Problems in one line, each problem naming what
// it is in: `parameter "count": expected integer, got string`.
func problemsText(err error, what string) string {
	problems, ok := schema.Problems(err)
	if !ok {
		return err.Error()
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		if p.Path == "" {
			msgs[i] = p.Msg
			continue
		}
		msgs[i] = fmt.Sprintf("%s %q: %s", what, p.Path, p.Msg)
	}
	return strings.Join(msgs, "; ")
}
