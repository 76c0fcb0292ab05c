package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/store"
)

// incidentJSON is the shape scripts read from --json.
type incidentJSON struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	Severity   string      `json:"severity"`
	Status     string      `json:"status"`
	Commander  string      `json:"commander"`
	CreatedBy  string      `json:"created_by"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	ClosedAt   *time.Time  `json:"closed_at,omitempty"`
	AlertCount int         `json:"alert_count"`
	Summary    string      `json:"summary,omitempty"`
	Rooms      []roomJSON  `json:"rooms,omitempty"`
	Timeline   []entryJSON `json:"timeline,omitempty"`
}

type roomJSON struct {
	Platform string `json:"platform"`
	Channel  string `json:"channel"`
	Name     string `json:"name"`
	URL      string `json:"url,omitempty"`
}

type entryJSON struct {
	Seq   int64           `json:"seq"`
	At    time.Time       `json:"at"`
	Actor string          `json:"actor"`
	Kind  string          `json:"kind"`
	Body  json.RawMessage `json:"body"`
}

func toJSON(in store.Incident) incidentJSON {
	j := incidentJSON{
		ID: in.Ref(), Title: in.Title, Severity: in.Severity, Status: in.Status, Commander: in.Commander,
		CreatedBy: in.CreatedBy, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt, AlertCount: in.AlertCount, Summary: in.Summary,
	}
	if !in.ClosedAt.IsZero() {
		j.ClosedAt = &in.ClosedAt
	}
	return j
}

func cmdIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const sub = "usage: warroom incident list [--all] [--json] | warroom incident show INC-N [--json] | warroom incident report INC-N"
	if len(args) == 0 {
		fmt.Fprintln(stderr, sub)
		return errUsage
	}
	fs, cfgPath := flags("incident "+args[0], stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "include closed incidents (list)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	switch {
	case args[0] == "list" && len(pos) == 0:
		db, err := openExisting(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		return incidentList(ctx, db, *all, *asJSON, stdout)
	case (args[0] == "show" || args[0] == "report") && len(pos) == 1:
		id, ok := store.ParseRef(pos[0])
		if !ok {
			fmt.Fprintf(stderr, "%q is not an incident id (INC-N)\n%s\n", pos[0], sub)
			return errUsage
		}
		db, err := openExisting(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		if args[0] == "report" {
			return incidentReport(ctx, db, id, stdout)
		}
		return incidentShow(ctx, db, id, *asJSON, stdout)
	}
	fmt.Fprintln(stderr, sub)
	return errUsage
}

func incidentList(ctx context.Context, db *store.DB, all, asJSON bool, w io.Writer) error {
	ins, err := db.Incidents(ctx, store.IncidentFilter{Open: !all})
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]incidentJSON, 0, len(ins))
		for _, in := range ins {
			out = append(out, toJSON(in))
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tCOMMANDER\tAGE\tALERTS\tTITLE")
	for _, in := range ins {
		commander := in.Commander
		if commander == "" {
			commander = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.Ref(), in.Severity, in.Status, commander,
			bot.Age(time.Since(in.CreatedAt)), in.AlertCount, in.Title)
	}
	return tw.Flush()
}

func incidentShow(ctx context.Context, db *store.DB, id int64, asJSON bool, w io.Writer) error {
	in, err := db.Incident(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", store.FormatRef(id), err)
	}
	rooms, err := db.Rooms(ctx, id)
	if err != nil {
		return err
	}
	entries, err := db.Entries(ctx, id, 0)
	if err != nil {
		return err
	}
	if asJSON {
		j := toJSON(in)
		for _, r := range rooms {
			j.Rooms = append(j.Rooms, roomJSON{Platform: r.Platform, Channel: r.ChannelID, Name: r.Name, URL: r.URL})
		}
		for _, e := range entries {
			j.Timeline = append(j.Timeline, entryJSON{Seq: e.Seq, At: e.At, Actor: e.Actor, Kind: e.Kind, Body: e.Body})
		}
		return writeJSON(w, j)
	}
	fmt.Fprintf(w, "%s  %s\n", in.Ref(), in.Title)
	fmt.Fprintf(w, "severity %s · status %s · commander %s · opened %s by %s · %d alerts\n",
		in.Severity, in.Status, orDash(in.Commander), in.CreatedAt.Format(time.RFC3339), in.CreatedBy, in.AlertCount)
	for _, r := range rooms {
		fmt.Fprintf(w, "room: %s #%s (%s) %s\n", r.Platform, r.Name, r.ChannelID, r.URL)
	}
	if in.Summary != "" {
		fmt.Fprintf(w, "summary: %s\n", in.Summary)
	}
	fmt.Fprintln(w, "\ntimeline:")
	for _, e := range entries {
		fmt.Fprintf(w, "  %s  %-18s %-16s %s\n", e.At.Format(time.RFC3339), e.Kind, e.Actor, commands.Describe(e))
	}
	return nil
}

// incidentReport prints the post-incident report as Markdown. The shell
// reads the database itself, so nothing is withheld; each answer keeps
// the TLP its source gave it in the case log.
func incidentReport(ctx context.Context, db *store.DB, id int64, w io.Writer) error {
	rep, err := commands.BuildReport(ctx, db, id, func(string) bool { return true })
	if err != nil {
		return fmt.Errorf("%s: %w", store.FormatRef(id), err)
	}
	_, err = io.WriteString(w, rep.Markdown())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
