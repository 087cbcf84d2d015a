package jobtemplate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubectl-flows/kubectl-flows/internal/editdistance"
	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
	"github.com/kubectl-flows/kubectl-flows/internal/schema"
	"github.com/kubectl-flows/kubectl-flows/internal/yamljson"
)

// Template is a parsed base job template: Prefect's
// {"job_configuration": {...}, "variables": {JSON Schema}}. It is immutable
// after Parse and safe for concurrent use; the variables schema is compiled
// once, here, and reused by every Validate and Resolve.
type Template struct {
	jobConfig  map[string]any // job_configuration as parsed
	variables  map[string]any // the variables JSON Schema as parsed
	properties map[string]any // variables.properties
	names      []string       // sorted variable names
	defaults   map[string]any // every declared "default", null ones as nil
	setDefs    map[string]any // the non-null defaults (what Prefect's worker applies)

	config mapNode // job_configuration, pre-parsed for templating

	schema  *jsonschema.Schema // variables
	partial *jsonschema.Schema // variables with every "required" removed

	canonical []byte // MarshalJSON output
}

//go:embed default.json
var defaultJSON []byte

var defaultTemplate = sync.OnceValue(func() *Template {
	t, err := Parse(defaultJSON, "jobtemplate/default.json")
	if err != nil {
		panic("jobtemplate: embedded default template is invalid: " + err.Error())
	}
	return t
})

// Default returns the embedded default template (Prefect's Kubernetes worker
// variables plus active_deadline_seconds, node_selector and tolerations).
// The returned Template is shared; it is immutable.
func Default() *Template { return defaultTemplate() }

// DefaultJSON returns the embedded default template as written in
// jobtemplate/default.json (pretty, two-space indent, sorted keys).
func DefaultJSON() []byte { return bytes.Clone(defaultJSON) }

// Parse reads a base job template in JSON or YAML. source names where it came
// from and prefixes every error ("base-job-template.json",
// "flows.yaml: pools[0].baseJobTemplate").
func Parse(data []byte, source string) (*Template, error) {
	v, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return parseValue(v, source)
}

// ParseValue is Parse for a template that is already decoded, e.g. a node of
// a YAML file the caller has unmarshalled (map[string]any and friends).
func ParseValue(v any, source string) (*Template, error) {
	n, err := jsonvalue.Normalize(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return parseValue(n, source)
}

func decode(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty base job template")
	}
	var v any
	if trimmed[0] == '{' || trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", jsonErrorAt(trimmed, err))
		}
		if dec.More() {
			return nil, errors.New("invalid JSON: data after the template object")
		}
		return v, nil
	}
	if err := yamljson.Unmarshal(trimmed, &v); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	return v, nil
}

// jsonErrorAt adds line:column to encoding/json syntax errors.
func jsonErrorAt(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return err
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	// Offset counts the offending byte.
	before := data[:max(off-1, 0)]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func parseValue(v any, source string) (*Template, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", source, fmt.Sprintf(format, args...))
	}
	jc, vars, props, err := templateParts(v, fail)
	if err != nil {
		return nil, err
	}
	t := newTemplate(jc, vars, props)
	if t.schema, err = compileSchema(vars); err != nil {
		return nil, schemaError(source, err)
	}
	if t.partial, err = compileSchema(withoutRequired(vars).(map[string]any)); err != nil {
		return nil, schemaError(source, err)
	}
	if err := t.compilePlaceholders(fail); err != nil {
		return nil, err
	}

	// Defaults must satisfy their own schema (Prefect validates a work
	// pool's defaults when the pool is created or updated).
	if err := t.validateWith(t.partial, t.setDefs, "default of job variable"); err != nil {
		return nil, fail("variables: %v", err)
	}

	if t.canonical, err = marshalCompact(map[string]any{"job_configuration": jc, "variables": vars}); err != nil {
		return nil, fail("%v", err)
	}
	return t, nil
}

