package bot

import (
	"sync"
	"time"
)

// ReplayCache remembers request signatures seen inside a platform's
// signature window, so that a captured request cannot be sent a second
// time to act twice. Adapters keep one each.
type ReplayCache struct {
	// Keep is how long a signature is remembered; it must exceed the
	// platform's window (Slack and Discord accept five minutes).
	Keep time.Duration

	mu   sync.Mutex
	seen map[string]time.Time
}

// maxReplays is the size above which expired signatures are swept out.
const maxReplays = 10000

// Fresh records sig, seen at now, and reports whether it was new.
func (c *ReplayCache) Fresh(sig string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if len(c.seen) > maxReplays {
		for s, t := range c.seen {
			if now.Sub(t) > c.Keep {
				delete(c.seen, s)
			}
		}
	}
	if _, dup := c.seen[sig]; dup {
		return false
	}
	c.seen[sig] = now
	return true
}
