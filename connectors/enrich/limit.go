package enrich

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/connectors"
)

// Limiter spaces lookups out. Wait blocks until a lookup may be made, or
// fails when ctx ends first. *Window and golang.org/x/time/rate's
// *rate.Limiter both are one.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Window allows at most n lookups in any period of length per: "4/min" is
// four at once, and the fifth a minute after the first. That is how
// vendors count a quota ("4 lookups per minute"), where a token bucket of
// the same rate would let a seventh call through within the first minute
// and earn a 429.
//
// A Window is safe for concurrent use. Waiters are served in the order
// they asked.
type Window struct {
	n   int
	per time.Duration

	mu sync.Mutex
	// slots holds the times of the last n lookups granted (some of them
	// may be in the future: granted, not yet due), oldest first.
	slots []time.Time
}

// NewWindow returns a Window of n lookups per period per; n and per must
// be positive.
func NewWindow(n int, per time.Duration) *Window {
	if n <= 0 || per <= 0 {
		panic(fmt.Sprintf("enrich: NewWindow(%d, %s): both must be positive", n, per))
	}
	return &Window{n: n, per: per}
}

// Wait reserves the next free slot and sleeps until it is due. If ctx's
// deadline comes before the slot, it fails at once and reserves nothing.
func (w *Window) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	now := time.Now()
	at := now
	if len(w.slots) == w.n {
		at = later(now, w.slots[0].Add(w.per))
	}
	if dl, ok := ctx.Deadline(); ok && dl.Before(at) {
		w.mu.Unlock()
		return fmt.Errorf("the next free slot is at %s, after the deadline: %w", at.Format(time.TimeOnly), context.DeadlineExceeded)
	}
	if len(w.slots) == w.n {
		w.slots = append(w.slots[:0], w.slots[1:]...)
	}
	w.slots = append(w.slots, at)
	w.mu.Unlock()

	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	// Cancelled, the slot stays taken: the vendor counts nothing for it,
	// so the window only errs on the safe side.
	return connectors.Sleep(ctx, d)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
