package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/store"
)

// Report is an incident's post-incident report: what happened, how fast
// the team answered, what the alerts and indicators were, which playbooks
// ran and the key events of its case log. It is built from the store
// alone, so the chat command, the CLI and the API tell the same story.
type Report struct {
	Incident   store.Incident
	Alerts     []store.Alert
	Runs       []store.Run
	Indicators []ReportIndicator
	// Events are the case-log entries that tell the story: changes,
	// notes, runs, approvals, refusals; repeats and enrichment answers are
	// summed up in Alerts and Indicators instead.
	Events []store.Entry
	// Entries counts the incident's case-log entries; Head is the hash of
	// the last one, which `warroom audit verify` proves.
	Entries int
	Head    string
	// Withheld counts the enrichment answers left out by their TLP.
	Withheld int
}

// ReportIndicator is one indicator with the worst verdict any source gave.
type ReportIndicator struct {
	Type, Value, Verdict string
	Sources              []string // "virustotal: malicious", in the order they answered
}

// verdictRank orders verdicts from the worst.
var verdictRank = map[string]int{"malicious": 0, "suspicious": 1, "clean": 2, "unknown": 3, "": 4}

// storyKinds are the case-log entries a report retells.
var storyKinds = map[string]bool{
	"incident.opened": true, "status.changed": true, "severity.changed": true, "commander.changed": true,
	"note.added": true, "incident.closed": true, "incident.reopened": true, "alert.attached": true,
	"alert.resolved": true, "run.started": true, "run.queued": true, "run.succeeded": true, "run.failed": true,
	"run.denied": true, "run.skipped": true, "approval.requested": true, "approval.approved": true,
	"approval.denied": true, "approval.timed_out": true, "approval.escalated": true, "command.refused": true,
}

// BuildReport gathers the report of incident id. shareable decides which
// enrichment answers it may include, by their TLP (see enrich.Shareable).
func BuildReport(ctx context.Context, db *store.DB, id int64, shareable func(tlp string) bool) (Report, error) {
	in, err := db.Incident(ctx, id)
	if err != nil {
		return Report{}, err
	}
	r := Report{Incident: in}
	if r.Alerts, err = db.Alerts(ctx, id); err != nil {
		return Report{}, err
	}
	if r.Runs, err = db.Runs(ctx, id, 0); err != nil {
		return Report{}, err
	}
	slices.Reverse(r.Runs) // oldest first, as the story goes
	entries, err := db.Entries(ctx, id, 0)
	if err != nil {
		return Report{}, err
	}
	r.Entries = len(entries)
	if len(entries) > 0 {
		r.Head = entries[len(entries)-1].Hash
	}
	byValue := map[string]int{}
	for _, e := range entries {
		if e.Kind != "enrichment.result" {
			if storyKinds[e.Kind] {
				r.Events = append(r.Events, e)
			}
			continue
		}
		var b struct{ Type, Value, Source, Verdict, TLP, Error string }
		if json.Unmarshal(e.Body, &b) != nil || b.Value == "" {
			continue
		}
		if !shareable(b.TLP) {
			r.Withheld++
			continue
		}
		key := b.Type + "\x00" + b.Value
		i, ok := byValue[key]
		if !ok {
			i = len(r.Indicators)
			byValue[key] = i
			r.Indicators = append(r.Indicators, ReportIndicator{Type: b.Type, Value: b.Value, Verdict: "unknown"})
		}
		ind := &r.Indicators[i]
		said := b.Verdict
		if b.Error != "" {
			said = "error: " + b.Error
		} else if verdictRank[b.Verdict] < verdictRank[ind.Verdict] {
			ind.Verdict = b.Verdict
		}
		if b.TLP != "" {
			said += " (TLP:" + strings.ToUpper(enrich.NormalTLP(b.TLP)) + ")"
		}
		ind.Sources = append(ind.Sources, b.Source+": "+said)
	}
	slices.SortStableFunc(r.Indicators, func(a, b ReportIndicator) int { return verdictRank[a.Verdict] - verdictRank[b.Verdict] })
	return r, nil
}

// responseTimes words how long the incident took to reach each stage.
func (r Report) responseTimes() []string {
	in := r.Incident
	var out []string
	for _, s := range []struct {
		what string
		at   time.Time
	}{{"acknowledged", in.AcknowledgedAt}, {"contained", in.ContainedAt}, {"resolved", in.ResolvedAt}, {"closed", in.ClosedAt}} {
		if !s.at.IsZero() {
			out = append(out, s.what+" after "+bot.Age(s.at.Sub(in.CreatedAt)))
		}
	}
	return out
}

// sightings counts every alert received, repeats included.
func (r Report) sightings() int {
	n := 0
	for _, a := range r.Alerts {
		n += a.Count
	}
	return n
}

func alertLine(a store.Alert) string {
	return fmt.Sprintf("%s (%s, %s, %s, %d×)", a.Title, a.Source, a.Severity, a.Status, a.Count)
}

