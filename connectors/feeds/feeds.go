// Package feeds is an enrichment source over local threat-intel files:
// plain indicator lists, the CSV exports of abuse.ch (Feodo Tracker,
// URLhaus, ThreatFox) and STIX 2.1 bundles. Nothing is sent over the
// network, so every indicator a feed holds can be looked up, including
// private and internal addresses that network sources refuse.
//
// Every file is parsed into an in-memory map when the source is built, so a
// lookup is a map access. Files are watched by modification time on lookup
// (see connectors/internal/filewatch): an updated feed is picked up within
// Config.CheckEvery, and a feed that becomes unreadable or unparseable
// keeps its last good contents while Problems reports why.
package feeds

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/filewatch"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Config configures a Source. Only Files is required.
type Config struct {
	// Files are the feed files. The format of each is detected from its
	// content and extension: a JSON STIX bundle, an abuse.ch CSV export
	// (recognised by its header) or a plain list with one indicator a line.
	Files []string
	// TLP is the sharing level of results whose feed does not mark its own
	// (STIX objects can carry TLP markings; lists and CSV exports cannot).
	TLP string
	// CheckEvery is the minimum time between checks of the files for
	// changes; zero means filewatch.DefaultEvery (5 s).
	CheckEvery time.Duration
	// Log receives reload events and problems; nil discards them.
	Log *slog.Logger
	// Now is the clock used to schedule checks; nil means time.Now. Tests
	// set it so that they never wait for the wall clock.
	Now func() time.Time
}

// Source looks indicators up in the loaded feeds. It is safe for
// concurrent use.
type Source struct {
	tlp   string
	files *filewatch.Set[*part, *index]
}

// New loads every file in c.Files. A file that cannot be read or parsed is
// an error naming the file and, where there is one, the line; all such
// errors are returned together.
func New(c Config) (*Source, error) {
	if len(c.Files) == 0 {
		return nil, fmt.Errorf("feeds: no files configured")
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	set, err := filewatch.Load(filewatch.Options[*part, *index]{
		Paths: c.Files,
		Parse: parseFile,
		Build: buildIndex,
		Every: c.CheckEvery,
		Now:   c.Now,
		Log:   log.With("connector", "feeds"),
	})
	if err != nil {
		return nil, fmt.Errorf("feeds: load: %w", err)
	}
	return &Source{tlp: c.TLP, files: set}, nil
}

// Name returns "feeds".
func (s *Source) Name() string { return "feeds" }

// Offline reports true: answers come from files held in memory, so they
// are not cached by default, and an edited file is seen by the next lookup.
func (s *Source) Offline() bool { return true }

// Supports reports whether any loaded feed holds indicators of ind's type.
// Scope does not matter: the data is local, so asking about a private
// address leaks nothing. Host names are looked up among the domains.
func (s *Source) Supports(ind ioc.Indicator) bool {
	return s.files.Current().types[lookupType(ind.Type)]
}

// Lookup reports every feed that lists ind. A URL matches only the exact
// URL a feed lists; an ip:port entry matches its address.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if err := ctx.Err(); err != nil {
		return enrich.Result{}, fmt.Errorf("feeds: lookup: %w", err)
	}
	idx := s.files.Current()
	res := enrich.Result{Source: s.Name(), Verdict: enrich.Unknown, Score: enrich.NoScore, TLP: s.tlp}
	hits := idx.hits[lookupKey(ind)]
	if len(hits) == 0 {
		res.Reason = fmt.Sprintf("not listed in %d %s", idx.feeds, plural(idx.feeds, "feed", "feeds"))
		return res, nil
	}
	reasons := make([]string, 0, len(hits))
	tlp, marked := "", false
	for _, h := range hits {
		if h.verdict.Rank() > res.Verdict.Rank() {
			res.Verdict = h.verdict
		}
		reasons = append(reasons, h.reason())
		res.Facts = append(res.Facts, enrich.Fact{Label: "feed", Value: h.feed})
		res.Facts = append(res.Facts, h.facts...)
		if res.Link == "" {
			res.Link = h.link
		}
		// The strictest level among the hits applies: a feed without its
		// own marking counts at the configured level.
		level := h.tlp
		if level == "" {
			level = s.tlp
		} else {
			marked = true
		}
		if tlpRank(level) > tlpRank(tlp) {
			tlp = level
		}
	}
	if marked {
		res.TLP = tlp
	}
	res.Reason = strings.Join(reasons, "; ")
	return res, nil
}

