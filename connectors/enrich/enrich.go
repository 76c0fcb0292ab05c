// Package enrich looks indicators up in threat-intel and inventory sources.
// Each source is a package of its own (connectors/virustotal,
// connectors/feeds, ...) implementing Source; this package defines what a
// source answers and runs many sources at once, each with its own timeout,
// rate limit and cache, so that one slow or failing source never holds the
// others back.
package enrich

import (
	"context"

	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Verdict is a source's judgement of an indicator.
type Verdict string

// The verdicts, from worst to best. Unknown means the source has no
// opinion: it has never seen the indicator, or it only describes it (an
// owner, a registrant).
const (
	Malicious  Verdict = "malicious"
	Suspicious Verdict = "suspicious"
	Clean      Verdict = "clean"
	Unknown    Verdict = "unknown"
)

// Rank orders verdicts for "worst wins": malicious 3 … unknown 0.
func (v Verdict) Rank() int {
	switch v {
	case Malicious:
		return 3
	case Suspicious:
		return 2
	case Clean:
		return 1
	}
	return 0
}

// NoScore is the Score of a source that gives none.
const NoScore = -1

// Result is one source's answer about one indicator.
type Result struct {
	// Source is the source's name, as configured: "virustotal".
	Source string `json:"source"`
	// Verdict is the source's judgement, mapped to warroom's four verdicts.
	Verdict Verdict `json:"verdict"`
	// Score is 0–100, higher is worse, or NoScore.
	Score int `json:"score"`
	// Reason is one line a responder can act on: "14/92 engines flag it
	// malicious", "known scanner (GreyNoise: benign)", "owner alice, team
	// web, criticality high".
	Reason string `json:"reason,omitempty"`
	// Link is the source's own page about the indicator, if it has one.
	Link string `json:"link,omitempty"`
	// Facts are labelled details worth showing: country, network, owner,
	// team, criticality, feed names, tags.
	Facts []Fact `json:"facts,omitempty"`
	// TLP is the sharing level of this result: "red" stays off chat,
	// "amber" goes to private rooms only. Sources set it per result when the
	// data says so (a MISP tag); the stricter of that and the source's
	// configured level applies.
	TLP string `json:"tlp,omitempty"`
	// Error is why the source could not answer ("timeout", "HTTP 401:
	// authentication failed"); Verdict is Unknown then.
	Error string `json:"error,omitempty"`
	// Cached reports that the answer came from the cache, not the source.
	Cached bool `json:"cached,omitempty"`
}

// Fact is a labelled detail of a Result.
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Fact returns the value of the fact labelled label, or "".
func (r Result) Fact(label string) string {
	for _, f := range r.Facts {
		if f.Label == label {
			return f.Value
		}
	}
	return ""
}

// Source is a place indicators can be looked up.
type Source interface {
	// Name is the source's short name, as used in config: "abuseipdb".
	Name() string
	// Supports reports whether the source can say anything about ind. A
	// network source returns false for private, loopback and documentation
	// addresses (ind.Scope != ioc.ScopePublic), so they never leave the
	// building; a local source (inventory) may accept them.
	Supports(ind ioc.Indicator) bool
	// Lookup asks the source about ind. An indicator the source has never
	// seen is not an error: it is a Result with Verdict Unknown. Errors are
	// for failures (timeouts, authentication, 5xx, malformed answers) and
	// must never contain an API key.
	Lookup(ctx context.Context, ind ioc.Indicator) (Result, error)
}

// Offline is implemented by sources that answer from data held in memory,
// such as feed files and the asset list. Their answers are not cached
// unless the source's TTL is configured: a lookup costs less than the
// cache write, and a file reloaded after an edit must be seen by the next
// lookup, not hours later.
type Offline interface {
	Source
	// Offline reports whether the source answers without a network call.
	Offline() bool
}

func isOffline(s Source) bool {
	o, ok := s.(Offline)
	return ok && o.Offline()
}
