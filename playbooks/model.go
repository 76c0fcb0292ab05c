package playbooks

import (
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// Playbook is one validated playbook file. It is immutable once loaded, so a
// Set can be shared by every run and command without locking.
type Playbook struct {
	// Name is how /playbook run and the case log refer to the playbook.
	Name string
	// Description is one line for /playbook list.
	Description string
	// File is the path the playbook was loaded from, for messages.
	File string
	// Digest is the hex SHA-256 of the file's bytes. A run records it so
	// that, after a restart or a reload, the engine can tell whether the
	// definition it is continuing is still the one the run started with.
	Digest string
	// On says what starts the playbook besides /playbook run.
	On Trigger
	// Inputs are in declaration order, which is the order positional
	// command arguments bind in.
	Inputs []Input
	// Steps run in order.
	Steps []*Step
	// OnFailure runs, in order, when a step fails and the run stops.
	OnFailure []*Step
	// Pos is where the playbook's mapping starts.
	Pos Pos

	// steps indexes Steps and OnFailure by ID.
	steps map[string]*Step
	// namePos and commandPos locate name and on.command, for the checks
	// across files.
	namePos, commandPos Pos
}

// Trigger says what starts a playbook besides /playbook run NAME.
type Trigger struct {
	// Command is a slash-command word ("contain" for /contain), or empty.
	Command string
	// Alert, if not nil, starts the playbook on matching alerts.
	Alert *AlertMatch
}

// AlertMatch selects alerts. Every criterion that is set must match; at
// least one is always set, because a playbook that starts on every alert is
// far more likely a mistake than a wish.
type AlertMatch struct {
	// Sources lists alert sources ("wazuh"). An entry without a slash also
	// matches the sub-sources of that source ("generic" matches
	// "generic/guardduty"). Empty matches any source.
	Sources []string
	// Severities lists normalised severities (critical, high, medium, low,
	// info). Empty matches any severity.
	Severities []string
	// Labels must all be present on the alert with exactly these values.
	Labels map[string]string
}

// Input is one declared playbook input.
type Input struct {
	// Name is how expressions read the input: inputs.<name>.
	Name string
	// Type is one of connectors.String, Int, Bool or Duration: the types a
	// person can type in a chat command.
	Type connectors.Type
	// Required inputs must end up non-empty after defaults are applied.
	Required bool
	// Default is the literal default value, already of Type, or nil. When
	// the default is an expression (DefaultExpr), Default is nil.
	Default any
	// DefaultExpr is a ${{ }} default computed when the run starts, from
	// alert, incident and env only. It lets a playbook that starts on
	// alerts take its target from the alert:
	// default: ${{ alert.labels.host }}.
	DefaultExpr *Template
	// Description is shown in the usage text.
	Description string
}

// Step is one step of a playbook: either an action call (Uses is set) or an
// approval gate (Approval is set), never both. Keeping approval a step of
// its own, rather than an option of an action step, gives it its own line
// in the progress message and its own state, and lets one approval cover
// several risky steps after it.
type Step struct {
	// ID names the step in expressions (steps.<id>) and in the engine's
	// records and idempotency keys. Steps without an id: in the file get
	// "steps[N]" or "on_failure[N]", which no expression can refer to.
	ID string
	// Name is a display title, possibly with ${{ }}; see [Step.Title].
	Name *Template
	// Uses is the action name ("http.request"), empty for approval steps.
	Uses string
	// Action is the action's declared spec: the engine needs Destructive
	// and Idempotent, and RenderWith needs the input types and defaults.
	Action connectors.Spec
	// With holds the compiled inputs; see [Step.RenderWith].
	With map[string]Value
	// If is the run condition, or nil for "always".
	If *Template
	// Approval is set on approval steps.
	Approval *Approval
	// NoApproval records "approval: none": the playbook's author waived
	// the approval a destructive action would otherwise need.
	NoApproval bool
	// Retry says how often the action is attempted; Attempts is at least 1.
	Retry Retry
	// Timeout bounds one attempt of the action; zero means the engine's
	// default.
	Timeout time.Duration
	// ContinueOnError lets the run go on when this step fails; the step is
	// still recorded as failed and steps.<id>.error is set.
	ContinueOnError bool
	// Outputs are extra outputs computed from the action's result; see
	// [Step.RenderOutputs].
	Outputs map[string]Value
	// OnFailure is true for steps in the playbook's on_failure list.
	OnFailure bool
	// Index is the step's position in its list (Steps or OnFailure).
	Index int
	// Pos is where the step's mapping starts, to point a failed run back
	// at its source.
	Pos Pos

	pb *Playbook
	// withOrder lists With's keys in file order, for stable messages.
	withOrder []string
}

// Approval is an approval gate: the run waits until enough members of the
// roles approve, or one denies, or the timeout passes.
type Approval struct {
	// Roles may approve; the engine resolves them through config roles.
	Roles []string
	// Message is shown above the Approve / Deny buttons; nil means the
	// engine's default wording.
	Message *Template
	// Timeout is how long to wait; zero means config approvals default
	// (1h).
	Timeout time.Duration
	// Required is the number of distinct approvers needed, at least 1.
	Required int
	// Escalate, if set, widens the approver roles and pings them when
	// nobody answered in time.
	Escalate *Escalation
	// OnTimeout is what a timeout means: Deny (the default) or Approve.
	OnTimeout Decision
}

// Escalation widens an approval after a delay.
type Escalation struct {
	// After is how long after the request the escalation happens; it is
	// shorter than the approval's timeout.
	After time.Duration
	// Roles are added to the approver roles, and pinged.
	Roles []string
}

// Decision is the outcome of an approval.
type Decision string

// Approval outcomes.
const (
	Deny    Decision = "deny"
	Approve Decision = "approve"
)

// Retry says how often an action step is attempted.
type Retry struct {
	// Attempts is the total number of attempts, at least 1.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles after each
	// further failure, up to MaxBackoff.
	Backoff time.Duration
}

// MaxBackoff caps the wait between attempts, so that a long retry list
// cannot leave a run silent for hours during an incident.
const MaxBackoff = 5 * time.Minute

// Delay returns the wait before attempt number attempt (1-based; the first
// attempt has no wait). It lives in the model so that the engine, the dry
// run and the documentation agree on one schedule.
func (r Retry) Delay(attempt int) time.Duration {
	if attempt <= 1 || r.Backoff <= 0 {
		return 0
	}
	d := r.Backoff
	for i := 2; i < attempt && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// Status is the state of a step in a run. The values are part of the
// expression language (steps.<id>.status), so they are defined here, next
// to it, rather than in the engine.
type Status string

// Step states.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting" // for an approval
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped" // its if: was false
)

// ApprovalOutputs are the outputs an approval step gives later steps:
// decision ("approve" or "deny") and approvers (the list of user ids).
var ApprovalOutputs = []string{"decision", "approvers"}

// IsApproval reports whether s is an approval step.
func (s *Step) IsApproval() bool { return s.Approval != nil }

// Step returns the step (in Steps or OnFailure) with the given id.
func (pb *Playbook) Step(id string) (*Step, bool) {
	s, ok := pb.steps[id]
	return s, ok
}

// Input returns the declared input called name.
func (pb *Playbook) Input(name string) (Input, bool) {
	for _, in := range pb.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}
