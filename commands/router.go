package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/enrichment"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// Permissions say who may run what. Commands maps a command path
// ("incident close", "incident", "contain") to the role it needs; Roles maps
// a role to its members: platform user ids (bare or "slack:U123") or group
// ids (a Slack user group "S0123"), which Groups expands.
type Permissions struct {
	Roles    map[string][]string
	Commands map[string]string
	// Groups lists the members of a group on a platform; nil means roles
	// hold users only.
	Groups func(ctx context.Context, platform, group string) ([]string, error)
	// HasRole, if set, is asked first: it answers for memberships a platform
	// knows itself, such as a local account's configured role or a Discord
	// member's role ids, which no member list of Roles can express.
	HasRole func(ctx context.Context, actor, role string) bool
}

// required returns the role needed for a command path: the most specific
// configured prefix wins ("incident close" before "incident").
func (p Permissions) required(path string) (string, bool) {
	for {
		if role, ok := p.Commands[path]; ok {
			return role, true
		}
		i := strings.LastIndexByte(path, ' ')
		if i < 0 {
			return "", false
		}
		path = path[:i]
	}
}

// Allowed reports whether actor holds role, directly or through a group.
func (p Permissions) Allowed(ctx context.Context, actor, role string) bool {
	platform, user := bot.SplitActor(actor)
	if platform == "" {
		return false
	}
	if p.HasRole != nil && p.HasRole(ctx, actor, role) {
		return true
	}
	for _, m := range p.Roles[role] {
		if m == actor || m == user {
			return true
		}
	}
	if p.Groups == nil {
		return false
	}
	for _, m := range p.Roles[role] {
		mp, group := bot.SplitActor(m)
		if mp != "" && mp != platform {
			continue
		}
		members, err := p.Groups(ctx, platform, group)
		if err == nil && slices.Contains(members, user) {
			return true
		}
	}
	return false
}

// Handler runs one command word ("contain") for a request.
type Handler func(ctx context.Context, req bot.Request) (bot.Reply, error)

// Router routes requests and clicks to the service. It implements bot.Handler.
type Router struct {
	svc      *bot.Service
	perms    Permissions
	log      *slog.Logger
	commands map[string]Handler
	engine   *playbooks.Engine
	enricher *enrichment.Worker
	digest   func(ctx context.Context, platform string) (bot.Message, error)
}

// UseDigest answers /incident digest with the digest digest builds now.
func (r *Router) UseDigest(digest func(ctx context.Context, platform string) (bot.Message, error)) {
	r.digest = digest
}

// NewRouter returns a router with the /incident command registered.
func NewRouter(svc *bot.Service, perms Permissions, log *slog.Logger) *Router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{svc: svc, perms: perms, log: log, commands: map[string]Handler{}}
	r.Register("incident", r.incident)
	r.Register("enrich", r.enrich)
	return r
}

// Register adds a command word. It panics on a duplicate: two handlers for
// one word is a wiring bug.
func (r *Router) Register(word string, h Handler) {
	if _, dup := r.commands[word]; dup {
		panic("commands: duplicate command " + word)
	}
	r.commands[word] = h
}

// Command answers a slash command.
func (r *Router) Command(ctx context.Context, req bot.Request) bot.Reply {
	word := strings.TrimPrefix(strings.ToLower(req.Command), "/")
	h, ok := r.commands[word]
	if !ok {
		return r.fail(req.Actor(), fmt.Errorf("unknown command /%s", word))
	}
	reply, err := h(ctx, req)
	if err != nil {
		return r.fail(req.Actor(), err)
	}
	return reply
}

// Click answers a button press.
func (r *Router) Click(ctx context.Context, c bot.Click) bot.Reply {
	reply, err := r.click(ctx, c)
	if err != nil {
		return r.fail(c.Actor(), err)
	}
	return reply
}

func (r *Router) click(ctx context.Context, c bot.Click) (bot.Reply, error) {
	if c.ActionID == playbooks.ActionApprove || c.ActionID == playbooks.ActionDeny {
		return r.decide(ctx, c)
	}
	if c.ActionID == ActionRunPlaybook {
		return r.runFromButton(ctx, c)
	}
	id, err := strconv.ParseInt(c.Value, 10, 64)
	if err != nil && (c.ActionID == bot.ActionTakeCommand || c.ActionID == bot.ActionClose) {
		return bot.Reply{}, &bot.UserError{Msg: "this button is broken: it names no incident"}
	}
	actor := c.Actor()
	switch c.ActionID {
	case bot.ActionTakeCommand:
		if err := r.check(ctx, actor, "incident assign", id); err != nil {
			return bot.Reply{}, err
		}
		in, err := r.svc.Assign(ctx, actor, id, actor)
		if err != nil {
			return bot.Reply{}, err
		}
		return text("You have command of %s.", in.Ref()), nil
	case bot.ActionClose:
		if err := r.check(ctx, actor, "incident close", id); err != nil {
			return bot.Reply{}, err
		}
		in, err := r.svc.Close(ctx, actor, id, "")
		if err != nil {
			return bot.Reply{}, err
		}
		return text("%s is closed; its channel will be archived.", in.Ref()), nil
	}
	return bot.Reply{}, &bot.UserError{Msg: "this button is no longer handled"}
}

