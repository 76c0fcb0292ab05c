package commands

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/enrichment"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

const enrichUsage = "Usage: /enrich IOC [IOC...]   (IPs, domains, URLs, e-mail addresses, hashes, CVE ids; defanged forms are fine)"

// maxEnrich bounds the indicators one /enrich takes.
const maxEnrich = 20

// enrichWait bounds an /enrich answered outside an incident: the answer
// comes as a late reply, and a source slower than this is reported as such.
const enrichWait = 25 * time.Second

// UseEnrichment lets /enrich look indicators up: in an incident room the
// answers fill a message there (and the case log); elsewhere they come back
// to the person who asked.
func (r *Router) UseEnrichment(w *enrichment.Worker) { r.enricher = w }

// enrich answers /enrich. Without sources it still says what each
// indicator is and whether it may be looked up outside.
func (r *Router) enrich(ctx context.Context, req bot.Request) (bot.Reply, error) {
	words := strings.Fields(req.Text)
	if len(words) == 0 {
		return bot.Reply{}, &UsageError{Problem: "name at least one indicator", Usage: enrichUsage}
	}
	if len(words) > maxEnrich {
		return bot.Reply{}, &UsageError{Problem: "at most 20 indicators at a time", Usage: enrichUsage}
	}
	var inds []ioc.Indicator
	var unknown []string
	for _, w := range words {
		if in, ok := ioc.Classify(w); ok {
			inds = append(inds, in)
		} else {
			unknown = append(unknown, w)
		}
	}
	if len(inds) == 0 {
		return bot.Reply{}, &UsageError{Problem: "none of " + strings.Join(unknown, ", ") + " is an indicator warroom recognises", Usage: enrichUsage}
	}
	if r.enricher == nil {
		return r.classifyOnly(inds, unknown), nil
	}
	note := ""
	if len(unknown) > 0 {
		note = "Not indicators: " + strings.Join(unknown, ", ") + "."
	}
	id, inIncident, err := r.svc.IncidentOfChannel(ctx, req.Platform, req.Channel)
	if err != nil {
		return bot.Reply{}, err
	}
	if inIncident {
		if err := r.check(ctx, req.Actor(), "enrich", id); err != nil {
			return bot.Reply{}, err
		}
		if err := r.enricher.Request(ctx, id, req.Actor(), inds); err != nil {
			return bot.Reply{}, err
		}
		return text("Looking up %s for %s; the answers fill in a message in this channel. %s", plural(len(inds), "indicator"), store.FormatRef(id), note), nil
	}
	if err := r.check(ctx, req.Actor(), "enrich", 0); err != nil {
		return bot.Reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, enrichWait)
	defer cancel()
	// An answer to one person may show TLP:AMBER (it reaches no room),
	// never TLP:RED.
	m := enrichment.View{Findings: r.enricher.Lookup(ctx, inds), Private: true}.Message()
	if note != "" {
		m.Footer = strings.TrimPrefix(m.Footer+" · "+note, " · ")
	}
	return bot.Reply{Message: m}, nil
}

// classifyOnly is /enrich with no sources: what each indicator is.
func (r *Router) classifyOnly(inds []ioc.Indicator, unknown []string) bot.Reply {
	m := bot.Message{Title: "Indicators", Footer: "No threat-intel sources are connected: this says what each indicator is, not whether it is malicious."}
	for _, in := range inds {
		v := string(in.Type)
		if in.Scope != ioc.ScopePublic {
			v += ", " + string(in.Scope) + " address: never looked up outside"
		}
		m.Fields = append(m.Fields, bot.Field{Label: in.Value, Value: v})
	}
	for _, w := range unknown {
		m.Fields = append(m.Fields, bot.Field{Label: w, Value: "not an indicator warroom recognises"})
	}
	return bot.Reply{Message: m}
}

// ActionRunPlaybook is the button that starts a playbook on an indicator;
// its value is "PLAYBOOK|INC-N|VALUE".
const ActionRunPlaybook = "playbook.run"

// maxButtonValue keeps button values within Discord's 100-character
// custom_id, which carries the action id too.
const maxButtonValue = 80

// inputTypes maps the name of a playbook's first input to the indicator
// types it acts on: a playbook whose first input is "ip" blocks addresses,
// one whose first input is "host" contains hosts.
var inputTypes = map[string][]ioc.Type{
	"ip": {ioc.TypeIPv4, ioc.TypeIPv6}, "ip_address": {ioc.TypeIPv4, ioc.TypeIPv6}, "address": {ioc.TypeIPv4, ioc.TypeIPv6},
	"host": {ioc.TypeHostname}, "hostname": {ioc.TypeHostname}, "target": {ioc.TypeHostname}, "device": {ioc.TypeHostname},
	"user": {ioc.TypeUser}, "username": {ioc.TypeUser}, "login": {ioc.TypeUser}, "account": {ioc.TypeUser},
	"domain": {ioc.TypeDomain}, "url": {ioc.TypeURL}, "email": {ioc.TypeEmail},
	"hash": {ioc.TypeMD5, ioc.TypeSHA1, ioc.TypeSHA256}, "sha256": {ioc.TypeSHA256}, "md5": {ioc.TypeMD5}, "sha1": {ioc.TypeSHA1},
}

// PlaybookButtons returns a button per loaded playbook that acts on ind's
// type, for the enrichment message of an incident. Clicking one starts the
// playbook as the clicker, with the same permission checks and approvals
// as /playbook run.
func (r *Router) PlaybookButtons(incidentID int64, ind ioc.Indicator) []bot.Button {
	if r.engine == nil {
		return nil
	}
	var out []bot.Button
	for _, pb := range r.engine.Set().All() {
		if !actsOn(pb, ind.Type) {
			continue
		}
		value := pb.Name + "|" + store.FormatRef(incidentID) + "|" + ind.Value
		if len(value) > maxButtonValue {
			continue
		}
		label := pb.Name + " " + ind.Value
		if r := []rune(label); len(r) > 40 {
			label = string(r[:39]) + "…"
		}
		out = append(out, bot.Button{ID: ActionRunPlaybook, Label: label, Value: value, Style: bot.StyleDanger})
	}
	return out
}

func actsOn(pb *playbooks.Playbook, t ioc.Type) bool {
	if len(pb.Inputs) == 0 {
		return false
	}
	for _, it := range inputTypes[strings.ToLower(pb.Inputs[0].Name)] {
		if it == t {
			return true
		}
	}
	return false
}

// runFromButton starts the playbook a PlaybookButtons button names.
func (r *Router) runFromButton(ctx context.Context, c bot.Click) (bot.Reply, error) {
	parts := strings.SplitN(c.Value, "|", 3)
	if r.engine == nil || len(parts) != 3 {
		return bot.Reply{}, &bot.UserError{Msg: "this button is broken: it names no playbook"}
	}
	pb, ok := r.engine.Set().ByName(parts[0])
	if !ok {
		return bot.Reply{}, &bot.UserError{Msg: "the playbook " + parts[0] + " is no longer loaded"}
	}
	req := bot.Request{Platform: c.Platform, User: c.User, Channel: c.Channel, Command: "playbook", ReplyTo: c.ReplyTo}
	return r.runPlaybook(ctx, req, pb, []string{parts[1], parts[2]}, "playbook run")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
