package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/warroom-bot/warroom/store"
)

// cmdOutbox runs `warroom outbox list [--dead] [--json]` and `warroom
// outbox retry ID...|--all`: looking at chat calls that wait or were given
// up, and giving dead ones another go once the cause (a revoked token, an
// archived channel) is fixed. A running server picks retried rows up on
// its next scan.
func cmdOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: warroom outbox list [--dead] [--json] | warroom outbox retry ID... | warroom outbox retry --all"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	fs, cfgPath := flags("outbox "+args[0], stderr)
	dead := fs.Bool("dead", false, "list the rows given up on instead of those waiting")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "retry every dead row")
	pos, err := parse(fs, args[1:])
	if err != nil {
		fmt.Fprintln(stderr, use)
		return err
	}
	var ids []int64
	for _, p := range pos {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			fmt.Fprintf(stderr, "%q is not an outbox row id\n%s\n", p, use)
			return errUsage
		}
		ids = append(ids, id)
	}
	switch {
	case args[0] == "list" && len(ids) == 0 && !*all:
	case args[0] == "retry" && (len(ids) > 0) != *all:
	default:
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	db, err := openConfigured(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "retry" {
		var n int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.RequeueDead(ctx, ids, time.Now())
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d dead rows are pending again\n", n)
		if len(ids) > 0 && n < int64(len(ids)) {
			return fmt.Errorf("%d of the ids named are not dead rows", int64(len(ids))-n)
		}
		return nil
	}
	state := store.OutboxPending
	if *dead {
		state = store.OutboxDead
	}
	rows, err := db.OutboxRows(ctx, state)
	if err != nil {
		return err
	}
	if *asJSON {
		type rowJSON struct {
			ID        int64     `json:"id"`
			Platform  string    `json:"platform"`
			Op        string    `json:"op"`
			Incident  string    `json:"incident,omitempty"`
			Attempts  int       `json:"attempts"`
			NextAt    time.Time `json:"next_at"`
			LastError string    `json:"last_error,omitempty"`
			CreatedAt time.Time `json:"created_at"`
		}
		out := make([]rowJSON, 0, len(rows))
		for _, r := range rows {
			j := rowJSON{ID: r.ID, Platform: r.Platform, Op: r.Op, Attempts: r.Attempts, NextAt: r.NextAt, LastError: r.LastError, CreatedAt: r.CreatedAt}
			if r.IncidentID != 0 {
				j.Incident = store.FormatRef(r.IncidentID)
			}
			out = append(out, j)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPLATFORM\tOP\tINCIDENT\tATTEMPTS\tLAST ERROR")
	for _, r := range rows {
		inc := "-"
		if r.IncidentID != 0 {
			inc = store.FormatRef(r.IncidentID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.Platform, r.Op, inc, r.Attempts, r.LastError)
	}
	return tw.Flush()
}
