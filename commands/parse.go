// Package commands is the slash-command grammar shared by every platform:
// it parses what a user typed, checks that they may do it, and calls the
// bot service. Adapters hand it a bot.Request or bot.Click and show the
// bot.Reply it returns.
package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/warroom-bot/warroom/store"
)

// IncidentCmd is a parsed /incident command.
type IncidentCmd struct {
	Sub string // new, list, show, status, severity, assign, note, timeline, report, close, reopen, digest, help
	// Ref is the incident named as first argument (INC-N); zero means "the
	// incident of the channel the command was typed in".
	Ref      int64
	Title    string
	Severity string
	Status   string
	Private  bool
	All      bool
	Post     bool   // digest, report: post for everyone instead of privately
	User     string // assign: platform user id, or "me"
	Text     string // note text, close summary
}

// UsageError is a malformed command. Its message says what is wrong and
// how the command is used; nothing was changed.
type UsageError struct {
	Problem string
	Usage   string
}

func (e *UsageError) Error() string {
	if e.Problem == "" {
		return e.Usage
	}
	return e.Problem + "\n" + e.Usage
}

// incidentUsage is the usage line of each /incident subcommand.
var incidentUsage = map[string]string{
	"new":      "/incident new TITLE [--sev critical|high|medium|low] [--private]",
	"list":     "/incident list [--all]",
	"show":     "/incident show [INC-N]",
	"status":   "/incident status [INC-N] open|investigating|contained|resolved",
	"severity": "/incident severity [INC-N] critical|high|medium|low|info",
	"assign":   "/incident assign [INC-N] @user|me",
	"note":     "/incident note [INC-N] TEXT",
	"timeline": "/incident timeline [INC-N]",
	"report":   "/incident report [INC-N] [--post]",
	"close":    "/incident close [INC-N] [summary]",
	"reopen":   "/incident reopen INC-N",
	"digest":   "/incident digest [--post]",
}

// aliases are other words people type for a subcommand.
var aliases = map[string]string{"": "help", "open": "new", "ls": "list", "sev": "severity", "info": "show"}

var incidentOrder = []string{"new", "list", "show", "status", "severity", "assign", "note", "timeline", "report", "close", "reopen", "digest"}

// IncidentUsage is the full usage text of /incident.
func IncidentUsage() string {
	var b strings.Builder
	b.WriteString("Usage:")
	for _, sub := range incidentOrder {
		b.WriteString("\n  " + incidentUsage[sub])
	}
	return b.String()
}

func usageErr(sub, format string, args ...any) error {
	u, ok := incidentUsage[sub]
	if !ok {
		u = IncidentUsage()
	} else {
		u = "Usage: " + u
	}
	return &UsageError{Problem: fmt.Sprintf(format, args...), Usage: u}
}

// mentionRe matches a user as platforms send it: Slack "<@U123|name>" or
// "<@U123>", Discord "<@123>" or "<@!123>".
var mentionRe = regexp.MustCompile(`^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$`)

// plainIDRe matches a bare Slack user id (U…/W…) or Discord snowflake.
var plainIDRe = regexp.MustCompile(`^(?:[UW][A-Z0-9]{2,}|[0-9]{15,21})$`)