// templateParts checks a base job template's shape and returns its
// job_configuration, its variables and their properties.
func templateParts(v any, fail func(format string, args ...any) error) (jc, vars, props map[string]any, err error) {
	root, ok := v.(map[string]any)
	if !ok {
		return nil, nil, nil, fail("a base job template must be an object with job_configuration and variables, got %s", jsonType(v))
	}
	for _, k := range sortedKeys(root) {
		if k != "job_configuration" && k != "variables" {
			hint := ""
			if k == "base_job_template" {
				hint = " (this looks like a whole work pool; use the value of its base_job_template)"
			}
			return nil, nil, nil, fail("unexpected top-level key %q: a base job template has only job_configuration and variables%s", k, hint)
		}
	}
	if jc, err = jobConfiguration(root, fail); err != nil {
		return nil, nil, nil, err
	}
	vars, ok = root["variables"].(map[string]any)
	if !ok {
		if _, present := root["variables"]; !present {
			return nil, nil, nil, fail("missing variables (the JSON Schema of the job variables)")
		}
		return nil, nil, nil, fail("variables must be a JSON Schema object, got %s", jsonType(root["variables"]))
	}
	props = map[string]any{}
	if p, present := vars["properties"]; present {
		if props, ok = p.(map[string]any); !ok {
			return nil, nil, nil, fail("variables.properties must be an object, got %s", jsonType(p))
		}
	}
	return jc, vars, props, nil
}

// jobConfiguration is a template's job_configuration, whose job_manifest
// must be a batch/v1 Job.
func jobConfiguration(root map[string]any, fail func(format string, args ...any) error) (map[string]any, error) {
	jc, ok := root["job_configuration"].(map[string]any)
	if !ok {
		if _, present := root["job_configuration"]; !present {
			return nil, fail("missing job_configuration")
		}
		return nil, fail("job_configuration must be an object, got %s", jsonType(root["job_configuration"]))
	}
	manifest, ok := jc["job_manifest"].(map[string]any)
	if !ok {
		if _, present := jc["job_manifest"]; !present {
			return nil, fail("missing job_configuration.job_manifest (a batch/v1 Job)")
		}
		return nil, fail("job_configuration.job_manifest must be an object (a batch/v1 Job), got %s", jsonType(jc["job_manifest"]))
	}
	if av, kind := manifest["apiVersion"], manifest["kind"]; av != "batch/v1" || kind != "Job" {
		return nil, fail("job_configuration.job_manifest must be apiVersion batch/v1, kind Job; got apiVersion %s, kind %s", show(av), show(kind))
	}
	return jc, nil
}

// newTemplate is a template of these parts, with its variables' defaults.
func newTemplate(jc, vars, props map[string]any) *Template {
	t := &Template{
		jobConfig:  jc,
		variables:  vars,
		properties: props,
		names:      sortedKeys(props),
		defaults:   map[string]any{},
		setDefs:    map[string]any{},
	}
	for name, p := range props {
		pm, ok := p.(map[string]any)
		if !ok {
			continue // boolean schemas are valid JSON Schema; the compiler checks the rest
		}
		if d, has := pm["default"]; has {
			t.defaults[name] = d
			if d != nil {
				t.setDefs[name] = d
			}
		}
	}
	return t
}

// compilePlaceholders compiles the job configuration's placeholders.
// Every placeholder must name a declared variable (Prefect's server does
// the same check in validate_base_job_template).
func (t *Template) compilePlaceholders(fail func(format string, args ...any) error) error {
	var uses []placeholderUse
	t.config = compileNode(t.jobConfig, "job_configuration", &uses).(mapNode)
	var perrs []error
	for _, u := range uses {
		if _, ok := t.properties[u.p.variable()]; ok {
			continue
		}
		perrs = append(perrs, fail("%s: placeholder %s %s", u.at, u.p.full, unknownPlaceholderReason(u.p, t.names)))
	}
	return errors.Join(perrs...)
}

