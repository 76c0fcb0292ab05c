// Package wait is the wait action: a playbook step that pauses the run,
// for instance to give an EDR time to report that a host is isolated
// before the next step checks.
//
// The pause itself is a function the engine may replace: it can run the
// step on its own clock in tests, or persist the wake-up time instead of
// holding a goroutine for a day.
package wait

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// MaxDuration is the longest pause a step may ask for. A playbook that
// needs to wait longer is waiting for a person, which is what approval
// steps and reminders are for.
const MaxDuration = 24 * time.Hour

// SleepFunc pauses for d, or until ctx is done, whichever comes first; it
// returns ctx's error in the second case.
type SleepFunc func(ctx context.Context, d time.Duration) error

// Sleep is the default SleepFunc, on the wall clock.
func Sleep(ctx context.Context, d time.Duration) error { return connectors.Sleep(ctx, d) }

// Action is the wait action. It is safe for concurrent use.
type Action struct {
	sleep SleepFunc
}

// New returns the wait action pausing with sleep, or with Sleep when sleep
// is nil.
func New(sleep SleepFunc) *Action {
	if sleep == nil {
		sleep = Sleep
	}
	return &Action{sleep: sleep}
}

// Spec declares wait's inputs. It must stay equal to the declaration in
// playbooks.BuiltinSpecs, which validates playbooks; a test holds the two
// together.
func (a *Action) Spec() connectors.Spec {
	return connectors.Spec{
		Name: "wait",
		Doc:  "Pause the run.",
		Inputs: []connectors.Field{
			{Name: "duration", Type: connectors.Duration, Required: true, Doc: "How long."},
		},
		Idempotent: true,
	}
}

// Run pauses for with.duration (zero to MaxDuration) and returns waited_ms,
// the pause asked for in milliseconds: with an injected clock, the wall
// time spent says nothing. If ctx ends first, Run returns its error and no
// outputs.
func (a *Action) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	d, err := connectors.ToDuration(call.With["duration"])
	if err != nil {
		return nil, fmt.Errorf("with.duration: %w", err)
	}
	if d < 0 || d > MaxDuration {
		return nil, fmt.Errorf("with.duration: must be between 0 and %s, got %s", shortDuration(MaxDuration), d)
	}
	if err := a.sleep(ctx, d); err != nil {
		return nil, fmt.Errorf("wait %s: %w", d, err)
	}
	return map[string]any{"waited_ms": int(d.Milliseconds())}, nil
}

// shortDuration prints 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
