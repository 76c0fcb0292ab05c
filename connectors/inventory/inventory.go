// Package inventory is an enrichment source over the organisation's asset
// list: who owns a host, which team runs it, how critical it is and what it
// runs. Responders need that before they isolate a machine, and it is the
// one thing no threat-intel service can tell them.
//
// The list is a local CSV or YAML file, loaded into memory and reloaded
// when it changes (see connectors/internal/filewatch). Because nothing
// leaves the machine, private addresses and internal host names, which are
// exactly what an inventory holds, are looked up.
package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/internal/filewatch"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Config configures a Source. Only File is required.
type Config struct {
	// File is the asset list: CSV with the header
	// hostname,ip,owner,team,criticality,os, or YAML holding a list of
	// {hostname, ips, owner, team, criticality, os}. The format follows
	// the extension (.csv, .yaml, .yml), or the content for other names.
	File string
	// CheckEvery is the minimum time between checks of the file for
	// changes; zero means filewatch.DefaultEvery (5 s).
	CheckEvery time.Duration
	// Log receives reload events and problems; nil discards them.
	Log *slog.Logger
	// Now is the clock used to schedule checks; nil means time.Now.
	Now func() time.Time
}

// Source looks host names and addresses up in the asset list. It is safe
// for concurrent use.
type Source struct {
	file *filewatch.Set[[]*asset, *index]
}

// New loads c.File. Every problem in the file is reported at once, each
// naming file:line.
func New(c Config) (*Source, error) {
	if c.File == "" {
		return nil, fmt.Errorf("inventory: no file configured")
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	set, err := filewatch.Load(filewatch.Options[[]*asset, *index]{
		Paths: []string{c.File},
		Parse: parseFile,
		Build: buildIndex,
		Every: c.CheckEvery,
		Now:   c.Now,
		Log:   log.With("connector", "inventory"),
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: load: %w", err)
	}
	return &Source{file: set}, nil
}

// Name returns "inventory".
func (s *Source) Name() string { return "inventory" }

// Offline reports true: answers come from files held in memory, so they
// are not cached by default, and an edited file is seen by the next lookup.
func (s *Source) Offline() bool { return true }

// Supports accepts host names, domains and IP addresses of any scope.
func (s *Source) Supports(ind ioc.Indicator) bool {
	switch ind.Type {
	case ioc.TypeHostname, ioc.TypeDomain, ioc.TypeIPv4, ioc.TypeIPv6:
		return true
	}
	return false
}

// Lookup finds the assets with ind as host name or address. A match is
// never a judgement, so the verdict is always Unknown; the owner, team,
// criticality and operating system are in Reason and Facts.
func (s *Source) Lookup(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
	if err := ctx.Err(); err != nil {
		return enrich.Result{}, fmt.Errorf("inventory: lookup: %w", err)
	}
	idx := s.file.Current()
	res := enrich.Result{Source: s.Name(), Verdict: enrich.Unknown, Score: enrich.NoScore}
	var found []*asset
	switch ind.Type {
	case ioc.TypeIPv4, ioc.TypeIPv6:
		if a, err := netip.ParseAddr(ind.Value); err == nil {
			found = idx.byIP[a.Unmap().WithZone("")]
		}
	case ioc.TypeHostname, ioc.TypeDomain:
		found = idx.byName(ind.Value)
	}
	if len(found) == 0 {
		res.Reason = "not in the inventory"
		return res, nil
	}
	reasons := make([]string, 0, len(found))
	for _, a := range found {
		reasons = append(reasons, a.reason())
		res.Facts = append(res.Facts, a.facts()...)
	}
	res.Reason = strings.Join(reasons, "; ")
	return res, nil
}

// Problems reports why the file failed its last reload, if it did; the
// last good list is still served.
func (s *Source) Problems() []error { return s.file.Problems() }

// Reload checks the file for changes now and returns the problem, if any.
func (s *Source) Reload() error { return s.file.Reload() }

// asset is one row of the list.
type asset struct {
	hostname                     string // lower case, no trailing dot
	ips                          []netip.Addr
	owner, team, criticality, os string
}

// name is what the asset is called in a reason: its host name, or its
// first address when the row has no name.
func (a *asset) name() string {
	if a.hostname != "" || len(a.ips) == 0 {
		return a.hostname
	}
	return a.ips[0].String()
}

// reason reads "host-42: owner alice (web), criticality high, Ubuntu 24.04".
func (a *asset) reason() string {
	var parts []string
	switch {
	case a.owner != "" && a.team != "":
		parts = append(parts, "owner "+a.owner+" ("+a.team+")")
	case a.owner != "":
		parts = append(parts, "owner "+a.owner)
	case a.team != "":
		parts = append(parts, "team "+a.team)
	}
	if a.criticality != "" {
		parts = append(parts, "criticality "+a.criticality)
	}
	if a.os != "" {
		parts = append(parts, a.os)
	}
	if len(parts) == 0 {
		return a.name() + ": in the inventory"
	}
	return a.name() + ": " + strings.Join(parts, ", ")
}

func (a *asset) facts() []enrich.Fact {
	var fs []enrich.Fact
	add := func(label, v string) {
		if v != "" {
			fs = append(fs, enrich.Fact{Label: label, Value: v})
		}
	}
	add("hostname", a.hostname)
	add("owner", a.owner)
	add("team", a.team)
	add("criticality", a.criticality)
	add("os", a.os)
	ips := make([]string, len(a.ips))
	for i, ip := range a.ips {
		ips[i] = ip.String()
	}
	add("ips", strings.Join(ips, ", "))
	return fs
}

// index maps names and addresses to assets.
type index struct {
	names map[string][]*asset // full host name as listed
	short map[string][]*asset // first label of every listed name
	byIP  map[netip.Addr][]*asset
}

func buildIndex(parts [][]*asset) *index {
	idx := &index{
		names: make(map[string][]*asset),
		short: make(map[string][]*asset),
		byIP:  make(map[netip.Addr][]*asset),
	}
	for _, assets := range parts {
		for _, a := range assets {
			if a.hostname != "" {
				idx.names[a.hostname] = append(idx.names[a.hostname], a)
				s := shortName(a.hostname)
				idx.short[s] = append(idx.short[s], a)
			}
			for _, ip := range a.ips {
				idx.byIP[ip] = append(idx.byIP[ip], a)
			}
		}
	}
	return idx
}

// byName finds the assets called name. A bare name matches the FQDNs that
// start with it (host-42 finds host-42.corp.example), and an FQDN matches a
// bare listed name (host-42.corp.example finds host-42), because alerts and
// inventories disagree on which form they use. Two different FQDNs never
// match each other through their short names.
func (idx *index) byName(name string) []*asset {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if as := idx.names[name]; len(as) > 0 {
		return as
	}
	if !strings.Contains(name, ".") {
		return idx.short[name]
	}
	return idx.names[shortName(name)] // a bare listed name has no dot
}

func shortName(h string) string {
	if i := strings.IndexByte(h, '.'); i >= 0 {
		return h[:i]
	}
	return h
}
