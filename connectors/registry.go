// Package connectors holds warroom's integrations, one sub-package each, and
// the registry of named actions that playbooks and commands call
// ("virustotal.ip", "http.request", "exec.run").
//
// It imports nothing else of warroom's: an action sees its inputs and
// returns its outputs, and knows nothing of incidents or chat.
package connectors

import (
	"context"
	"fmt"
	"sort"
)

// Type is the type of an action input or output.
type Type string

// Input and output types.
const (
	String   Type = "string"
	Int      Type = "int"
	Bool     Type = "bool"
	Duration Type = "duration" // a Go duration string: "30s"
	Map      Type = "map"      // map[string]any
	List     Type = "list"     // []any
	Any      Type = "any"
)

// Field declares one input or output of an action.
type Field struct {
	Name     string
	Type     Type
	Required bool
	Default  any
	Doc      string
}

// Spec declares an action as data: one description drives validation of
// playbooks' with: blocks, defaults and the documentation table.
type Spec struct {
	Name    string // "<connector>.<action>", e.g. "crowdstrike.contain"
	Doc     string
	Inputs  []Field
	Outputs []Field
	// Destructive actions (contain, block, suspend) need an approval step
	// before them unless a playbook says approval: none.
	Destructive bool
	// Idempotent actions may be retried after a crash left their outcome
	// unknown; others are reported failed-unknown instead.
	Idempotent bool
	// Link names the output holding a link to what the action made (a
	// ticket, a case), if it makes one. The step's case-log entry records
	// that link, so the incident's timeline leads to the ticket.
	Link string
}

// Input returns the declared input called name.
func (s Spec) Input(name string) (Field, bool) {
	for _, f := range s.Inputs {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Call is one invocation of an action.
type Call struct {
	// With holds the inputs, already rendered and checked against the Spec.
	With map[string]any
	// IdempotencyKey is unique per run and step and the same for every
	// attempt of it, so a retry after a lost answer is recognised as a
	// repeat; actions pass it on where the remote API supports one (an
	// Idempotency-Key header, a dedup key).
	IdempotencyKey string
}

// Action is something a playbook step or a command can run.
type Action interface {
	Spec() Spec
	Run(ctx context.Context, call Call) (map[string]any, error)
}

// Registry maps action names to actions. It is filled in one visible place
// at start-up.
type Registry struct {
	actions map[string]Action
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{actions: map[string]Action{}} }

// Register adds an action. It panics on a duplicate name: two actions under
// one name is a wiring bug, found at start rather than at run time.
func (r *Registry) Register(a Action) {
	name := a.Spec().Name
	if _, dup := r.actions[name]; dup {
		panic(fmt.Sprintf("connectors: action %q registered twice", name))
	}
	r.actions[name] = a
}

// Lookup returns the action called name.
func (r *Registry) Lookup(name string) (Action, bool) {
	a, ok := r.actions[name]
	return a, ok
}

// Names lists the registered action names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.actions))
	for n := range r.actions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
