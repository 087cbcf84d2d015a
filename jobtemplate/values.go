package jobtemplate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubectl-flows/kubectl-flows/internal/jsonvalue"
	"github.com/kubectl-flows/kubectl-flows/internal/schema"
)

// Merge layers job-variable maps, lowest precedence first (pool, then
// deployment jobVariables, then run jobVariables). Every key is replaced
// whole by a higher level except "env", which merges key by key (Prefect's
// resolve_for_flow_run and from_template_and_values do the same).
//
// Within a level, dotted keys are expanded first, as Prefect's
// from_template_and_values does: {"env.FOO": "x"} is {"env": {"FOO": "x"}},
// and a nested value given for the same variable wins over dotted ones.
//
// A null value is kept, so that it overrides lower levels: a null variable
// means "unset" (its default is not applied either), a null env entry removes
// that variable from the environment. Merge never modifies its arguments; the
// result shares no maps or lists with them.
func Merge(levels ...map[string]any) map[string]any {
	expanded := make([]map[string]any, len(levels))
	for i, level := range levels {
		expanded[i] = expandLevel(level)
	}
	return mergeExpanded(expanded...)
}

// mergeExpanded is Merge for levels that are already expanded. The result
// is a new top-level map (and a new env map where env was merged); other
// values are shared with the levels.
func mergeExpanded(levels ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, level := range levels {
		for k, v := range level {
			if k == "env" {
				if lower, ok := out["env"].(map[string]any); ok {
					if higher, ok := v.(map[string]any); ok {
						merged := make(map[string]any, len(lower)+len(higher))
						for ek, ev := range lower {
							merged[ek] = ev
						}
						for ek, ev := range higher {
							merged[ek] = ev
						}
						out["env"] = merged
						continue
					}
				}
			}
			out[k] = v
		}
	}
	return out
}

// VariableOf is the variable a key of a level of job variables sets: the
// key itself, or its first segment for a dotted key ("env.LOG_LEVEL" sets
// env), as expandLevel reads it.
func VariableOf(key string) string {
	name, _, _ := strings.Cut(key, ".")
	return name
}

// expandLevel normalizes one level of job variables to JSON values (fresh
// maps and lists) and expands its dotted keys.
func expandLevel(level map[string]any) map[string]any {
	out := make(map[string]any, len(level))
	keys := sortedKeys(level) // dotted keys may overlap ("a.b", "a.b.c"): apply them in a fixed order
	for _, k := range keys {
		if strings.Contains(k, ".") {
			setIn(out, strings.Split(k, "."), normalizeOrKeep(level[k]))
		}
	}
	for _, k := range keys {
		if strings.Contains(k, ".") {
			continue
		}
		v := normalizeOrKeep(level[k])
		if dst, ok := out[k].(map[string]any); ok {
			if src, ok := v.(map[string]any); ok {
				out[k] = deepMerge(dst, src)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func normalizeOrKeep(v any) any {
	if n, err := jsonvalue.Normalize(v); err == nil {
		return n
	}
	return v // validation reports it
}

// setIn is Prefect's set_in_dict: it creates (or replaces non-map) parents.
func setIn(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// deepMerge merges src into dst recursively, src winning (Prefect's
// deep_merge). dst is modified and returned.
func deepMerge(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if d, ok := dst[k].(map[string]any); ok {
			if s, ok := v.(map[string]any); ok {
				dst[k] = deepMerge(d, s)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// Validate checks job variables against the template: every name must be a
// declared variable (Prefect would silently ignore unknown ones, so we
// reject them), and the values, with the schema defaults applied beneath
// them, must satisfy the variables schema, "required" included. values are
// the merged pool < deployment < run levels (see Merge), without defaults.
func (t *Template) Validate(values map[string]any) error {
	_, err := t.values(values, Run{}, t.schema)
	return err
}

// ValidatePartial is Validate for one level that is not the final set (a
// pool's or a deployment's jobVariables): "required" is not enforced, since
// a later level may still supply the value. Prefect validates deployments
// the same way (ignore_required).
func (t *Template) ValidatePartial(values map[string]any) error {
	_, err := t.values(values, Run{}, t.partial)
	return err
}

// values builds the variables used for templating: schema defaults (non-null
// ones, like Prefect's _get_base_config_defaults), then the run's name and
// namespace when the template declares those variables, then values with env
// merged key by key. Null values and null env entries are then dropped
// (unset). The result is validated against schema.
func (t *Template) values(values map[string]any, run Run, schema *jsonschema.Schema) (map[string]any, error) {
	given := expandLevel(values)
	var unknown []error
	for _, k := range sortedKeys(given) {
		if _, ok := t.properties[k]; !ok {
			unknown = append(unknown, fmt.Errorf("unknown job variable %q%s", k, knownList(k, t.names)))
		}
	}
	if len(unknown) > 0 {
		return nil, errors.Join(unknown...)
	}

	vars := make(map[string]any, len(t.setDefs)+len(given)+2)
	for k, v := range t.setDefs {
		vars[k] = v
	}
	if _, ok := t.properties["name"]; ok && run.Name != "" {
		vars["name"] = run.Name
	}
	if _, ok := t.properties["namespace"]; ok && run.Namespace != "" {
		vars["namespace"] = run.Namespace
	}
	merged := mergeExpanded(vars, given)
	for k, v := range merged {
		if v == nil {
			delete(merged, k)
		}
	}
	if env, ok := merged["env"].(map[string]any); ok {
		// A fresh map: env may still be the Template's default, which is shared.
		clean := make(map[string]any, len(env))
		for k, v := range env {
			if v != nil {
				clean[k] = v
			}
		}
		merged["env"] = clean
	}
	if err := t.validateWith(schema, merged, "job variable"); err != nil {
		return nil, err
	}
	return merged, nil
}

// validateWith validates vars and turns the library's error tree into one
// line per problem, each naming the variable: `job variable "cpu_request":
// expected string, got number`.
func (t *Template) validateWith(sch *jsonschema.Schema, vars map[string]any, what string) error {
	err := sch.Validate(vars)
	if err == nil {
		return nil
	}
	problems, ok := schema.Problems(err)
	if !ok {
		return fmt.Errorf("validating job variables: %w", err)
	}
	errs := make([]error, 0, len(problems))
	for _, p := range problems {
		if p.Path == "" {
			errs = append(errs, fmt.Errorf("job variables: %s", p.Msg))
			continue
		}
		errs = append(errs, fmt.Errorf("%s %q: %s", what, p.Path, p.Msg))
	}
	return errors.Join(errs...)
}
