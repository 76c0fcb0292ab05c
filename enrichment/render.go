package enrichment

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Finding is everything known about one indicator: each source's answer.
type Finding struct {
	Indicator ioc.Indicator   `json:"indicator"`
	Results   []enrich.Result `json:"results"`
}

// Verdict is the worst verdict any source gave.
func (f Finding) Verdict() enrich.Verdict {
	v := enrich.Unknown
	for _, r := range f.Results {
		if r.Error == "" && r.Verdict.Rank() > v.Rank() {
			v = r.Verdict
		}
	}
	return v
}

// View is what the enrichment message shows.
type View struct {
	Findings []Finding
	// Pending counts lookups not answered yet.
	Pending int
	// Private says the message goes to a private room, where TLP:AMBER
	// results may be shown.
	Private bool
	// Took is how long the lookups took, once none is pending.
	Took time.Duration
	// Buttons returns the actions offered for a malicious indicator.
	Buttons func(ind ioc.Indicator) []bot.Button
}

// maxButtons keeps the action row short: Slack allows 25 elements per
// actions block and Discord 5 buttons per row.
const maxButtons = 5

// Message renders the view as the neutral enrichment message: one field per
// indicator with its overall verdict and a line per source, links to the
// sources' pages, and buttons for the playbooks that act on malicious
// indicators. Results a room may not see (TLP:RED anywhere, TLP:AMBER in a
// public room) are left out and counted in the footer.
func (v View) Message() bot.Message {
	m := bot.Message{Title: "Enrichment"}
	withheld := 0
	worst := enrich.Unknown
	for _, f := range v.Findings {
		var lines, silent []string
		shown := Finding{Indicator: f.Indicator}
		for _, r := range sortedResults(f.Results) {
			if !enrich.Shareable(r.TLP, v.Private) {
				withheld++
				continue
			}
			shown.Results = append(shown.Results, r)
			if !informative(r) {
				silent = append(silent, r.Source)
				continue
			}
			lines = append(lines, resultLine(r))
			if r.Link != "" && len(m.Links) < 20 {
				m.Links = append(m.Links, bot.Link{Text: r.Source + ": " + f.Indicator.Value, URL: r.Link})
			}
		}
		if len(lines) == 0 && len(silent) > 0 {
			// Every source answered and none knows it: say so once
			// rather than a "not found" line per source.
			lines = append(lines, "not known to "+strings.Join(silent, ", "))
		}
		verdict := shown.Verdict()
		if verdict.Rank() > worst.Rank() {
			worst = verdict
		}
		label := fmt.Sprintf("%s %s — %s", f.Indicator.Type, f.Indicator.Value, strings.ToUpper(string(verdict)))
		if f.Indicator.Scope != ioc.ScopePublic {
			label += " (" + string(f.Indicator.Scope) + ")"
		}
		if len(lines) == 0 {
			lines = []string{"no answer yet"}
		}
		m.Fields = append(m.Fields, bot.Field{Label: label, Value: strings.Join(lines, "\n")})
		if verdict == enrich.Malicious && v.Buttons != nil {
			for _, b := range v.Buttons(f.Indicator) {
				if len(m.Buttons) < maxButtons {
					m.Buttons = append(m.Buttons, b)
				}
			}
		}
	}
	switch worst {
	case enrich.Malicious:
		m.Severity = "critical"
	case enrich.Suspicious:
		m.Severity = "high"
	}
	var foot []string
	if v.Pending > 0 {
		foot = append(foot, plural(v.Pending, "lookup")+" still running")
	} else if v.Took > 0 {
		foot = append(foot, "all sources answered in "+v.Took.Round(10*time.Millisecond).String())
	}
	if withheld > 0 {
		foot = append(foot, plural(withheld, "result")+" withheld by TLP (see the case log)")
	}
	m.Footer = strings.Join(foot, " · ")
	return m
}

// informative reports whether an answer says anything beyond "not
// found": a verdict, facts, a link or an error.
func informative(r enrich.Result) bool {
	return r.Verdict != enrich.Unknown || r.Error != "" || len(r.Facts) > 0 || r.Link != ""
}

// resultLine is one source's answer on one line:
// "virustotal: malicious (87) 14/92 engines flag it malicious".
func resultLine(r enrich.Result) string {
	if r.Error != "" {
		return r.Source + ": " + r.Error
	}
	var b strings.Builder
	b.WriteString(r.Source)
	b.WriteString(": ")
	if r.Verdict == enrich.Unknown && r.Reason != "" {
		// A source with no opinion but something to say (an owner, an
		// earlier incident) is read for what it says.
		b.WriteString(r.Reason)
		return b.String()
	}
	b.WriteString(string(r.Verdict))
	if r.Score != enrich.NoScore {
		b.WriteString(" (" + strconv.Itoa(r.Score) + ")")
	}
	if r.Reason != "" {
		b.WriteString(" ")
		b.WriteString(r.Reason)
	}
	return b.String()
}

// sortedResults orders answers worst first, then by source name, so the
// message reads the same however the answers raced in.
func sortedResults(rs []enrich.Result) []enrich.Result {
	out := append([]enrich.Result(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Error == "") != (b.Error == "") {
			return a.Error == ""
		}
		if a.Verdict.Rank() != b.Verdict.Rank() {
			return a.Verdict.Rank() > b.Verdict.Rank()
		}
		return a.Source < b.Source
	})
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