// check returns a user error when actor lacks the role a command needs.
// A refusal about an incident is recorded in its case log: who tried what
// matters after the fact.
func (r *Router) check(ctx context.Context, actor, path string, incidentID int64) error {
	role, ok := r.perms.required(path)
	if !ok || r.perms.Allowed(ctx, actor, role) {
		return nil
	}
	if incidentID != 0 {
		err := r.svc.Record(ctx, bot.Events(bot.Event{IncidentID: incidentID, Actor: actor, Kind: "command.refused",
			Body: map[string]string{"command": "/" + path, "needs_role": role}}))
		if err != nil {
			r.log.Error("record refusal", "err", err)
		}
	}
	return &bot.UserError{Msg: fmt.Sprintf("Not allowed: /%s needs role %s.", path, role)}
}

// fail turns an error into what the user sees. Usage and user errors are
// shown as they are; anything else is logged under a reference the user can
// quote, and they see only the reference.
func (r *Router) fail(actor string, err error) bot.Reply {
	var usage *UsageError
	var user *bot.UserError
	switch {
	case errors.As(err, &usage):
		return bot.Reply{Message: bot.Message{Text: usage.Error()}}
	case errors.As(err, &user):
		return bot.Reply{Message: bot.Message{Text: user.Msg}}
	}
	ref := newRef()
	r.log.Error("command failed", "ref", ref, "actor", actor, "err", err)
	return bot.Reply{Message: bot.Message{Text: "Something went wrong (reference " + ref + "). The details are in warroom's log."}}
}

func newRef() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func text(format string, args ...any) bot.Reply {
	return bot.Reply{Message: bot.Message{Text: fmt.Sprintf(format, args...)}}
}

// incident runs /incident.
func (r *Router) incident(ctx context.Context, req bot.Request) (bot.Reply, error) {
	cmd, err := ParseIncident(req.Text)
	if err != nil {
		return bot.Reply{}, err
	}
	actor := req.Actor()
	switch cmd.Sub {
	case "help", "new", "list", "digest":
		if err := r.check(ctx, actor, "incident "+cmd.Sub, 0); err != nil {
			return bot.Reply{}, err
		}
	}
	switch cmd.Sub {
	case "help":
		return bot.Reply{Message: bot.Message{Text: IncidentUsage()}}, nil
	case "new":
		in, err := r.svc.Open(ctx, actor, bot.NewIncident{
			Title: cmd.Title, Severity: cmd.Severity, Private: cmd.Private,
			ReplyPlatform: req.Platform, ReplyTo: req.ReplyTo,
		})
		if err != nil {
			return bot.Reply{}, err
		}
		return text("Opening %s (%s): %s. Its channel link follows in a moment.", in.Ref(), in.Severity, in.Title), nil
	case "list":
		return r.list(ctx, req, cmd.All)
	case "digest":
		if r.digest == nil {
			return bot.Reply{}, &bot.UserError{Msg: "No digest is configured (digests: in the config)."}
		}
		m, err := r.digest(ctx, req.Platform)
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Reply{Message: m, Public: cmd.Post}, nil
	}
	id, err := r.target(ctx, req, cmd)
	if err != nil {
		return bot.Reply{}, err
	}
	if err := r.check(ctx, actor, "incident "+cmd.Sub, id); err != nil {
		return bot.Reply{}, err
	}
	switch cmd.Sub {
	case "show":
		return r.show(ctx, req.Platform, id)
	case "timeline":
		return r.timeline(ctx, id)
	case "report":
		return r.report(ctx, id, cmd.Post)
	case "status":
		in, err := r.svc.SetStatus(ctx, actor, id, cmd.Status)
		return done(in, err, "%s is now %s.", in.Ref(), cmd.Status)
	case "severity":
		in, err := r.svc.SetSeverity(ctx, actor, id, cmd.Severity)
		return done(in, err, "%s is now %s severity.", in.Ref(), cmd.Severity)
	case "assign":
		commander := bot.ActorID(req.Platform, cmd.User)
		switch {
		case cmd.User == "me":
			commander = actor
		case strings.HasPrefix(cmd.User, "@") && req.Platform == "local":
			commander = bot.ActorID("local", cmd.User[1:])
		case strings.HasPrefix(cmd.User, "@"):
			return bot.Reply{}, &bot.UserError{Msg: "Mention the new commander (pick them from the list after @) so " + req.Platform + " sends their id, or use me."}
		}
		in, err := r.svc.Assign(ctx, actor, id, commander)
		return done(in, err, "%s has a new commander.", in.Ref())
	case "note":
		in, err := r.svc.Note(ctx, actor, id, cmd.Text)
		return done(in, err, "Noted in %s.", in.Ref())
	case "close":
		in, err := r.svc.Close(ctx, actor, id, cmd.Text)
		return done(in, err, "%s is closed; its channel will be archived.", in.Ref())
	case "reopen":
		in, err := r.svc.Reopen(ctx, actor, id)
		return done(in, err, "%s is reopened in a new channel.", in.Ref())
	}
	return bot.Reply{}, usageErr("", "unknown subcommand %q", cmd.Sub)
}

