package playbooks_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// noop is an action that does nothing, to measure the engine alone.
type noop struct{}

func (noop) Spec() connectors.Spec {
	return connectors.Spec{Name: "noop.run", Idempotent: true, Inputs: []connectors.Field{{Name: "n", Type: connectors.Int}}}
}
func (noop) Run(context.Context, connectors.Call) (map[string]any, error) {
	return map[string]any{}, nil
}

// BenchmarkEngineStep runs a 100-step playbook of no-op steps with full
// persistence (run and step rows, a case-log entry per transition, the
// progress message edit queued in the outbox) and reports time per step.
func BenchmarkEngineStep(b *testing.B) {
	for _, sync := range []string{"full", "normal"} {
		b.Run("sync="+sync, func(b *testing.B) { benchEngine(b, sync) })
	}
}

func benchEngine(b *testing.B, sync string) {
	const steps = 100
	var y strings.Builder
	y.WriteString("name: many\non: {command: many}\nsteps:\n")
	for i := range steps {
		fmt.Fprintf(&y, "  - id: s%d\n    uses: noop.run\n    with: {n: %d}\n", i, i)
	}
	reg := connectors.NewRegistry()
	reg.Register(noop{})
	pb, diags := playbooks.Parse("many.yaml", []byte(y.String()), playbooks.Options{Spec: playbooks.RegistrySpec(reg)})
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	set, _ := playbooks.NewSet(pb)
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"), store.WithSync(sync))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	in, err := svc.Open(context.Background(), "slack:U1", bot.NewIncident{Title: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	e := playbooks.NewEngine(playbooks.EngineOptions{Service: svc, Set: set, Actions: reg})
	b.ResetTimer()
	for range b.N {
		if _, err := e.Start(context.Background(), playbooks.StartRequest{Playbook: pb, IncidentID: in.ID, Actor: "slack:U1", Trigger: "command"}); err != nil {
			b.Fatal(err)
		}
		e.Wait()
	}
	b.StopTimer()
	runs, _ := db.Runs(context.Background(), in.ID, 1)
	if runs[0].Status != "succeeded" {
		b.Fatalf("run %s: %s", runs[0].Status, runs[0].Error)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*steps)/1000, "ms/step")
}
