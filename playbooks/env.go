package playbooks

import (
	"cmp"
	"slices"
	"strings"
)

// Env is what expressions see when a run renders a template. The engine
// fills it from the run's record before each step.
//
// Values must be plain data, as encoding/json produces it: map[string]any,
// []any, string, float64 or int, bool and nil. Expressions can read fields
// of anything they are given, and can call no methods, but a Go value with
// methods would still expose its internals to a playbook; plain data also
// keeps what a run persists and what an expression saw the same.
type Env struct {
	// Inputs are the run's bound inputs (see [Playbook.BindInputs]).
	Inputs map[string]any
	// Incident describes the incident the run belongs to: id, ref, title,
	// severity, status, channel and so on, as the engine chooses.
	Incident map[string]any
	// Alert is the alert that started the run, or empty.
	Alert map[string]any
	// Steps holds the state of the steps that have run or are running,
	// by step id. Steps of the playbook that are missing here read as
	// pending with no outputs, so expressions about them fail softly.
	Steps map[string]StepState
	// Error is the failed step's error, set for on_failure steps.
	Error string
	// Vars are the environment variables named in config playbook_env,
	// and only those: expressions read them as env.NAME.
	Vars map[string]string
}

// StepState is what later expressions can read about a step:
// steps.<id>.status, steps.<id>.outputs and steps.<id>.error.
type StepState struct {
	// Status is the step's state; empty reads as pending.
	Status Status
	// Outputs are what [Step.RenderOutputs] returned, once it succeeded.
	Outputs map[string]any
	// Error is the step's error message, once it failed. It should be
	// redacted (see [Env.Redact]) like anything else the engine records.
	Error string
}

// emptyMap and emptyVars stand in for absent maps. expr cannot write to
// what it reads, so sharing them is safe.
var (
	emptyMap  = map[string]any{}
	emptyVars = map[string]string{}
)

// pendingStep is how a step that has not run yet reads.
var pendingStep = map[string]any{"status": string(StatusPending), "outputs": emptyMap, "error": ""}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return emptyMap
	}
	return m
}

// vars builds expr's environment. Every root is present and every map is
// non-nil, because expr fails on reading a field of nil: with this,
// steps.later.outputs.x is nil rather than an error.
func (e Env) vars(pb *Playbook, result map[string]any) map[string]any {
	n := len(e.Steps)
	if pb != nil {
		n = len(pb.steps)
	}
	steps := make(map[string]any, n)
	for id, st := range e.Steps {
		status := st.Status
		if status == "" {
			status = StatusPending
		}
		steps[id] = map[string]any{"status": string(status), "outputs": orEmpty(st.Outputs), "error": st.Error}
	}
	if pb != nil {
		for id := range pb.steps {
			if _, ok := steps[id]; !ok {
				steps[id] = pendingStep
			}
		}
	}
	vars := e.Vars
	if vars == nil {
		vars = emptyVars
	}
	return map[string]any{
		"inputs":   orEmpty(e.Inputs),
		"incident": orEmpty(e.Incident),
		"alert":    orEmpty(e.Alert),
		"steps":    steps,
		"error":    e.Error,
		"env":      vars,
		"result":   orEmpty(result),
	}
}

// minRedactLen is the shortest variable value Redact hides: shorter ones
// ("1", "on") would mangle unrelated text and are not secrets anyway.
const minRedactLen = 4

// Redact returns a copy of v in which every string has the values of
// e.Vars replaced by "[env.NAME]". Variables in playbook_env are how
// playbooks get API tokens, and secrets must never reach chat, logs or the
// case log: the dry run redacts what it shows, and the engine should
// redact rendered inputs and errors the same way before it records them.
func (e Env) Redact(v any) any {
	if len(e.Vars) == 0 {
		return v
	}
	type kv struct{ name, val string }
	var secrets []kv
	for name, val := range e.Vars {
		if len(val) >= minRedactLen {
			secrets = append(secrets, kv{name, val})
		}
	}
	// Longest first, so a value containing another is replaced whole.
	slices.SortFunc(secrets, func(a, b kv) int {
		return cmp.Or(cmp.Compare(len(b.val), len(a.val)), cmp.Compare(a.name, b.name))
	})
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			for _, s := range secrets {
				if strings.Contains(v, s.val) {
					v = strings.ReplaceAll(v, s.val, "[env."+s.name+"]")
				}
			}
			return v
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[k] = walk(x)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		case []string:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		}
		return v
	}
	return walk(v)
}

// RedactString is Redact for one string, for error messages.
func (e Env) RedactString(s string) string {
	return e.Redact(s).(string)
}
