package playbooks_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// ticket is an action that files a ticket and declares its URL the link.
type ticket struct{}

func (ticket) Spec() connectors.Spec {
	return connectors.Spec{Name: "tickets.create", Link: "url",
		Inputs:  []connectors.Field{{Name: "summary", Type: connectors.String}},
		Outputs: []connectors.Field{{Name: "url", Type: connectors.String}, {Name: "key", Type: connectors.String}}}
}
func (ticket) Run(context.Context, connectors.Call) (map[string]any, error) {
	return map[string]any{"url": "https://example.atlassian.net/browse/SEC-24", "key": "SEC-24"}, nil
}

// TestStepLinksWhatItMade: the case-log entry of a step whose action
// declares a link (a Jira issue, a TheHive case) records it; other steps
// record none.
func TestStepLinksWhatItMade(t *testing.T) {
	const src = `name: ticket
on: {command: ticket}
steps:
  - id: file
    uses: tickets.create
    with: {summary: "${{ incident.ref }}"}
  - id: quiet
    uses: noop.run
    with: {n: 1}
`
	reg := connectors.NewRegistry()
	reg.Register(ticket{})
	reg.Register(noop{})
	pb, diags := playbooks.Parse("ticket.yaml", []byte(src), playbooks.Options{Spec: playbooks.RegistrySpec(reg)})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	set, _ := playbooks.NewSet(pb)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	in, err := svc.Open(ctx, "slack:U1", bot.NewIncident{Title: "Phishing wave"})
	if err != nil {
		t.Fatal(err)
	}
	e := playbooks.NewEngine(playbooks.EngineOptions{Service: svc, Set: set, Actions: reg})
	if _, err := e.Start(ctx, playbooks.StartRequest{Playbook: pb, IncidentID: in.ID, Actor: "slack:U1", Trigger: "command"}); err != nil {
		t.Fatal(err)
	}
	e.Wait()
	entries, err := db.Entries(ctx, in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, en := range entries {
		if en.Kind != "step.succeeded" {
			continue
		}
		var b struct{ Step, Link string }
		if err := json.Unmarshal(en.Body, &b); err != nil {
			t.Fatal(err)
		}
		links[b.Step] = b.Link
	}
	if len(links) != 2 || links["file"] != "https://example.atlassian.net/browse/SEC-24" || links["quiet"] != "" {
		t.Errorf("links of the succeeded steps = %v, want the ticket's URL for file and none for quiet", links)
	}
}