func done(in bot.Incident, err error, format string, args ...any) (bot.Reply, error) {
	if err != nil {
		return bot.Reply{}, err
	}
	return text(format, args...), nil
}

// target picks the incident a command is about: the one named, else the one
// whose channel the command was typed in.
func (r *Router) target(ctx context.Context, req bot.Request, cmd IncidentCmd) (int64, error) {
	if cmd.Ref != 0 {
		if err := r.mayReach(ctx, req, cmd.Ref); err != nil {
			return 0, err
		}
		return cmd.Ref, nil
	}
	id, ok, err := r.svc.IncidentOfChannel(ctx, req.Platform, req.Channel)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, usageErr(cmd.Sub, "this is not an incident channel: run it in one, or name the incident (INC-N) first")
	}
	return id, nil
}

// privateRole reaches every private incident, as leads are admitted to
// every private channel.
const privateRole = "lead"

// mayReach keeps a private incident private from people outside it: named
// from another channel (INC-7 in a command), it answers only its opener,
// its commander and leads; anyone else is told it does not exist. In the
// incident's own channel the platform has already decided who is there.
func (r *Router) mayReach(ctx context.Context, req bot.Request, id int64) error {
	in, err := r.svc.Get(ctx, id)
	if err != nil || !in.Private {
		return err
	}
	actor := req.Actor()
	if actor == in.CreatedBy || actor == in.Commander || r.perms.Allowed(ctx, actor, privateRole) {
		return nil
	}
	if here, ok, err := r.svc.IncidentOfChannel(ctx, req.Platform, req.Channel); err == nil && ok && here == id {
		return nil
	}
	return &bot.UserError{Msg: in.Ref() + " does not exist"}
}

const listCap = 25

func (r *Router) list(ctx context.Context, req bot.Request, all bool) (bot.Reply, error) {
	// Private incidents the asker cannot reach are left out, so read a
	// little more than the page shows.
	listed, err := r.svc.List(ctx, all, 4*listCap)
	if err != nil {
		return bot.Reply{}, err
	}
	ins := listed[:0:0]
	for _, in := range listed {
		if in.Private && r.mayReach(ctx, req, in.ID) != nil {
			continue
		}
		if ins = append(ins, in); len(ins) > listCap {
			break
		}
	}
	what := "Open incidents"
	if all {
		what = "Incidents"
	}
	if len(ins) == 0 {
		return text("No open incidents."), nil
	}
	m := bot.Message{Title: what}
	for i, in := range ins {
		if i == listCap {
			m.Footer = fmt.Sprintf("Showing the newest %d. `warroom incident list` shows all.", listCap)
			break
		}
		f := bot.Field{
			Label: fmt.Sprintf("%s · %s · %s", in.Ref(), in.Severity, in.Status),
			Value: in.Title,
			User:  in.Commander,
		}
		m.Fields = append(m.Fields, f)
	}
	return bot.Reply{Message: m}, nil
}

func (r *Router) show(ctx context.Context, platform string, id int64) (bot.Reply, error) {
	in, err := r.svc.Get(ctx, id)
	if err != nil {
		return bot.Reply{}, err
	}
	m := bot.Message{
		Title:    in.Ref() + " · " + in.Title,
		Severity: in.Severity,
		Fields: []bot.Field{
			{Label: "Severity", Value: in.Severity},
			{Label: "Status", Value: in.Status},
			{Label: "Commander", User: in.Commander, Value: nobody(in.Commander)},
			{Label: "Opened by", User: in.CreatedBy},
			{Label: "Opened", Value: in.CreatedAt.Format("2006-01-02 15:04 UTC")},
			{Label: "Alerts", Value: strconv.Itoa(in.AlertCount)},
		},
	}
	if in.Summary != "" {
		m.Fields = append(m.Fields, bot.Field{Label: "Summary", Value: in.Summary})
	}
	if room, err := r.svc.DB().Room(ctx, platform, id); err == nil {
		ref := bot.RoomRef{Platform: room.Platform, ID: room.ChannelID, Name: room.Name, URL: room.URL}
		m.Links = append(m.Links, bot.Link{Text: room.Name, Room: &ref})
	}
	return bot.Reply{Message: m}, nil
}

