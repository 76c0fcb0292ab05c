package enrich

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Configured is a source with the settings that apply to it.
type Configured struct {
	Source Source
	// Timeout bounds one lookup (not the wait for a rate-limit slot);
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Limit, if set, spaces lookups out: a lookup waits for a slot rather
	// than failing, because a public VirusTotal key allows 4 a minute and a
	// late answer is worth more than an error. A cache hit needs no slot.
	Limit Limiter
	// TTL is how long an answer is cached; zero means DefaultTTL (no cache
	// for an Offline source), negative means never cached.
	TTL time.Duration
	// TLP is the sharing level of the source's answers. An answer that
	// marks itself stricter keeps its own level; none is shared more
	// widely than this.
	TLP string
}

// DefaultTimeout and DefaultTTL apply where a source's config says nothing.
const (
	DefaultTimeout = 10 * time.Second
	DefaultTTL     = 6 * time.Hour
)

// Cache keeps answers between lookups. Errors are never cached.
type Cache interface {
	Get(ctx context.Context, source string, ind ioc.Indicator) (Result, bool)
	Put(ctx context.Context, source string, ind ioc.Indicator, r Result, ttl time.Duration)
}

// Enricher looks indicators up in every source at once.
type Enricher struct {
	sources []Configured
	cache   Cache
}

// New returns an Enricher over sources; cache may be nil.
func New(sources []Configured, cache Cache) *Enricher {
	return &Enricher{sources: sources, cache: cache}
}

// Sources names the configured sources, in order.
func (e *Enricher) Sources() []string {
	names := make([]string, len(e.sources))
	for i, c := range e.sources {
		names[i] = c.Source.Name()
	}
	return names
}

// with returns the configured sources followed by extra, leaving the
// configured slice as it is.
func (e *Enricher) with(extra []Configured) []Configured {
	return append(e.sources[:len(e.sources):len(e.sources)], extra...)
}

// Pending counts the lookups Run would make for inds (with extra sources):
// one per indicator and source that supports it.
func (e *Enricher) Pending(inds []ioc.Indicator, extra ...Configured) int {
	n := 0
	for _, c := range e.with(extra) {
		for _, ind := range inds {
			if c.Source.Supports(ind) {
				n++
			}
		}
	}
	return n
}

// Run looks every indicator up in every source that supports it, all at
// once, and calls each with every answer as it arrives (never two calls at
// a time, so each need not lock). A source that fails or times out gives a
// Result with Error set; Run itself returns when every lookup has answered
// or ctx ends. extra sources (such as the history of the incident asking)
// join the configured ones for this run only.
func (e *Enricher) Run(ctx context.Context, inds []ioc.Indicator, each func(ioc.Indicator, Result), extra ...Configured) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range e.with(extra) {
		for _, ind := range inds {
			if !c.Source.Supports(ind) {
				continue
			}
			wg.Go(func() {
				r := e.lookup(ctx, c, ind)
				mu.Lock()
				defer mu.Unlock()
				each(ind, r)
			})
		}
	}
	wg.Wait()
}

func (e *Enricher) lookup(ctx context.Context, c Configured, ind ioc.Indicator) Result {
	name := c.Source.Name()
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
		if isOffline(c.Source) {
			ttl = -1
		}
	}
	if e.cache != nil && ttl > 0 {
		if r, ok := e.cache.Get(ctx, name, ind); ok {
			r.Cached = true
			// The level configured now applies to an answer cached
			// under an older, laxer one.
			r.TLP = StricterTLP(r.TLP, c.TLP)
			return r
		}
	}
	if c.Limit != nil {
		if err := c.Limit.Wait(ctx); err != nil {
			return failed(name, c.TLP, fmt.Errorf("still waiting for a rate-limit slot: %w", err))
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := c.Source.Lookup(lctx, ind)
	if err != nil {
		if lctx.Err() != nil && ctx.Err() == nil {
			err = errTimeout
		}
		return failed(name, c.TLP, err)
	}
	r.Source = name
	if r.Verdict == "" {
		r.Verdict = Unknown
	}
	// A source's configured level is a floor: an answer may mark itself
	// stricter (a MISP tlp:red tag), never laxer.
	r.TLP = StricterTLP(r.TLP, c.TLP)
	if e.cache != nil && ttl > 0 {
		e.cache.Put(ctx, name, ind, r, ttl)
	}
	return r
}

var errTimeout = errors.New("timeout")

// failed turns a lookup error into the Result shown for it: the error text
// on one line, short enough for a chat message.
func failed(source, tlp string, err error) Result {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timeout"
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return Result{Source: source, Verdict: Unknown, Score: NoScore, TLP: NormalTLP(tlp), Error: msg}
}

// NormalTLP spells a TLP level the one way warroom compares it: "red",
// "amber", "green", "clear" (TLP 2.0; "white" is TLP 1's "clear"), or ""
// for none.
func NormalTLP(tlp string) string {
	t := strings.ToLower(strings.TrimSpace(tlp))
	t = strings.TrimPrefix(t, "tlp:")
	switch t {
	case "white":
		return "clear"
	case "amber+strict":
		return "amber"
	}
	return t
}

// TLPRank orders TLP levels by how far they restrict sharing: "" and
// unknown levels 0, clear 1, green 2, amber (and amber+strict) 3, red 4.
func TLPRank(tlp string) int {
	switch NormalTLP(tlp) {
	case "clear":
		return 1
	case "green":
		return 2
	case "amber":
		return 3
	case "red":
		return 4
	}
	return 0
}

// StricterTLP returns the more restrictive of two levels, normalised.
func StricterTLP(a, b string) string {
	if TLPRank(b) > TLPRank(a) {
		return NormalTLP(b)
	}
	return NormalTLP(a)
}

// Shareable reports whether a result of level tlp may be shown in a chat
// room: red never, amber only in a private room.
func Shareable(tlp string, privateRoom bool) bool {
	switch NormalTLP(tlp) {
	case "red":
		return false
	case "amber":
		return privateRoom
	}
	return true
}