// ParseIncident parses the text after "/incident".
func ParseIncident(text string) (IncidentCmd, error) {
	text = strings.TrimSpace(text)
	sub, rest := cutWord(text)
	sub = strings.ToLower(sub)
	if canonical, ok := aliases[sub]; ok {
		sub = canonical
	}
	cmd := IncidentCmd{Sub: sub}
	switch sub {
	case "help":
		return cmd, nil
	case "new":
		return parseNew(cmd, rest)
	case "list":
		for _, w := range strings.Fields(rest) {
			if w != "--all" && w != "all" {
				return cmd, usageErr("list", "unexpected %q", w)
			}
			cmd.All = true
		}
		return cmd, nil
	case "digest":
		for _, w := range strings.Fields(rest) {
			if w != "--post" {
				return cmd, usageErr("digest", "unexpected %q", w)
			}
			cmd.Post = true
		}
		return cmd, nil
	}
	if _, ok := incidentUsage[sub]; !ok {
		return cmd, usageErr("", "unknown subcommand %q", sub)
	}
	// Every other subcommand may name an incident first.
	if w, r := cutWord(rest); w != "" {
		if n, ok := store.ParseRef(w); ok {
			cmd.Ref, rest = n, r
		} else if strings.HasPrefix(strings.ToUpper(w), "INC-") {
			return cmd, usageErr(sub, "%q is not an incident id", w)
		}
	}
	args := strings.Fields(rest)
	switch sub {
	case "show", "timeline":
		if len(args) > 0 {
			return cmd, usageErr(sub, "unexpected %q", args[0])
		}
	case "reopen":
		if len(args) > 0 {
			return cmd, usageErr(sub, "unexpected %q", args[0])
		}
	case "report":
		for _, w := range args {
			if w != "--post" {
				return cmd, usageErr(sub, "unexpected %q", w)
			}
			cmd.Post = true
		}
	case "status":
		if len(args) != 1 {
			return cmd, usageErr(sub, "give exactly one status")
		}
		cmd.Status = strings.ToLower(args[0])
		switch cmd.Status {
		case "open", "investigating", "contained", "resolved":
		case "closed":
			return cmd, usageErr("close", "to close an incident use /incident close")
		default:
			return cmd, usageErr(sub, "unknown status %q", args[0])
		}
	case "severity":
		if len(args) != 1 {
			return cmd, usageErr(sub, "give exactly one severity")
		}
		sev, ok := parseSeverity(args[0])
		if !ok {
			return cmd, usageErr(sub, "unknown severity %q", args[0])
		}
		cmd.Severity = sev
	case "assign":
		if len(args) != 1 {
			return cmd, usageErr(sub, "name exactly one user")
		}
		user, ok := parseUser(args[0])
		if !ok {
			return cmd, usageErr(sub, "%q is not a user: mention them with @", args[0])
		}
		cmd.User = user
	case "note":
		cmd.Text = strings.TrimSpace(rest)
		if cmd.Text == "" {
			return cmd, usageErr(sub, "a note needs text")
		}
	case "close":
		cmd.Text = strings.TrimSpace(rest)
	}
	return cmd, nil
}

func parseNew(cmd IncidentCmd, rest string) (IncidentCmd, error) {
	var title []string
	words := strings.Fields(rest)
	for i := 0; i < len(words); i++ {
		w := words[i]
		name, value, hasValue := strings.Cut(w, "=")
		switch strings.ToLower(name) {
		case "--sev", "--severity", "-s":
			if !hasValue {
				if i+1 >= len(words) {
					return cmd, usageErr("new", "%s needs a severity", name)
				}
				i++
				value = words[i]
			}
			sev, ok := parseSeverity(value)
			if !ok {
				return cmd, usageErr("new", "unknown severity %q", value)
			}
			cmd.Severity = sev
		case "--private":
			cmd.Private = true
		default:
			if strings.HasPrefix(w, "--") {
				return cmd, usageErr("new", "unknown option %q", w)
			}
			title = append(title, w)
		}
	}
	cmd.Title = strings.Join(title, " ")
	if cmd.Title == "" {
		return cmd, usageErr("new", "an incident needs a title")
	}
	return cmd, nil
}

func parseSeverity(s string) (string, bool) {
	s = strings.ToLower(s)
	switch s {
	case "critical", "high", "medium", "low", "info":
		return s, true
	case "crit", "sev1", "p1":
		return "critical", true
	case "sev2", "p2":
		return "high", true
	case "med", "sev3", "p3":
		return "medium", true
	case "sev4", "p4":
		return "low", true
	}
	return "", false
}

// parseUser reads a user reference and returns the platform user id, or "me".
func parseUser(s string) (string, bool) {
	if strings.EqualFold(s, "me") || strings.EqualFold(s, "@me") {
		return "me", true
	}
	if m := mentionRe.FindStringSubmatch(s); m != nil {
		return m[1], true
	}
	if plainIDRe.MatchString(s) {
		return s, true
	}
	if accountRe.MatchString(s) {
		// @alice: a web room account, which has a name but no id; the
		// router accepts it only from the web room.
		return s, true
	}
	return "", false
}

// accountRe matches "@name" as typed in the web room.
var accountRe = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// cutWord splits off the first whitespace-separated word.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}
