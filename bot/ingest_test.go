package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/internal/fakeclock"
	"github.com/warroom-bot/warroom/store"
)

// openService opens the database at path, a new one when path is empty,
// and a service on it that gives every incident a Slack room. The test
// closes the database.
func openService(t *testing.T, path string, clock bot.Clock) (*store.DB, *bot.Service) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "w.db")
	}
	db, err := store.Open(context.Background(), path, store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	return db, bot.NewService(db, bot.Options{Platforms: []string{"slack"}, Clock: clock})
}

// TestConcurrentRepeatsAreCountedExactly: many callers sending repeats of a
// few fingerprints at once share transactions and have their repeats
// counted together; no sighting may be lost or counted twice, and the case
// log must account for every one of them.
func TestConcurrentRepeatsAreCountedExactly(t *testing.T) {
	ctx := context.Background()
	db, svc := openService(t, "", nil)
	defer db.Close()
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
	if err := svc.FlushRepeats(ctx); err != nil {
		t.Fatal(err)
	}

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
	db, svc := openService(t, "", nil)
	defer db.Close()
	var alerts []bot.Alert
	for _, sev := range []string{"high", "high", "high", "critical", "high", "high"} {
		alerts = append(alerts, bot.Alert{Source: "alertmanager", Fingerprint: "fp", Status: "firing", Title: "Disk full", Severity: sev})
	}
	res, err := svc.Ingest(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushRepeats(ctx); err != nil {
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

// repeatSummaries returns the "alert.repeated" entries of an incident as
// (count, repeats) pairs.
func repeatSummaries(t *testing.T, db *store.DB, id int64) [][2]int {
	t.Helper()
	entries, err := db.Entries(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int
	for _, e := range entries {
		if e.Kind != "alert.repeated" {
			continue
		}
		var body struct{ Count, Repeats int }
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]int{body.Count, body.Repeats})
	}
	return out
}

// TestRepeatSummariesSurviveACrash: repeats are counted in the alert's row
// as they arrive and summed up in the case log when their window has
// passed. A process that dies before writing the summary leaves it to the
// next one, which writes it once.
func TestRepeatSummariesSurviveACrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	clock := fakeclock.New(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	alert := bot.Alert{Source: "alertmanager", Fingerprint: "fp", Status: "firing", Title: "Disk full", Severity: "high"}
	db, svc := openService(t, path, clock)
	for range 8 {
		if _, err := svc.Ingest(ctx, []bot.Alert{alert}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if got := repeatSummaries(t, db, 1); len(got) != 0 {
		t.Fatalf("summaries before the window passed: %v", got)
	}
	db.Close() // the process dies: nothing was flushed at a stop

	db, svc = openService(t, path, clock)
	defer db.Close()
	clock.Advance(10 * time.Second)
	// The next batch, whatever its alerts, carries what fell due.
	other := alert
	other.Fingerprint, other.Title = "fp-other", "CPU hot"
	if _, err := svc.Ingest(ctx, []bot.Alert{other}); err != nil {
		t.Fatal(err)
	}
	if got := repeatSummaries(t, db, 1); fmt.Sprint(got) != "[[8 7]]" {
		t.Errorf("summaries after the restart %v, want one of 7 repeats at count 8", got)
	}
	if err := svc.FlushRepeats(ctx); err != nil {
		t.Fatal(err)
	}
	if got := repeatSummaries(t, db, 1); len(got) != 1 {
		t.Errorf("a flush wrote the summary again: %v", got)
	}
}

// TestIntakeSeesChangesMadeElsewhere: intake remembers alerts between
// batches, yet a change made by another connection (a second warroom on
// the same database) or by a command is seen by the next batch: a resolved
// alert is not announced twice, and a closed incident takes no more
// alerts.
func TestIntakeSeesChangesMadeElsewhere(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	dbA, a := openService(t, path, nil)
	defer dbA.Close()
	dbB, b := openService(t, path, nil)
	defer dbB.Close()
	ingest := func(svc *bot.Service, status string) bot.IngestResult {
		t.Helper()
		res, err := svc.Ingest(ctx, []bot.Alert{{Source: "alertmanager", Fingerprint: "fp", Status: status, Title: "Disk full", Severity: "high"}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	ingest(a, "firing")
	ingest(a, "firing") // a remembers the alert as firing
	if r := ingest(b, "resolved"); r.Outcome != bot.AlertResolved {
		t.Fatalf("the other instance: %+v, want resolved", r)
	}
	if r := ingest(a, "resolved"); r.Outcome != bot.AlertRepeated {
		t.Errorf("a resolved alert resolved again: %+v, want repeated", r)
	}
	resolvedNotices := 0
	rows, err := dbA.OutboxRows(ctx, "pending")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(string(r.Payload), "Alert resolved at the source") {
			resolvedNotices++
		}
	}
	if resolvedNotices != 1 {
		t.Errorf("%d resolved messages queued, want 1", resolvedNotices)
	}

	ingest(a, "firing")
	if _, err := a.Close(ctx, "local:alice", 1, "done"); err != nil {
		t.Fatal(err)
	}
	if r := ingest(a, "firing"); r.Outcome != bot.AlertOpened || r.Incident != "INC-2" {
		t.Errorf("after the close: %+v, want INC-2 opened", r)
	}
}

// TestRepeatLogRunsWhenAlertsStop: when a storm stops, no batch comes to
// carry the summary; the repeat log's timer writes it once its window has
// passed, and at a stop it writes what is left, due or not.
func TestRepeatLogRunsWhenAlertsStop(t *testing.T) {
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	db, svc := openService(t, "", clock)
	defer db.Close()
	fire := func(n int) {
		t.Helper()
		for range n {
			if _, err := svc.Ingest(ctx, []bot.Alert{{Source: "alertmanager", Fingerprint: "fp", Status: "firing", Title: "Disk full", Severity: "high"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { svc.RunRepeatLog(runCtx, time.Millisecond); close(stopped) }()
	defer func() { stop(); <-stopped }()

	fire(4) // opened, then 3 repeats
	clock.Advance(11 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(repeatSummaries(t, db, 1)) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := repeatSummaries(t, db, 1); fmt.Sprint(got) != "[[4 3]]" {
		t.Fatalf("summaries after the window, with no alert arriving: %v, want [[4 3]]", got)
	}

	fire(2) // not due before the stop
	stop()
	<-stopped
	if got := repeatSummaries(t, db, 1); fmt.Sprint(got) != "[[4 3] [6 2]]" {
		t.Errorf("summaries after the stop: %v, want the last two repeats summed up too", got)
	}
}
