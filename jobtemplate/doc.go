// Package jobtemplate renders Prefect-compatible base job templates into
// batch/v1 Jobs.
//
// A base job template is exactly what a Prefect Kubernetes work pool uses:
//
//	{"job_configuration": {"job_manifest": {<batch/v1 Job with {{ placeholders }}>}, ...},
//	 "variables": {<JSON Schema of the job variables>}}
//
// so a base-job-template.json exported from Prefect (`prefect work-pool
// get-default-base-job-template --type kubernetes`, or a customised pool's
// template) can be used unchanged. Default returns the template kubectl-flows
// ships (default.json): Prefect's Kubernetes worker variables with the same
// names, defaults and meaning, plus active_deadline_seconds, node_selector and
// tolerations.
//
// # Templating
//
// Placeholders follow Prefect's apply_values
// (prefect/utilities/templating): the pattern is {{\s*([\w.\-\[\]$]+)\s*}};
// a name is a dotted path with optional list indexes (env.FOO, list[0].name,
// Python-style negative indexes too). A string that is exactly one
// placeholder takes the value with its JSON type; when the variable is unset
// the map key or list item holding it is removed. Inside a longer string a
// placeholder is replaced by the value as text, or by "" when unset. Only
// values are templated, never map keys, and inserted values are not
// templated again. Deliberate differences from Prefect: a null value counts
// as unset (Prefect would write null into the manifest, which Kubernetes
// treats as absent anyway), and values are written as JSON text in strings
// (true, not Python's True; objects as compact JSON with sorted keys).
//
// Every placeholder must name a variable declared in variables.properties
// (by its first path segment); Parse reports each one that does not, with
// its JSON path. Prefect's server makes the same check when a pool is saved
// (validate_base_job_template, which even requires the full dotted name).
// Prefect's other placeholder kinds, {{ prefect.blocks.* }},
// {{ prefect.variables.* }}, {{ $ENV_VAR }} and {{ ctx.* }}, are reported as
// well: they need a Prefect API or the worker's environment, which
// kubectl-flows does not have, and leaving them in the Job would be silently
// wrong.
//
// # Job variables
//
// Values are layered schema defaults < pool < deployment jobVariables < run
// jobVariables (Merge); env merges key by key, every other variable is
// replaced whole, as in Prefect's resolve_for_flow_run and
// from_template_and_values. Dotted keys ("env.FOO": "x") are expanded as in
// from_template_and_values. Null unsets a variable (its default included), a
// null env entry removes that environment variable. Only non-null defaults
// are applied (Prefect's _get_base_config_defaults), so a null default leaves
// the variable unset and its placeholder removed.
//
// The merged values are validated with github.com/santhosh-tekuri/jsonschema
// against the variables schema, compiled once per Template with draft
// 2020-12 and format assertions (what Prefect validates with) and without any
// remote loading. Unknown variable names are an error: Prefect accepts and
// silently ignores them. Errors name the variable: `job variable
// "cpu_request": expected string, got number`. Validate enforces "required";
// ValidatePartial, for a pool's or deployment's own level, does not (Prefect's
// ignore_required). Parse validates the schema defaults.
//
// # The Job
//
// Resolve follows Prefect's KubernetesWorkerJobConfiguration.prepare_for_flow_run
// where it applies: env objects become [{name, value}] lists (sorted by name
// here), the first container gets job_configuration.env followed by env
// entries hard-coded in the template that it does not override; a string
// command or args is split with shlex rules; job_configuration labels are
// added to the Job and its pod template and annotations to both; invalid
// label keys and values are slugified (valid ones are never rewritten). Then
// the Job is named Run.Name (generateName dropped), decoded strictly (an
// unknown field is an error naming its path; only Prefect's own misplaced
// spec.template.spec.parallelism/completions are dropped), and every
// container gets FLOWS_DEPLOYMENT, FLOWS_ENTRYPOINT, FLOWS_FLOW,
// FLOWS_PARAMETERS and FLOWS_RUN_NAME first in its env. Those win over user
// env entries of the same name, since they describe the run; being first,
// other entries can refer to them as $(FLOWS_RUN_NAME).
//
// Everything here is pure (no I/O but the embedded default.json),
// deterministic (nothing built from a map depends on its iteration order)
// and safe for concurrent use.
package jobtemplate
