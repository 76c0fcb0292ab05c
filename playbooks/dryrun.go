package playbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PlannedCall is one step of a dry run: what would be called, with which
// inputs, calling nothing.
type PlannedCall struct {
	// StepID is the step's id, as in [Step.ID].
	StepID string
	// Title is the step's display name (see [Step.Title]).
	Title string
	// Uses is the action, or empty for an approval step.
	Uses string
	// With is the rendered inputs, defaults included and env values
	// redacted. Expressions that read earlier steps' results or error are
	// shown as written, since nothing has run.
	With map[string]any
	// Approval is set for approval steps.
	Approval *PlannedApproval
	// If is the step's condition as written, when it depends on earlier
	// steps; Skip is true when it does not and is false already.
	If   string
	Skip bool
	// OnFailure is set for steps of the on_failure list.
	OnFailure bool
	// Destructive and NoApproval come from the action's spec and the
	// step's approval: none, so the plan shows what is risky.
	Destructive bool
	NoApproval  bool
	// ContinueOnError, Retry and Timeout are the step's settings.
	ContinueOnError bool
	Retry           Retry
	Timeout         time.Duration
	// Err says why the step could not be rendered; the run would fail
	// there.
	Err string
}

// PlannedApproval is an approval step in a dry run: the step's [Approval]
// with its message rendered.
type PlannedApproval struct {
	Roles []string
	// Message is the rendered message, env values redacted, or empty for
	// the engine's default wording.
	Message   string
	Required  int
	Timeout   time.Duration
	Escalate  *Escalation
	OnTimeout Decision
}

// DryRun walks every step, including on_failure, rendering what can be
// rendered before the run starts, and returns the plan. env holds the
// bound inputs (see [Playbook.BindInputs]), the incident and the
// variables; Steps and Error are ignored. Env values are redacted in the
// plan, which is meant to be posted to chat.
func (pb *Playbook) DryRun(env Env) []PlannedCall {
	env.Steps, env.Error = nil, ""
	vars := env.vars(pb, nil)
	var out []PlannedCall
	for _, s := range pb.Steps {
		out = append(out, pb.plan(s, env, vars))
	}
	for _, s := range pb.OnFailure {
		out = append(out, pb.plan(s, env, vars))
	}
	return out
}

func (pb *Playbook) plan(s *Step, env Env, vars map[string]any) PlannedCall {
	c := PlannedCall{
		StepID: s.ID, Title: env.RedactString(s.Title(env)), Uses: s.Uses,
		OnFailure: s.OnFailure, Destructive: s.Action.Destructive, NoApproval: s.NoApproval,
		ContinueOnError: s.ContinueOnError, Retry: s.Retry, Timeout: s.Timeout,
	}
	var errs []string
	if s.If != nil {
		if s.If.refsDynamic() {
			c.If = s.If.String()
		} else if ok, err := s.shouldRun(vars); err != nil {
			errs = append(errs, err.Error())
		} else {
			c.Skip = !ok
		}
	}
	if a := s.Approval; a != nil {
		pa := &PlannedApproval{Roles: a.Roles, Required: a.Required, Timeout: a.Timeout, Escalate: a.Escalate, OnTimeout: a.OnTimeout}
		if a.Message != nil {
			if v, err := a.Message.render(vars, dryRun); err != nil {
				errs = append(errs, "approval.message: "+err.Error())
			} else if t, err := toText(v); err == nil {
				pa.Message = env.RedactString(t)
			}
		}
		c.Approval = pa
	} else {
		with, err := s.renderWith(vars, dryRun)
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			c.With = env.Redact(with).(map[string]any)
		}
	}
	if len(errs) > 0 {
		c.Err = env.RedactString(strings.Join(errs, "; "))
	}
	return c
}

// String renders the planned call on one line, for chat and golden tests.
func (c PlannedCall) String() string {
	var b strings.Builder
	if c.OnFailure {
		b.WriteString("on failure: ")
	}
	if c.Title != c.Uses {
		b.WriteString(c.Title)
		b.WriteString(": ")
	}
	if a := c.Approval; a != nil {
		fmt.Fprintf(&b, "approval by %s", strings.Join(a.Roles, " or "))
		if a.Required > 1 {
			fmt.Fprintf(&b, " (%d people)", a.Required)
		}
		if a.Timeout > 0 {
			fmt.Fprintf(&b, ", timeout %s", shortDuration(a.Timeout))
		}
		if a.OnTimeout == Approve {
			b.WriteString(", approved on timeout")
		}
		if a.Escalate != nil {
			fmt.Fprintf(&b, ", escalate to %s after %s", strings.Join(a.Escalate.Roles, " or "), shortDuration(a.Escalate.After))
		}
		if a.Message != "" {
			fmt.Fprintf(&b, ": %q", a.Message)
		}
	} else {
		b.WriteString(c.Uses)
		if c.Destructive {
			if c.NoApproval {
				b.WriteString(" (destructive, approval waived)")
			} else {
				b.WriteString(" (destructive)")
			}
		}
		if c.With != nil {
			b.WriteByte(' ')
			b.WriteString(compactJSON(c.With))
		}
		if c.Retry.Attempts > 1 {
			fmt.Fprintf(&b, ", up to %d attempts", c.Retry.Attempts)
			if c.Retry.Backoff > 0 {
				fmt.Fprintf(&b, " (backoff %s, doubling)", shortDuration(c.Retry.Backoff))
			}
		}
		if c.Timeout > 0 {
			fmt.Fprintf(&b, ", timeout %s", shortDuration(c.Timeout))
		}
		if c.ContinueOnError {
			b.WriteString(", failure ignored")
		}
	}
	if c.If != "" {
		b.WriteString(", if " + c.If)
	}
	if c.Skip {
		b.WriteString(" [skipped: its if: is false]")
	}
	if c.Err != "" {
		b.WriteString(" [error: " + c.Err + "]")
	}
	return b.String()
}

// compactJSON renders v as JSON with sorted keys and no HTML escaping.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// shortDuration prints 30m rather than 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
