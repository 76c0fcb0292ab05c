package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// UsePlaybooks routes /playbook, every playbook's own command word
// (/contain) and the Approve / Deny buttons to the engine.
func (r *Router) UsePlaybooks(e *playbooks.Engine) {
	r.engine = e
	r.Register("playbook", r.playbook)
	for _, pb := range e.Set().All() {
		if w := pb.On.Command; w != "" {
			r.Register(w, func(ctx context.Context, req bot.Request) (bot.Reply, error) {
				return r.runPlaybook(ctx, req, pb, strings.Fields(req.Text), w)
			})
		}
	}
}

const playbookUsage = "Usage:\n  /playbook list\n  /playbook run NAME [key=value...] [--dry-run]\n  /playbook status [INC-N]"

func (r *Router) playbook(ctx context.Context, req bot.Request) (bot.Reply, error) {
	words := strings.Fields(req.Text)
	if len(words) == 0 {
		return text(playbookUsage), nil
	}
	switch strings.ToLower(words[0]) {
	case "list", "ls":
		return r.playbookList(), nil
	case "run":
		if len(words) < 2 {
			return bot.Reply{}, &UsageError{Problem: "name the playbook to run", Usage: playbookUsage}
		}
		pb, ok := r.engine.Set().ByName(words[1])
		if !ok {
			return bot.Reply{}, &UsageError{Problem: fmt.Sprintf("no playbook %q; /playbook list shows them", words[1]), Usage: playbookUsage}
		}
		return r.runPlaybook(ctx, req, pb, words[2:], "playbook run")
	case "status":
		return r.playbookStatus(ctx, req, words[1:])
	case "help":
		return text(playbookUsage), nil
	}
	return bot.Reply{}, &UsageError{Problem: fmt.Sprintf("unknown subcommand %q", words[0]), Usage: playbookUsage}
}

func (r *Router) playbookList() bot.Reply {
	all := r.engine.Set().All()
	if len(all) == 0 {
		return text("No playbooks are loaded (config playbooks: names their directory).")
	}
	m := bot.Message{Title: "Playbooks"}
	for _, pb := range all {
		var on []string
		if pb.On.Command != "" {
			on = append(on, "/"+pb.On.Command)
		}
		if a := pb.On.Alert; a != nil {
			on = append(on, "alerts from "+orAny(a.Sources)+" at "+orAny(a.Severities))
		}
		if len(on) == 0 {
			on = append(on, "/playbook run "+pb.Name)
		}
		m.Fields = append(m.Fields, bot.Field{Label: pb.Name + " · " + strings.Join(on, ", "), Value: pb.Description})
	}
	return bot.Reply{Message: m}
}

func orAny(list []string) string {
	if len(list) == 0 {
		return "any"
	}
	return strings.Join(list, "/")
}

// runPlaybook starts (or dry-runs) a playbook from a command's words.
func (r *Router) runPlaybook(ctx context.Context, req bot.Request, pb *playbooks.Playbook, words []string, path string) (bot.Reply, error) {
	actor := req.Actor()
	dry := false
	rest := words[:0:0]
	for _, w := range words {
		if w == "--dry-run" {
			dry = true
			continue
		}
		rest = append(rest, w)
	}
	var id int64
	if len(rest) > 0 {
		if n, ok := store.ParseRef(rest[0]); ok {
			if err := r.mayReach(ctx, req, n); err != nil {
				return bot.Reply{}, err
			}
			id, rest = n, rest[1:]
		}
	}
	if id == 0 {
		n, ok, err := r.svc.IncidentOfChannel(ctx, req.Platform, req.Channel)
		if err != nil {
			return bot.Reply{}, err
		}
		if !ok {
			return bot.Reply{}, &bot.UserError{Msg: "Run this in an incident channel, or name the incident first: " + pb.Usage()}
		}
		id = n
	}
	in, err := r.svc.Get(ctx, id)
	if err != nil {
		return bot.Reply{}, err
	}
	if err := r.check(ctx, actor, path, id); err != nil {
		return bot.Reply{}, err
	}
	if w := pb.On.Command; w != "" && w != path {
		// /playbook run contain needs whatever /contain needs.
		if err := r.check(ctx, actor, w, id); err != nil {
			return bot.Reply{}, err
		}
	}
	if in.Status == "closed" {
		return bot.Reply{}, &bot.UserError{Msg: in.Ref() + " is closed; reopen it before running playbooks."}
	}
	inputs, env, err := r.engine.Plan(ctx, pb, id, rest, nil)
	var ue *playbooks.UsageError
	if errors.As(err, &ue) {
		return bot.Reply{}, &bot.UserError{Msg: ue.Error()}
	}
	if err != nil {
		return bot.Reply{}, err
	}
	if dry {
		m := bot.Message{Title: "Dry run of " + pb.Name + " on " + in.Ref() + ": nothing was called"}
		for _, c := range pb.DryRun(env) {
			m.Fields = append(m.Fields, bot.Field{Label: c.Title, Value: c.String()})
		}
		return bot.Reply{Message: m}, nil
	}
	run, err := r.engine.Start(ctx, playbooks.StartRequest{Playbook: pb, IncidentID: id, Actor: actor, Trigger: "command", Inputs: inputs})
	if err != nil {
		return bot.Reply{}, err
	}
	return text("Started %s (run %d) on %s; its progress is in the incident channel.", pb.Name, run, in.Ref()), nil
}

func (r *Router) playbookStatus(ctx context.Context, req bot.Request, words []string) (bot.Reply, error) {
	var id int64
	if len(words) > 0 {
		n, ok := store.ParseRef(words[0])
		if !ok {
			return bot.Reply{}, &UsageError{Problem: fmt.Sprintf("%q is not an incident id", words[0]), Usage: playbookUsage}
		}
		if err := r.mayReach(ctx, req, n); err != nil {
			return bot.Reply{}, err
		}
		id = n
	} else {
		n, ok, err := r.svc.IncidentOfChannel(ctx, req.Platform, req.Channel)
		if err != nil {
			return bot.Reply{}, err
		}
		if !ok {
			return bot.Reply{}, &UsageError{Problem: "not an incident channel: name the incident", Usage: playbookUsage}
		}
		id = n
	}
	runs, err := r.svc.DB().Runs(ctx, id, 10)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(runs) == 0 {
		return text("No playbook has run on %s.", store.FormatRef(id)), nil
	}
	m := bot.Message{Title: "Playbook runs on " + store.FormatRef(id)}
	for _, run := range runs {
		v := run.Status
		if run.Error != "" {
			v += ": " + run.Error
		}
		m.Fields = append(m.Fields, bot.Field{Label: fmt.Sprintf("run %d · %s", run.ID, run.Playbook), Value: v})
	}
	return bot.Reply{Message: m}, nil
}

// decide answers an Approve or Deny click.
func (r *Router) decide(ctx context.Context, c bot.Click) (bot.Reply, error) {
	if r.engine == nil {
		return bot.Reply{}, &bot.UserError{Msg: "playbooks are not enabled"}
	}
	msg, err := r.engine.Decide(ctx, c.Value, c.Actor(), c.ActionID == playbooks.ActionApprove)
	if err != nil {
		return bot.Reply{}, err
	}
	return text("%s", msg), nil
}
