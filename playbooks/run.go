package playbooks

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
)

// This file is the run-time half of the model: what the engine calls to
// turn a step into an action call. None of it calls anything.

// RenderWith renders the step's with: in env and checks the result against
// the action's spec: values are converted to the declared types where that
// is lossless ("200" for an int input), defaults are filled in, and a
// required input that rendered empty is an error. The result is what
// connectors.Call.With expects. It is a fresh map the caller may keep.
func (s *Step) RenderWith(env Env) (map[string]any, error) {
	return s.renderWith(env.vars(s.pb, nil), false)
}

func (s *Step) renderWith(vars map[string]any, mode renderMode) (map[string]any, error) {
	out := make(map[string]any, len(s.Action.Inputs))
	for _, k := range s.withOrder {
		v, err := s.With[k].render(vars, mode, "with."+k)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[k] = v
		}
	}
	for _, f := range s.Action.Inputs {
		v, ok := out[f.Name]
		if !ok {
			if f.Default != nil {
				out[f.Name] = f.Default
				continue
			}
			if f.Required {
				return nil, fmt.Errorf("with.%s: required input is empty", f.Name)
			}
			continue
		}
		if mode == dryRun {
			continue // values from earlier steps are placeholders
		}
		c, err := coerce(f.Type, v)
		if err != nil {
			return nil, fmt.Errorf("with.%s: %w", f.Name, err)
		}
		if f.Required && isEmpty(c) {
			return nil, fmt.Errorf("with.%s: required input is empty", f.Name)
		}
		out[f.Name] = c
	}
	return out, nil
}

// coerce converts a rendered value to a declared type, or says why it
// cannot. It accepts the forms JSON and text produce: 200.0 and "200" for
// an int, "true" for a bool.
func coerce(t connectors.Type, v any) (any, error) {
	switch t {
	case connectors.String:
		switch v.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("expected text, got %s", kindOf(v))
		}
		return toText(v)
	case connectors.Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			if int64(int(x)) == x {
				return int(x), nil
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
		case json.Number:
			if i, err := x.Int64(); err == nil && int64(int(i)) == i {
				return int(i), nil
			}
		case string:
			if i, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return i, nil
			}
		}
		return nil, fmt.Errorf("expected a whole number, got %s", kindOf(v))
	case connectors.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("expected true or false, got %s", kindOf(v))
	case connectors.Duration:
		switch x := v.(type) {
		case time.Duration:
			return x.String(), nil
		case string:
			if _, err := config.ParseDuration(x); err != nil {
				return nil, err
			}
			return strings.TrimSpace(x), nil
		}
		return nil, fmt.Errorf("expected a duration such as 30s, got %s", kindOf(v))
	case connectors.Map:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("expected a mapping, got %s", kindOf(v))
	case connectors.List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		}
		return nil, fmt.Errorf("expected a list, got %s", kindOf(v))
	}
	return v, nil
}

// kindOf names a value's kind for messages, without its content, which may
// be sensitive.
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		if len(x) <= 40 {
			return "the text " + strconv.Quote(x)
		}
		return fmt.Sprintf("text of %d bytes", len(x))
	case bool:
		return strconv.FormatBool(x)
	case int, int64, float64, json.Number:
		return "a number"
	case map[string]any:
		return "a mapping"
	case []any, []string:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// ShouldRun evaluates the step's if: in env. A step without one always
// runs. The condition must give true or false; nothing (a missing field)
// counts as false, so that "steps.x.outputs.ok" on a step that returned no
// such field skips rather than fails.
func (s *Step) ShouldRun(env Env) (bool, error) {
	if s.If == nil {
		return true, nil
	}
	return s.shouldRun(env.vars(s.pb, nil))
}

func (s *Step) shouldRun(vars map[string]any) (bool, error) {
	v, err := s.If.render(vars, false)
	if err != nil {
		return false, fmt.Errorf("if: %w", err)
	}
	switch b := v.(type) {
	case nil:
		return false, nil
	case bool:
		return b, nil
	}
	return false, fmt.Errorf("if: %s gave %s, not true or false", s.If, kindOf(v))
}

// RenderOutputs computes what later steps see as steps.<id>.outputs: the
// action's result, with the step's own outputs: added on top. In those
// expressions, result is the action's result (for an approval step, its
// decision and approvers).
func (s *Step) RenderOutputs(env Env, result map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(result)+len(s.Outputs))
	for k, v := range result {
		out[k] = v
	}
	if len(s.Outputs) == 0 {
		return out, nil
	}
	vars := env.vars(s.pb, result)
	keys := make([]string, 0, len(s.Outputs))
	for k := range s.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := s.Outputs[k].render(vars, false, "outputs."+k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// Title is the step's display name for the progress message: its rendered
// name:, else its id, else what it does. It never fails: a title is not
// worth stopping a run for.
func (s *Step) Title(env Env) string {
	if s.Name != nil {
		if v, err := s.Name.render(env.vars(s.pb, nil), false); err == nil {
			if t, err := toText(v); err == nil && strings.TrimSpace(t) != "" {
				return t
			}
		}
	}
	if !strings.Contains(s.ID, "[") {
		return s.ID
	}
	if s.Uses != "" {
		return s.Uses
	}
	return "approval"
}

// ApprovalMessage renders the text an approval step shows above the
// Approve / Deny buttons. Without a message: in the playbook it says which
// roles are asked.
func (s *Step) ApprovalMessage(env Env) (string, error) {
	a := s.Approval
	if a == nil {
		return "", fmt.Errorf("step %s is not an approval step", s.ID)
	}
	if a.Message == nil {
		return fmt.Sprintf("Approval needed from %s to continue %s.", strings.Join(a.Roles, " or "), s.pb.Name), nil
	}
	v, err := a.Message.render(env.vars(s.pb, nil), false)
	if err != nil {
		return "", fmt.Errorf("approval.message: %w", err)
	}
	return toText(v)
}
