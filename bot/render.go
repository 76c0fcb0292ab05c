package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Button action ids of the incident summary.
const (
	ActionTakeCommand = "incident.take"
	ActionClose       = "incident.close"
)

// maxChannelName is Slack's limit; Discord allows 100, so it fits both.
const maxChannelName = 80

// ChannelName builds an incident channel name that every platform accepts:
// "inc-12-phishing-wave-at-finance". Lower case ASCII letters, digits and
// single hyphens only, at most 80 characters, never ending in a hyphen.
func ChannelName(prefix string, id int64, title string) string {
	base := prefix + "-" + strconv.FormatInt(id, 10)
	var b strings.Builder
	b.WriteString(base)
	dash := true
	for _, r := range strings.ToLower(title) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !ok {
			dash = true
			continue
		}
		if dash {
			if b.Len()+2 > maxChannelName {
				break
			}
			b.WriteByte('-')
			dash = false
		}
		if b.Len()+1 > maxChannelName {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), "-")
}

func topicOf(in Incident) Topic {
	return Topic{Ref: in.Ref(), Severity: in.Severity, Status: in.Status, Commander: in.Commander}
}

// summaryMessage is the pinned message at the top of an incident room. It is
// edited in place on every change, so it always shows the current state.
func summaryMessage(in Incident) Message {
	m := Message{
		Title:    in.Ref() + " · " + in.Title,
		Severity: in.Severity,
		Fields: []Field{
			{Label: "Severity", Value: in.Severity},
			{Label: "Status", Value: in.Status},
			commanderField(in.Commander),
			{Label: "Opened by", User: in.CreatedBy},
			{Label: "Opened", Value: in.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")},
		},
	}
	if in.AlertCount > 0 {
		m.Fields = append(m.Fields, Field{Label: "Alerts", Value: strconv.Itoa(in.AlertCount)})
	}
	if in.Status == "closed" {
		m.Footer = "Closed " + in.ClosedAt.UTC().Format("2006-01-02 15:04 UTC")
		return m
	}
	value := strconv.FormatInt(in.ID, 10)
	m.Buttons = []Button{
		{ID: ActionTakeCommand, Label: "Take command", Value: value, Style: StylePrimary},
		{ID: ActionClose, Label: "Close", Value: value, Style: StyleDanger,
			Confirm: fmt.Sprintf("Close %s and archive this channel?", in.Ref())},
	}
	return m
}

func commanderField(commander string) Field {
	if commander == "" {
		return Field{Label: "Commander", Value: "nobody yet"}
	}
	return Field{Label: "Commander", User: commander}
}

// finalSummary is posted when an incident closes, before its room is archived.
func finalSummary(in Incident, actor string) Message {
	m := Message{
		Title:    "✅ " + in.Ref() + " closed",
		Actor:    actor,
		Text:     "closed the incident.",
		Severity: in.Severity,
		Fields: []Field{
			{Label: "Title", Value: in.Title},
			{Label: "Severity", Value: in.Severity},
			commanderField(in.Commander),
			{Label: "Open for", Value: Age(in.ClosedAt.Sub(in.CreatedAt))},
		},
	}
	if in.Summary != "" {
		m.Fields = append(m.Fields, Field{Label: "Summary", Value: in.Summary})
	}
	return m
}

// Age renders a duration the way people say it: "3d 4h", "2h 5m", "45s".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}