// Problems lists the feed files that failed their last reload. Their last
// good contents are still served.
func (s *Source) Problems() []error { return s.files.Problems() }

// Reload checks the files for changes now rather than at the next due
// lookup, and returns the current problems joined, or nil.
func (s *Source) Reload() error { return s.files.Reload() }

// key is the normalised form an indicator is indexed under. Scope is left
// out because it follows from the value.
type key struct {
	t ioc.Type
	v string
}

// hit is what one feed says about one indicator.
type hit struct {
	feed    string // base name of the file
	kind    string // "Feodo Tracker", "URLhaus", ...; "" for a plain list
	verdict enrich.Verdict
	what    string // "Emotet C2, last online 2026-11-20"
	link    string
	tlp     string // from the data; "" when the feed has no marking
	facts   []enrich.Fact
}

func (h *hit) reason() string {
	var b strings.Builder
	b.WriteString(h.feed)
	if h.kind != "" {
		b.WriteString(" (" + h.kind + ")")
	}
	b.WriteString(": ")
	if h.what == "" {
		b.WriteString("listed")
	} else {
		b.WriteString(h.what)
	}
	return b.String()
}

// part is one parsed feed file.
type part struct {
	name    string
	format  string
	hits    map[key]*hit
	skipped int // lines, rows or STIX comparisons that could not be used
}

func newPart(path, format string) *part {
	return &part{name: filepath.Base(path), format: format, hits: make(map[key]*hit)}
}

// add indexes h under the normalised form of raw, which must be of type
// want (any IP type when want is ioc.TypeIPv4, anything when want is
// empty). The first entry for a value wins: abuse.ch lists the newest
// entry first, and one feed saying the same thing twice adds nothing.
func (p *part) add(want ioc.Type, raw string, h *hit) bool {
	k, ok := feedKey(want, raw)
	if !ok {
		p.skipped++
		return false
	}
	if _, dup := p.hits[k]; !dup {
		p.hits[k] = h
	}
	return true
}

// index is what lookups read: every feed's hits merged, in config order.
type index struct {
	hits  map[key][]*hit
	types map[ioc.Type]bool
	feeds int
}

func buildIndex(parts []*part) *index {
	n := 0
	for _, p := range parts {
		n += len(p.hits)
	}
	idx := &index{hits: make(map[key][]*hit, n), types: make(map[ioc.Type]bool), feeds: len(parts)}
	for _, p := range parts {
		for k, h := range p.hits {
			idx.hits[k] = append(idx.hits[k], h)
			idx.types[k.t] = true
		}
	}
	if idx.types[ioc.TypeDomain] {
		idx.types[ioc.TypeHostname] = true
	}
	return idx
}

// feedKey normalises a feed value exactly as ioc.Extract normalises text,
// so that lookups of extracted indicators find it.
func feedKey(want ioc.Type, raw string) (key, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return key{}, false
	}
	in, ok := ioc.Classify(raw)
	if !ok {
		return key{}, false
	}
	switch want {
	case "":
	case ioc.TypeIPv4, ioc.TypeIPv6:
		if in.Type != ioc.TypeIPv4 && in.Type != ioc.TypeIPv6 {
			return key{}, false
		}
	default:
		if in.Type != want {
			return key{}, false
		}
	}
	return key{in.Type, in.Value}, true
}

// lookupType maps host names onto domains: a host name from an alert field
// (evil.example.net) is the same string a feed lists as a domain.
func lookupType(t ioc.Type) ioc.Type {
	if t == ioc.TypeHostname {
		return ioc.TypeDomain
	}
	return t
}

func lookupKey(ind ioc.Indicator) key {
	if ind.Type == ioc.TypeHostname {
		return key{ioc.TypeDomain, strings.TrimSuffix(strings.ToLower(ind.Value), ".")}
	}
	// Callers normally pass Extract's output, which is normalised already;
	// normalising again costs little and makes hand-built indicators work.
	if in, ok := ioc.Classify(ind.Value); ok && in.Type == ind.Type {
		return key{in.Type, in.Value}
	}
	return key{ind.Type, ind.Value}
}

// tlpRank orders TLP levels from least to most restrictive.
func tlpRank(level string) int {
	switch strings.ToLower(level) {
	case "clear", "white":
		return 1
	case "green":
		return 2
	case "amber":
		return 3
	case "amber+strict":
		return 4
	case "red":
		return 5
	}
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
