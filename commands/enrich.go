package commands

import (
	"context"
	"strings"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

const enrichUsage = "Usage: /enrich IOC [IOC...]   (IPs, domains, URLs, e-mail addresses, hashes, CVE ids; defanged forms are fine)"

// maxEnrich bounds the indicators one /enrich takes.
const maxEnrich = 20

// enrich answers /enrich: it recognises each indicator (refanging defanged
// ones) and says what it is and whether it may be looked up outside.
// Threat-intel sources are not connected yet, and the answer says so rather
// than pretending to a verdict.
func (r *Router) enrich(_ context.Context, req bot.Request) (bot.Reply, error) {
	words := strings.Fields(req.Text)
	if len(words) == 0 {
		return bot.Reply{}, &UsageError{Problem: "name at least one indicator", Usage: enrichUsage}
	}
	if len(words) > maxEnrich {
		return bot.Reply{}, &UsageError{Problem: "at most 20 indicators at a time", Usage: enrichUsage}
	}
	m := bot.Message{Title: "Indicators", Footer: "No threat-intel sources are connected yet: this says what each indicator is, not whether it is malicious."}
	for _, w := range words {
		in, ok := ioc.Classify(w)
		if !ok {
			m.Fields = append(m.Fields, bot.Field{Label: w, Value: "not an indicator warroom recognises"})
			continue
		}
		v := string(in.Type)
		if in.Scope != ioc.ScopePublic {
			v += ", " + string(in.Scope) + " address: never looked up outside"
		}
		m.Fields = append(m.Fields, bot.Field{Label: in.Value, Value: v})
	}
	return bot.Reply{Message: m}, nil
}
