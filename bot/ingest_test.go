package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// TestConcurrentRepeatsAreCountedExactly: many callers sending repeats of a
// few fingerprints at once share transactions and have their repeats
// counted together; no sighting may be lost or counted twice, and the case
// log must account for every one of them.
func TestConcurrentRepeatsAreCountedExactly(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	const callers, each, fingerprints = 16, 50, 5
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				fp := (c + i) % fingerprints
				a := bot.Alert{Source: "alertmanager", Fingerprint: fmt.Sprintf("fp%d", fp), Status: "firing",
					Title: fmt.Sprintf("Disk full on db-%d", fp), Severity: "high"}
				if i == each-1 && c == 0 {
					a.Severity = "critical" // one sighting raises its incident's severity
				}
				if _, err := svc.Ingest(ctx, []bot.Alert{a}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	ins, err := db.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != fingerprints {
		t.Fatalf("%d incidents, want %d", len(ins), fingerprints)
	}
	total, critical := 0, 0
	for _, in := range ins {
		alerts, err := db.Alerts(ctx, in.ID)
		if err != nil || len(alerts) != 1 {
			t.Fatalf("%s: %d alerts, %v", in.Ref(), len(alerts), err)
		}
		if alerts[0].Count != in.AlertCount {
			t.Errorf("%s: alert count %d, incident says %d", in.Ref(), alerts[0].Count, in.AlertCount)
		}
		total += in.AlertCount
		if in.Severity == "critical" {
			critical++
		}
		// Every sighting is in the case log: one entry per opening, attach
		// or lone repeat, and one with "repeats": n for n counted together.
		entries, err := db.Entries(ctx, in.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		logged := 0
		for _, e := range entries {
			switch e.Kind {
			case "alert.attached", "alert.repeated", "alert.resolved":
				var body struct {
					Repeats int `json:"repeats"`
				}
				if err := json.Unmarshal(e.Body, &body); err != nil {
					t.Fatal(err)
				}
				logged += max(body.Repeats, 1)
			}
		}
		if logged != in.AlertCount {
			t.Errorf("%s: the case log accounts for %d sightings, want %d", in.Ref(), logged, in.AlertCount)
		}
	}
	if total != callers*each {
		t.Errorf("%d sightings counted, want %d", total, callers*each)
	}
	if critical != 1 {
		t.Errorf("%d incidents raised to critical, want 1", critical)
	}
}

// TestRepeatsAroundARaiseInOneCall: within one batch, repeats counted
// before a sighting that raises the severity are written before it, and
// those after it are counted afresh; the counts and the case log agree.
func TestRepeatsAroundARaiseInOneCall(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	var alerts []bot.Alert
	for _, sev := range []string{"high", "high", "high", "critical", "high", "high"} {
		alerts = append(alerts, bot.Alert{Source: "alertmanager", Fingerprint: "fp", Status: "firing", Title: "Disk full", Severity: sev})
	}
	res, err := svc.Ingest(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, r := range res {
		outcomes = append(outcomes, r.Outcome)
	}
	if want := "opened repeated repeated repeated repeated repeated"; fmt.Sprint(outcomes) != "["+want+"]" {
		t.Errorf("outcomes %v, want [%s]", outcomes, want)
	}
	ins, err := db.Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(ins) != 1 {
		t.Fatalf("%d incidents, %v; want 1", len(ins), err)
	}
	in := ins[0]
	alertRows, err := db.Alerts(ctx, in.ID)
	if err != nil || len(alertRows) != 1 {
		t.Fatalf("%d alerts, %v; want 1", len(alertRows), err)
	}
	if in.AlertCount != 6 || alertRows[0].Count != 6 || in.Severity != "critical" {
		t.Errorf("incident counts %d alerts at %s, alert counts %d; want 6, critical, 6", in.AlertCount, in.Severity, alertRows[0].Count)
	}
	entries, err := db.Entries(ctx, in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, e := range entries {
		if e.Kind != "alert.attached" && e.Kind != "alert.repeated" {
			continue
		}
		var body struct {
			Count   int `json:"count"`
			Repeats int `json:"repeats"`
		}
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, max(body.Count, 1), max(body.Repeats, 1))
	}
	// Opened (1), two repeats counted together (3), the raise (4), two more (6).
	if want := []int{1, 1, 3, 2, 4, 1, 6, 2}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("case log (count, repeats) pairs %v, want %v", counts, want)
	}
}
