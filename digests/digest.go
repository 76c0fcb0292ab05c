// Package digests builds the scheduled summaries of open incidents, with
// response-time figures computed from the case log, posts them exactly once
// per schedule tick, and reminds quiet or unowned incidents.
package digests

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// Filter selects the incidents a digest covers.
type Filter struct {
	Statuses    []string // empty: every status but closed
	MinSeverity string   // empty: every severity
}

// severities lists the severities at least as urgent as MinSeverity.
func (f Filter) severities() []string {
	if f.MinSeverity == "" {
		return nil
	}
	return bot.Severities[:bot.SeverityRank(f.MinSeverity)+1]
}

// Figure is a response time over the incidents that reached a milestone in
// the period.
type Figure struct {
	N         int
	Mean, P90 time.Duration
}

func figure(ds []time.Duration) Figure {
	if len(ds) == 0 {
		return Figure{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	// Nearest rank: the smallest value at or above 90% of the values.
	rank := (len(ds)*9 + 9) / 10
	return Figure{N: len(ds), Mean: sum / time.Duration(len(ds)), P90: ds[rank-1]}
}

// Digest is one digest's content.
type Digest struct {
	Name       string
	Since, Now time.Time
	Loc        *time.Location
	// Totals counts matching open incidents by severity and status.
	Totals map[string]map[string]int
	Open   int
	// Incidents are the most urgent, oldest first, capped; More were left out.
	Incidents []store.ActiveIncident
	More      int
	// Rooms links each listed incident to its room on the digest's platform.
	Rooms map[int64]bot.RoomRef
	// Opened, Resolved and Closed count incidents in the period.
	Opened, Resolved, Closed int
	// Ack, Contain and Resolve are the period's response times.
	Ack, Contain, Resolve Figure
}

// MaxListed caps the incidents a digest lists one by one.
const MaxListed = 15

// Build computes a digest of the incidents matching f, with figures for the
// period (since, now]. Its cost grows with the open incidents and the
// period's case log, not with the incidents closed long ago.
func Build(ctx context.Context, db *store.DB, name, platform string, f Filter, since, now time.Time, loc *time.Location) (Digest, error) {
	if loc == nil {
		loc = time.UTC
	}
	d := Digest{Name: name, Since: since, Now: now, Loc: loc, Rooms: map[int64]bot.RoomRef{}}
	var err error
	if d.Totals, err = db.IncidentTotals(ctx, f.Statuses, f.severities()); err != nil {
		return d, err
	}
	if d.Incidents, d.Open, err = db.FilteredIncidents(ctx, f.Statuses, f.severities(), MaxListed); err != nil {
		return d, err
	}
	d.More = d.Open - len(d.Incidents)
	for _, in := range d.Incidents {
		if r, err := db.Room(ctx, platform, in.ID); err == nil {
			d.Rooms[in.ID] = bot.RoomRef{Platform: r.Platform, ID: r.ChannelID, Name: r.Name, URL: r.URL}
		}
	}
	if d.Opened, d.Resolved, d.Closed, err = db.PeriodCounts(ctx, since, now); err != nil {
		return d, err
	}
	err = figures(ctx, db, &d)
	return d, err
}

// figures computes the period's response times from the case log: time to
// acknowledge is from opening to the first entry by a person, time to
// contain to the first change of status to contained, time to resolve to
// the first change to resolved or the close, whichever came first. An
// incident counts in the period in which it reached the milestone.
func figures(ctx context.Context, db *store.DB, d *Digest) error {
	type seen struct{ ack, cont, reslvd bool }
	incidents := map[int64]*seen{}
	var ack, cont, res []time.Duration
	get := func(m store.Milestone) *seen {
		if s, ok := incidents[m.IncidentID]; ok {
			return s
		}
		s := &seen{}
		if !m.Opened.After(d.Since) {
			// Opened before the period: milestones it reached before the
			// period do not count again. (Incidents opened in the period
			// cannot have any.)
			for _, c := range []struct {
				flag *bool
				cond string
			}{{&s.ack, humanCond}, {&s.cont, containCond}, {&s.reslvd, resolveCond}} {
				e, err := db.FirstEntry(ctx, m.IncidentID, c.cond)
				*c.flag = err == nil && !e.At.After(d.Since)
			}
		}
		incidents[m.IncidentID] = s
		return s
	}
	err := db.Milestones(ctx, d.Since, d.Now, func(m store.Milestone) error {
		human := m.Actor != bot.System && !strings.HasPrefix(m.Kind, "reminder.")
		contained := m.Kind == "status.changed" && strings.Contains(m.Body, `"to":"contained"`)
		resolved := (m.Kind == "status.changed" && strings.Contains(m.Body, `"to":"resolved"`)) || m.Kind == "incident.closed"
		if !human && !contained && !resolved {
			return nil
		}
		s := get(m)
		if human && !s.ack {
			s.ack = true
			// An incident a person opened was acknowledged as it opened;
			// counting its zero would flatter the alert-driven figure.
			if m.Kind != "incident.opened" {
				ack = append(ack, m.At.Sub(m.Opened))
			}
		}
		if contained && !s.cont {
			s.cont = true
			cont = append(cont, m.At.Sub(m.Opened))
		}
		if resolved && !s.reslvd {
			s.reslvd = true
			res = append(res, m.At.Sub(m.Opened))
		}
		return nil
	})
	d.Ack, d.Contain, d.Resolve = figure(ack), figure(cont), figure(res)
	return err
}

// Case-log conditions of the milestones (fixed SQL, no user input).
const (
	humanCond   = `actor != 'system' AND kind NOT LIKE 'reminder.%'`
	containCond = `kind = 'status.changed' AND json_extract(body, '$.to') = 'contained'`
	resolveCond = `(kind = 'status.changed' AND json_extract(body, '$.to') = 'resolved') OR kind = 'incident.closed'`
)

var sevEmoji = map[string]string{"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}

// Message renders the digest as a neutral chat message.
func (d Digest) Message() bot.Message {
	m := bot.Message{Title: "📋 " + d.Name + " digest · " + d.Now.In(d.Loc).Format("Mon 2 Jan 15:04 MST")}
	if d.Open == 0 {
		m.Text = "No open incidents."
	} else {
		m.Text = d.totalsLine()
	}
	for _, in := range d.Incidents {
		f := bot.Field{
			Label: sevEmoji[in.Severity] + " " + in.Ref() + " · " + in.Title,
			Value: in.Status + " · open " + bot.Age(d.Now.Sub(in.CreatedAt)) + " · last activity " + ago(d.Now, in.LastActivity) + " · commander",
			User:  in.Commander,
		}
		if in.Commander == "" {
			f.Value += " none"
		}
		m.Fields = append(m.Fields, f)
		if r, ok := d.Rooms[in.ID]; ok {
			m.Links = append(m.Links, bot.Link{Text: r.Name, Room: &r})
		}
	}
	if d.More > 0 {
		m.Fields = append(m.Fields, bot.Field{Label: "and " + strconv.Itoa(d.More) + " more", Value: "/incident list shows them all"})
	}
	m.Footer = d.periodLine()
	return m
}

// Text renders the digest as plain text, for the command line.
func (d Digest) Text() string {
	var b strings.Builder
	m := d.Message()
	fmt.Fprintf(&b, "%s\n%s\n", m.Title, m.Text)
	for _, in := range d.Incidents {
		commander := in.Commander
		if commander == "" {
			commander = "none"
		}
		fmt.Fprintf(&b, "  %s %s · %s · %s · open %s · last activity %s · commander %s\n", sevEmoji[in.Severity], in.Ref(),
			in.Title, in.Status, bot.Age(d.Now.Sub(in.CreatedAt)), ago(d.Now, in.LastActivity), commander)
	}
	if d.More > 0 {
		fmt.Fprintf(&b, "  and %d more (/incident list)\n", d.More)
	}
	b.WriteString(d.periodLine() + "\n")
	return b.String()
}

func (d Digest) totalsLine() string {
	var parts []string
	for _, sev := range bot.Severities {
		byStatus := d.Totals[sev]
		if len(byStatus) == 0 {
			continue
		}
		var ss []string
		for _, st := range bot.Statuses {
			if n := byStatus[st]; n > 0 {
				ss = append(ss, strconv.Itoa(n)+" "+st)
			}
		}
		parts = append(parts, sevEmoji[sev]+" "+sev+": "+strings.Join(ss, ", "))
	}
	return strconv.Itoa(d.Open) + " open · " + strings.Join(parts, " · ")
}

func (d Digest) periodLine() string {
	line := fmt.Sprintf("Since %s: %d opened, %d resolved, %d closed", d.Since.In(d.Loc).Format("Mon 2 Jan 15:04"), d.Opened, d.Resolved, d.Closed)
	for _, f := range []struct {
		what string
		fig  Figure
	}{{"acknowledge", d.Ack}, {"contain", d.Contain}, {"resolve", d.Resolve}} {
		if f.fig.N > 0 {
			line += fmt.Sprintf(" · time to %s: mean %s, p90 %s (%d)", f.what, bot.Age(f.fig.Mean), bot.Age(f.fig.P90), f.fig.N)
		}
	}
	return line
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return bot.Age(now.Sub(t)) + " ago"
}