func nobody(commander string) string {
	if commander == "" {
		return "nobody yet"
	}
	return ""
}

// timelineLen is how many entries /incident timeline shows.
const timelineLen = 20

func (r *Router) timeline(ctx context.Context, id int64) (bot.Reply, error) {
	entries, err := r.svc.Timeline(ctx, id, timelineLen)
	if err != nil {
		return bot.Reply{}, err
	}
	m := bot.Message{Title: fmt.Sprintf("%s timeline (last %d)", store.FormatRef(id), timelineLen)}
	for _, e := range entries {
		f := bot.Field{Label: e.At.Format("01-02 15:04:05") + " " + e.Kind, Value: Describe(e)}
		if withheld(e) {
			// The timeline is a chat message: a TLP:RED answer stays in
			// the case log and the web room.
			f.Value = "an answer withheld by TLP:RED (see the web room)"
		}
		if e.Actor != bot.System {
			f.User = e.Actor
		} else {
			f.Value = strings.TrimSpace(f.Value + " (warroom)")
		}
		m.Fields = append(m.Fields, f)
	}
	return bot.Reply{Message: m}, nil
}

// withheld reports whether e is an enrichment answer that may not be shown
// in chat at all, even to one person: TLP:RED.
func withheld(e store.Entry) bool {
	if e.Kind != "enrichment.result" {
		return false
	}
	var b struct {
		TLP string `json:"tlp"`
	}
	_ = json.Unmarshal(e.Body, &b)
	return !enrich.Shareable(b.TLP, true)
}

// Describe renders a case-log entry's body as one line for people.
func Describe(e store.Entry) string {
	var b map[string]any
	_ = json.Unmarshal(e.Body, &b)
	s := func(k string) string { v, _ := b[k].(string); return v }
	switch e.Kind {
	case "incident.opened":
		return fmt.Sprintf("opened %q (%s)", s("title"), s("severity"))
	case "status.changed", "severity.changed":
		return s("from") + " → " + s("to")
	case "commander.changed":
		_, to := bot.SplitActor(s("to"))
		return "commander is now " + to
	case "note.added":
		return s("text")
	case "incident.closed":
		return strings.TrimSpace("closed. " + s("summary"))
	case "incident.reopened":
		return "reopened"
	case "room.created":
		return s("platform") + " channel " + s("name")
	case "run.started", "run.queued":
		return "playbook " + s("playbook") + " " + strings.TrimPrefix(e.Kind, "run.")
	case "run.succeeded", "run.failed", "run.denied", "run.skipped":
		d := "playbook " + s("playbook") + " " + strings.TrimPrefix(e.Kind, "run.")
		if msg := s("error"); msg != "" {
			d += ": " + msg
		}
		return d
	case "approval.requested":
		return "approval asked: " + s("message")
	case "approval.approved", "approval.denied", "approval.vote":
		return strings.TrimPrefix(e.Kind, "approval.") + " step " + s("step")
	case "approval.refused":
		return s("reason")
	case "approval.timed_out", "approval.escalated":
		return "approval of step " + s("step") + " " + strings.ReplaceAll(strings.TrimPrefix(e.Kind, "approval."), "_", " ")
	case "alert.attached", "alert.repeated", "alert.resolved":
		d := strings.TrimPrefix(e.Kind, "alert.") + ": " + s("title")
		if n, ok := b["repeats"].(float64); ok && n > 1 {
			d = fmt.Sprintf("repeated %d times: %s", int(n), s("title"))
		}
		if n, ok := b["count"].(float64); ok {
			d += fmt.Sprintf(" (%d in all)", int(n))
		}
		return d
	case "enrichment.requested":
		n, _ := b["indicators"].([]any)
		return fmt.Sprintf("looking up %d indicators", len(n))
	case "enrichment.result":
		d := s("source") + ": " + s("value") + " " + s("verdict")
		if e := s("error"); e != "" {
			d = s("source") + ": " + s("value") + " error: " + e
		}
		return d
	case "command.refused":
		return s("command") + " needs role " + s("needs_role")
	}
	if strings.HasPrefix(e.Kind, "step.") {
		d := "step " + s("step") + " " + strings.TrimPrefix(e.Kind, "step.")
		if link := s("link"); link != "" {
			d += ": " + link
		}
		return d
	}
	return string(e.Body)
}