func indicatorLine(ind ReportIndicator) string {
	return fmt.Sprintf("%s %s: %s (%s)", ind.Type, ind.Value, ind.Verdict, strings.Join(ind.Sources, "; "))
}

func runLine(run store.Run) string {
	s := fmt.Sprintf("%s run %d %s", run.Playbook, run.ID, run.Status)
	if run.Error != "" {
		s += ": " + run.Error
	}
	return s
}

// reportSection is one titled list of a report.
type reportSection struct {
	title string
	lines []string
}

// sections are the report's lists, each event stamped in timeFormat.
func (r Report) sections(timeFormat string) []reportSection {
	var alerts, inds, runs, events []string
	for _, a := range r.Alerts {
		alerts = append(alerts, alertLine(a))
	}
	for _, ind := range r.Indicators {
		inds = append(inds, indicatorLine(ind))
	}
	for _, run := range r.Runs {
		runs = append(runs, runLine(run))
	}
	for _, e := range r.Events {
		events = append(events, e.At.Format(timeFormat)+" "+eventLine(e))
	}
	return []reportSection{
		{fmt.Sprintf("Alerts (%d, %d received)", len(r.Alerts), r.sightings()), alerts},
		{"Indicators", inds},
		{"Playbook runs", runs},
		{"Key events", events},
	}
}

// reportCap bounds each list of the chat message; the CLI prints all.
const reportCap = 15

// Message renders the report for chat.
func (r Report) Message() bot.Message {
	in := r.Incident
	m := bot.Message{Title: "Incident report · " + in.Ref() + " · " + in.Title, Severity: in.Severity}
	m.Fields = []bot.Field{
		{Label: "Severity", Value: in.Severity},
		{Label: "Status", Value: in.Status},
		{Label: "Commander", User: in.Commander, Value: nobody(in.Commander)},
		{Label: "Opened", Value: in.CreatedAt.Format("2006-01-02 15:04 UTC")},
		{Label: "Opened by", User: in.CreatedBy},
	}
	if t := r.responseTimes(); len(t) > 0 {
		m.Fields = append(m.Fields, bot.Field{Label: "Response", Value: strings.Join(t, ", ")})
	}
	if in.Summary != "" {
		m.Fields = append(m.Fields, bot.Field{Label: "Summary", Value: in.Summary})
	}
	list := func(label string, lines []string) {
		if len(lines) == 0 {
			return
		}
		if len(lines) > reportCap {
			lines = append(lines[:reportCap:reportCap], fmt.Sprintf("and %d more (warroom incident report %s)", len(lines)-reportCap, in.Ref()))
		}
		m.Fields = append(m.Fields, bot.Field{Label: label, Value: strings.Join(lines, "\n")})
	}
	for _, sec := range r.sections("01-02 15:04") {
		list(sec.title, sec.lines)
	}
	m.Footer = r.footer()
	return m
}

// eventLine is one case-log entry as the report tells it, with who did it.
func eventLine(e store.Entry) string {
	d := Describe(e)
	if e.Actor != bot.System {
		return e.Actor + ": " + d
	}
	return d
}

func (r Report) footer() string {
	f := fmt.Sprintf("Case log: %d entries", r.Entries)
	if len(r.Head) >= 16 {
		f += ", last hash " + r.Head[:16] + "… (warroom audit verify checks the chain)"
	}
	if r.Withheld > 0 {
		f += fmt.Sprintf("; %d enrichment answers withheld by their TLP", r.Withheld)
	}
	return f
}

// Markdown renders the whole report as Markdown, for a ticket or a
// post-incident review.
func (r Report) Markdown() string {
	in := r.Incident
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", in.Ref(), in.Title)
	fmt.Fprintf(&b, "- Severity: %s\n- Status: %s\n", in.Severity, in.Status)
	commander := in.Commander
	if commander == "" {
		commander = "nobody"
	}
	fmt.Fprintf(&b, "- Commander: %s\n- Opened: %s by %s\n", commander, in.CreatedAt.Format(time.RFC3339), in.CreatedBy)
	if t := r.responseTimes(); len(t) > 0 {
		fmt.Fprintf(&b, "- Response: %s\n", strings.Join(t, ", "))
	}
	if in.Summary != "" {
		fmt.Fprintf(&b, "\n## Summary\n\n%s\n", in.Summary)
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, sec := range r.sections(time.RFC3339) {
		section(sec.title, sec.lines)
	}
	fmt.Fprintf(&b, "\n%s\n", r.footer())
	return b.String()
}

// report runs /incident report: privately unless post, and with the
// enrichment answers the reply's audience may see.
func (r *Router) report(ctx context.Context, id int64, post bool) (bot.Reply, error) {
	in, err := r.svc.Get(ctx, id)
	if err != nil {
		return bot.Reply{}, err
	}
	// A private reply reaches one responder, as the timeline does; a
	// posted one reaches the channel, which sees TLP:AMBER only if private.
	privateRoom := !post || in.Private
	rep, err := BuildReport(ctx, r.svc.DB(), id, func(tlp string) bool { return enrich.Shareable(tlp, privateRoom) })
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Message: rep.Message(), Public: post}, nil
}
