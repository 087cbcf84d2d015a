package project

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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

// CompileParameterSchema compiles a deployment's parameterSchema.
func CompileParameterSchema(schema map[string]any) (*ParameterSchema, error) {
	sch, err := compileSchema("parameterSchema", schema)
	if err != nil {
		return nil, fmt.Errorf("parameterSchema is not a valid JSON Schema: %v", err)
	}
	return &ParameterSchema{schema: sch}, nil
}

// Validate checks parameters; a nil schema accepts anything.
func (s *ParameterSchema) Validate(params map[string]any) error {
	if s == nil {
		return nil
	}
	inst, err := jsonValue(params)
	if err != nil {
		return err
	}
	if inst == nil {
		inst = map[string]any{}
	}
	if err := s.schema.Validate(inst); err != nil {
		return fmt.Errorf("parameters do not match parameterSchema: %s", validationMessage(err))
	}
	return nil
}

func compileSchema(name string, schema map[string]any) (*jsonschema.Schema, error) {
	doc, err := jsonValue(schema)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name+".json", doc); err != nil {
		return nil, err
	}
	return c.Compile(name + ".json")
}

// jsonValue round-trips v through JSON the way the schema library expects
// (numbers as json.Number), whatever decoder produced v.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
}

// validationMessage flattens the library's error tree into one line per
// failing value, e.g. `/count: got string, want integer`.
func validationMessage(err error) string {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	var msgs []string
	var walk func(*jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			loc := "/" + strings.Join(v.InstanceLocation, "/")
			msgs = append(msgs, fmt.Sprintf("%s: %s", loc, v.ErrorKind.LocalizedString(englishPrinter)))
			return
		}
		for _, c := range v.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(msgs, "; ")
}

var englishPrinter = message.NewPrinter(language.English)
