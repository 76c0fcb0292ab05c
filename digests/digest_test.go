package digests

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/internal/fakeclock"
	"github.com/warroom-bot/warroom/store"
)

var t0 = time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC) // a Monday

func openDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := store.Open(context.Background(), path, store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// incident writes an incident and hand-made case-log entries for it.
func incident(t testing.TB, db *store.DB, sev, status, commander string, created time.Time, entries ...store.Entry) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		in, err := tx.CreateIncident(ctx, store.Incident{Title: "incident " + sev, Severity: sev, Status: status, Commander: commander,
			CreatedBy: bot.System, CreatedAt: created, UpdatedAt: created})
		if err != nil {
			return err
		}
		id = in.ID
		if _, err := tx.Append(ctx, id, created, bot.System, "incident.opened", map[string]string{"title": in.Title}); err != nil {
			return err
		}
		for _, e := range entries {
			var body any
			json.Unmarshal(e.Body, &body)
			if _, err := tx.Append(ctx, id, e.At, e.Actor, e.Kind, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func entry(at time.Time, actor, kind, body string) store.Entry {
	return store.Entry{At: at, Actor: actor, Kind: kind, Body: json.RawMessage(body)}
}

func TestFiguresFromCaseLog(t *testing.T) {
	db, _ := openDB(t)
	since, now := t0, t0.Add(24*time.Hour)
	m := time.Minute
	// A: acknowledged after 10m, contained after 60m, resolved after 120m.
	incident(t, db, "high", "resolved", "slack:U1", since.Add(time.Hour),
		entry(since.Add(time.Hour+10*m), "slack:U1", "note.added", `{"text":"looking"}`),
		entry(since.Add(2*time.Hour), "slack:U1", "status.changed", `{"from":"investigating","to":"contained"}`),
		entry(since.Add(3*time.Hour), "slack:U1", "status.changed", `{"from":"contained","to":"resolved"}`))
	// B: acknowledged after 30m, closed (resolved) after 240m, never contained.
	incident(t, db, "critical", "closed", "slack:U2", since.Add(2*time.Hour),
		entry(since.Add(2*time.Hour+30*m), "slack:U2", "commander.changed", `{"to":"slack:U2"}`),
		entry(since.Add(6*time.Hour), "slack:U2", "incident.closed", `{"summary":"done"}`))
	// C: acknowledged after 50m; system entries do not count as acknowledgement.
	incident(t, db, "low", "investigating", "", since.Add(3*time.Hour),
		entry(since.Add(3*time.Hour+5*m), bot.System, "alert.repeated", `{}`),
		entry(since.Add(3*time.Hour+50*m), "slack:U3", "status.changed", `{"from":"open","to":"investigating"}`))
	// D: acknowledged before the period: not counted again.
	incident(t, db, "medium", "open", "slack:U4", since.Add(-time.Hour),
		entry(since.Add(-50*m), "slack:U4", "note.added", `{}`),
		entry(since.Add(time.Hour), "slack:U4", "note.added", `{}`))

	d, err := Build(context.Background(), db, "morning", "slack", Filter{}, since, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed: ack {10, 30, 50} → mean 30m, p90 50m; contain {60};
	// resolve {120, 240} → mean 180m, p90 240m.
	want := map[string]Figure{
		"ack":     {N: 3, Mean: 30 * m, P90: 50 * m},
		"contain": {N: 1, Mean: 60 * m, P90: 60 * m},
		"resolve": {N: 2, Mean: 180 * m, P90: 240 * m},
	}
	got := map[string]Figure{"ack": d.Ack, "contain": d.Contain, "resolve": d.Resolve}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	if d.Opened != 3 || d.Resolved != 0 || d.Closed != 0 {
		// resolved_at and closed_at are set by the service, not by hand-made entries
		t.Errorf("period counts = %d %d %d", d.Opened, d.Resolved, d.Closed)
	}
	// Open ones, most severe first: A is resolved (still open), C low, D medium.
	var refs []string
	for _, in := range d.Incidents {
		refs = append(refs, in.Ref()+":"+in.Severity)
	}
	if strings.Join(refs, " ") != "INC-1:high INC-4:medium INC-3:low" {
		t.Errorf("listed %v", refs)
	}
}

func TestEmptyDigest(t *testing.T) {
	db, _ := openDB(t)
	d, err := Build(context.Background(), db, "morning", "slack", Filter{}, t0, t0.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Message(); m.Text != "No open incidents." {
		t.Fatalf("empty digest text %q", m.Text)
	}
}

func TestFilterAndCap(t *testing.T) {
	db, _ := openDB(t)
	for i := range 20 {
		incident(t, db, "critical", "investigating", "", t0.Add(time.Duration(i)*time.Minute))
	}
	incident(t, db, "low", "open", "", t0)
	incident(t, db, "high", "closed", "", t0)
	d, err := Build(context.Background(), db, "n", "slack", Filter{MinSeverity: "high"}, t0, t0.Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Open != 20 || len(d.Incidents) != MaxListed || d.More != 5 || d.Incidents[0].Ref() != "INC-1" {
		t.Fatalf("open %d listed %d more %d first %s", d.Open, len(d.Incidents), d.More, d.Incidents[0].Ref())
	}
	if !strings.Contains(d.Text(), "and 5 more") {
		t.Errorf("text lacks the rest:\n%s", d.Text())
	}
}

// schedulerOn builds a scheduler over db with a fake clock.
func schedulerOn(t *testing.T, db *store.DB, clock *fakeclock.Clock, spec string, r Reminders) *Scheduler {
	t.Helper()
	sched, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}, Clock: clock})
	loc := time.UTC
	if tz, ok := strings.CutPrefix(spec, "CRON_TZ="); ok {
		loc, _ = time.LoadLocation(strings.Fields(tz)[0])
	}
	return NewScheduler(svc, []Job{{Name: "morning", Schedule: sched, Loc: loc, Platform: "slack", Channel: "C0SECOPS"}}, r, nil)
}

// posts returns the due times of the digest posts queued so far.
func posts(t *testing.T, path string) []time.Time {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT created_at FROM outbox WHERE lane = 'slack/channel/C0SECOPS' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var n int64
		rows.Scan(&n)
		out = append(out, time.Unix(0, n).UTC())
	}
	return out
}

func TestScheduleAcrossDST(t *testing.T) {
	db, path := openDB(t)
	// Berlin moves its clocks forward on Sunday 2026-03-29.
	clock := fakeclock.New(time.Date(2026, 3, 26, 12, 0, 0, 0, time.UTC))
	s := schedulerOn(t, db, clock, "CRON_TZ=Europe/Berlin 0 9 * * 1-5", Reminders{})
	for range 6 * 24 * 4 {
		if err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(15 * time.Minute)
	}
	var got []string
	for _, p := range posts(t, path) {
		got = append(got, p.Format("Mon 15:04"))
	}
	// 09:00 in Berlin: 08:00 UTC before the change, 07:00 UTC after; none at the weekend.
	want := "Fri 08:00 Mon 07:00 Tue 07:00 Wed 07:00"
	if strings.Join(got, " ") != want {
		t.Fatalf("posts at %v, want %s", got, want)
	}
}

func TestMissedTicksCaughtUpOnce(t *testing.T) {
	db, path := openDB(t)
	clock := fakeclock.New(t0)
	s := schedulerOn(t, db, clock, "@every 1h", Reminders{})
	s.Tick(context.Background())                // first start: counting begins
	clock.Advance(10*time.Hour + 5*time.Minute) // down for ten ticks
	s = schedulerOn(t, db, clock, "@every 1h", Reminders{})
	s.Tick(context.Background())
	s.Tick(context.Background())
	if n := len(posts(t, path)); n != 1 {
		t.Fatalf("posts after downtime = %d, want 1", n)
	}
}

func TestTwoInstancesPostOnce(t *testing.T) {
	db, path := openDB(t)
	other, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	clock := fakeclock.New(t0)
	a := schedulerOn(t, db, clock, "0 9 * * *", Reminders{})
	b := schedulerOn(t, other, clock, "0 9 * * *", Reminders{})
	a.Tick(context.Background())
	b.Tick(context.Background())
	clock.Advance(time.Hour)
	done := make(chan error, 2)
	go func() { done <- a.Tick(context.Background()) }()
	go func() { done <- b.Tick(context.Background()) }()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(posts(t, path)); n != 1 {
		t.Fatalf("posts from two instances = %d, want 1", n)
	}
}

func TestReminders(t *testing.T) {
	db, _ := openDB(t)
	clock := fakeclock.New(t0)
	s := schedulerOn(t, db, clock, "@daily", Reminders{QuietAfter: 4 * time.Hour, UnassignedAfter: 15 * time.Minute, Repeat: 2 * time.Hour, Leads: []string{"ULEAD"}})
	id := incident(t, db, "high", "open", "", t0)
	count := func(kind string) int {
		es, _ := db.Entries(context.Background(), id, 0)
		n := 0
		for _, e := range es {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}
	step := func(d time.Duration) {
		clock.Advance(d)
		if err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	step(14 * time.Minute)
	if count("reminder.unassigned") != 0 {
		t.Fatal("unassigned reminder before 15m")
	}
	step(time.Minute) // 15m
	step(time.Minute) // 16m: within repeat
	if n := count("reminder.unassigned"); n != 1 {
		t.Fatalf("unassigned reminders at 16m = %d, want 1", n)
	}
	step(2 * time.Hour) // 2h16m: repeat passed
	if n := count("reminder.unassigned"); n != 2 {
		t.Fatalf("unassigned reminders at 2h16m = %d, want 2", n)
	}
	if count("reminder.quiet") != 0 {
		t.Fatal("quiet reminder before 4h of silence")
	}
	step(2 * time.Hour) // 4h16m since the last activity (reminders are not activity)
	if n := count("reminder.quiet"); n != 1 {
		t.Fatalf("quiet reminders = %d, want 1", n)
	}
	step(time.Hour)
	if n := count("reminder.quiet"); n != 1 {
		t.Fatalf("quiet reminder repeated within 2h: %d", n)
	}
}

// BenchmarkBuild builds a digest over 100,000 incidents (1,000 open) and
// 2,000,000 case-log entries.
func BenchmarkBuild(b *testing.B) {
	db, path := openDB(b)
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := raw.Begin()
	insIn, _ := tx.Prepare(`INSERT INTO incidents(id, title, severity, status, commander, created_by, created_at, updated_at, closed_at) VALUES (?, ?, ?, ?, '', 'system', ?, ?, ?)`)
	insE, _ := tx.Prepare(`INSERT INTO case_log(seq, incident_id, at, actor, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, '{}', '', '')`)
	seq := int64(0)
	start := t0.Add(-100000 * time.Minute)
	for i := int64(1); i <= 100000; i++ {
		created := start.Add(time.Duration(i) * time.Minute)
		status, closed := "closed", any(created.Add(time.Hour).UnixNano())
		if i > 99000 {
			status, closed = "investigating", nil
		}
		sev := bot.Severities[i%4]
		if _, err := insIn.Exec(i, fmt.Sprint("incident ", i), sev, status, created.UnixNano(), created.UnixNano(), closed); err != nil {
			b.Fatal(err)
		}
		for j := range 20 {
			seq++
			actor := bot.System
			if j == 1 {
				actor = "slack:U1"
			}
			if _, err := insE.Exec(seq, i, created.Add(time.Duration(j)*time.Minute).UnixNano(), actor, "note.added"); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	now := t0
	b.ResetTimer()
	for range b.N {
		d, err := Build(context.Background(), db, "morning", "slack", Filter{}, now.Add(-24*time.Hour), now, nil)
		if err != nil {
			b.Fatal(err)
		}
		if d.Open != 1000 {
			b.Fatalf("open %d", d.Open)
		}
	}
}