func unknownPlaceholderReason(p placeholder, known []string) string {
	v := p.variable()
	var why string
	switch {
	case strings.HasPrefix(p.name, "prefect.blocks."):
		why = "references a Prefect block, which kubectl-flows cannot resolve (there is no Prefect API); declare a variable instead, or read a Secret with valueFrom.secretKeyRef"
	case strings.HasPrefix(p.name, "prefect.variables."):
		why = "references a Prefect variable, which kubectl-flows cannot resolve (there is no Prefect API); declare a job variable instead"
	case strings.HasPrefix(p.name, "$"):
		why = "reads an environment variable of the Prefect worker, which kubectl-flows does not do (rendering must not depend on the machine); declare a job variable instead"
	case v == "ctx":
		why = "references the flow-run context, which Prefect only renders inside the value of the name job variable; declare a job variable instead"
	default:
		why = fmt.Sprintf("names no variable %q", v)
	}
	return why + knownList(v, known)
}

func knownList(name string, known []string) string {
	s := " (known: " + strings.Join(known, ", ") + ")"
	if len(known) == 0 {
		s = " (variables.properties declares none)"
	}
	if m := closest(name, known); m != "" {
		s = fmt.Sprintf("; did you mean %q?%s", m, s)
	}
	return s
}

// closest returns the known name within edit distance 2 of name, if any.
func closest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d, ok := editdistance.Distance(name, k); ok && d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func show(v any) string {
	if v == nil {
		return "(none)"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return text(v)
}

// schemaError reports a variables schema the compiler rejects. Metaschema
// violations get one line per problem, with the path inside variables.
func schemaError(source string, err error) error {
	if errors.Is(err, schema.ErrExternalRef) {
		return fmt.Errorf("%s: %w", source, err)
	}
	problems, ok := schema.Problems(err)
	if !ok {
		return fmt.Errorf("%s: variables is not a valid JSON Schema: %w", source, err)
	}
	var errs []error
	for _, p := range problems {
		at := "variables"
		if p.Path != "" {
			at += "." + p.Path
		}
		errs = append(errs, fmt.Errorf("%s: %s is not a valid JSON Schema: %s", source, at, p.Msg))
	}
	return errors.Join(errs...)
}

// compileSchema compiles the variables schema by the one compiler
// (internal/schema): draft 2020-12, the draft Prefect validates job
// variables with, unless it names another in $schema; formats asserted, as
// Prefect's validator does; nothing loaded (Prefect validates with a
// non-fetching registry too), so a template's schema is self-contained.
func compileSchema(doc map[string]any) (*jsonschema.Schema, error) {
	return schema.Compile("variables", doc)
}

// withoutRequired copies a schema with every "required" keyword removed, for
// validating values that are only part of the final set (Prefect's
// ignore_required, used for pools and deployments).
func withoutRequired(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if _, isList := e.([]any); k == "required" && isList {
				continue
			}
			out[k] = withoutRequired(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withoutRequired(e)
		}
		return out
	default:
		return v
	}
}

// MarshalJSON returns the template as compact JSON with sorted keys. Parsing
// the output gives a Template whose MarshalJSON is byte-identical, so it can
// be stored in a ConfigMap and read back.
func (t *Template) MarshalJSON() ([]byte, error) { return bytes.Clone(t.canonical), nil }

// MarshalIndent is MarshalJSON with two-space indentation and a trailing
// newline, the layout of default.json.
func (t *Template) MarshalIndent() ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, t.canonical, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// HasVariable reports whether variables.properties declares name, and if
// not, an error naming it and the declared ones (with the closest), for a
// configuration that names variables, such as a pool's runOverrides.
func (t *Template) HasVariable(name string) error {
	if _, ok := t.properties[name]; ok {
		return nil
	}
	return fmt.Errorf("no job variable %q in the base job template%s", name, knownList(name, t.names))
}

// VariableNames returns the names declared in variables.properties, sorted.
func (t *Template) VariableNames() []string { return append([]string(nil), t.names...) }

// Defaults returns each variable's "default" from the schema. Variables
// whose default is null are included with a nil value; variables without a
// default are absent. The map is a copy.
func (t *Template) Defaults() map[string]any {
	return deepCopy(t.defaults).(map[string]any)
}

// JobConfiguration returns a copy of the template's job_configuration.
func (t *Template) JobConfiguration() map[string]any {
	return deepCopy(t.jobConfig).(map[string]any)
}

// Variables returns a copy of the template's variables JSON Schema.
func (t *Template) Variables() map[string]any {
	return deepCopy(t.variables).(map[string]any)
}
