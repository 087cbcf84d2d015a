package dashboard

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Field is one input of a Run form, generated from a property of the
// deployment's parameterSchema. The browser checks what HTML can (type,
// required, min/max, lengths, pattern, enum); the server converts the
// values to JSON types and validates them again against the whole schema
// on submit, through the same function `kubectl flows run` uses.
type Field struct {
	Name        string
	Title       string
	Description string
	// Kind is the input: string, integer, number, boolean, enum or json.
	Kind      string
	Enum      []string
	Required  bool
	Min, Max  string // numbers, as HTML attributes; "" unset
	MinLength string
	MaxLength string
	Pattern   string
	// Value is the default as the input shows it.
	Value string
}

// formPrefix keeps parameter inputs apart from the form's own fields.
const formPrefix = "p."

// InputName is the form field name of a parameter.
func (f Field) InputName() string { return formPrefix + f.Name }

// Fields builds the form of a deployment from its parameterSchema (JSON
// Schema as Prefect writes it) and default parameters. Properties come in
// Prefect's "position" order when given, else by name.
func Fields(schema, defaults map[string]any) []Field {
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	for n := range defaults {
		if _, ok := props[n]; !ok {
			names = append(names, n)
		}
	}
	pos := func(n string) float64 {
		if p, ok := props[n].(map[string]any); ok {
			if v, ok := p["position"].(float64); ok {
				return v
			}
		}
		return 1e9
	}
	sort.Slice(names, func(i, j int) bool {
		if pi, pj := pos(names[i]), pos(names[j]); pi != pj {
			return pi < pj
		}
		return names[i] < names[j]
	})
	var out []Field
	for _, n := range names {
		p, _ := props[n].(map[string]any)
		f := Field{Name: n, Title: n, Kind: "json"}
		if t, ok := p["title"].(string); ok && t != "" {
			f.Title = t
		}
		f.Description, _ = p["description"].(string)
		def, hasDef := defaults[n]
		if !hasDef {
			def, hasDef = p["default"]
		}
		f.Required = required[n] && !hasDef
		switch t, _ := p["type"].(string); t {
		case "string", "integer", "number", "boolean":
			f.Kind = t
		}
		if enum, ok := p["enum"].([]any); ok && len(enum) > 0 {
			allStrings := true
			for _, e := range enum {
				s, ok := e.(string)
				allStrings = allStrings && ok
				f.Enum = append(f.Enum, s)
			}
			if allStrings {
				f.Kind = "enum"
			} else {
				f.Enum = nil
			}
		}
		f.Min, f.Max = number(p["minimum"]), number(p["maximum"])
		f.MinLength, f.MaxLength = number(p["minLength"]), number(p["maxLength"])
		f.Pattern, _ = p["pattern"].(string)
		if hasDef {
			f.Value = formValue(f.Kind, def)
		}
		out = append(out, f)
	}
	return out
}

func number(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	if i, ok := v.(int64); ok {
		return strconv.FormatInt(i, 10)
	}
	return ""
}

// formValue shows a value in an input of the given kind.
func formValue(kind string, v any) string {
	switch kind {
	case "string", "enum":
		if s, ok := v.(string); ok {
			return s
		}
	case "boolean":
		if b, ok := v.(bool); ok && b {
			return "true"
		}
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ParseParams turns a submitted Run form into parameters: each input is
// converted to its field's JSON type; an empty input is left out, so the
// deployment's default applies. Unknown inputs are refused.
func ParseParams(fields []Field, form url.Values) (map[string]any, error) {
	byName := map[string]Field{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	out := map[string]any{}
	for key, vals := range form {
		name, ok := strings.CutPrefix(key, formPrefix)
		if !ok {
			continue
		}
		f, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("parameter %q is not in the deployment's parameterSchema or defaults", name)
		}
		v := ""
		if len(vals) > 0 {
			v = vals[len(vals)-1]
		}
		if v == "" && f.Kind != "boolean" {
			continue
		}
		switch f.Kind {
		case "string", "enum":
			out[name] = v
		case "integer":
			i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %q is not an integer", name, v)
			}
			out[name] = i
		case "number":
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: %q is not a number", name, v)
			}
			out[name] = n
		case "boolean":
			out[name] = v == "true" || v == "on"
		default:
			var j any
			if err := json.Unmarshal([]byte(v), &j); err != nil {
				return nil, fmt.Errorf("parameter %s: not valid JSON: %v", name, err)
			}
			out[name] = j
		}
	}
	// An unchecked box sends nothing: a boolean field the form showed
	// becomes false only when the form says it was shown.
	for _, f := range fields {
		if f.Kind == "boolean" && form.Get("shown."+f.Name) != "" {
			if _, ok := out[f.Name]; !ok {
				out[f.Name] = false
			}
		}
	}
	return out, nil
}
