package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "warroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func newIncident(t testing.TB, db *DB) Incident {
	t.Helper()
	var in Incident
	err := db.Write(context.Background(), func(tx *Tx) error {
		var err error
		in, err = tx.CreateIncident(context.Background(), Incident{Title: "t", Severity: "high", Status: "open", CreatedBy: "system", CreatedAt: t0, UpdatedAt: t0})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func appendN(t testing.TB, db *DB, incidentID int64, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Append(ctx, incidentID, t0.Add(time.Duration(i)*time.Second), "slack:U1", "note", map[string]any{"text": "n"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	for range 2 {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func TestCaseLogRefusesUpdateAndDelete(t *testing.T) {
	db := openTest(t)
	in := newIncident(t, db)
	appendN(t, db, in.ID, 2)
	for _, stmt := range []string{
		`UPDATE case_log SET body = '{"text":"forged"}' WHERE seq = 1`,
		`DELETE FROM case_log WHERE seq = 2`,
	} {
		err := db.Write(context.Background(), func(tx *Tx) error {
			_, err := tx.tx.Exec(stmt)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", stmt, err)
		}
	}
	v, err := db.Verify(context.Background())
	if err != nil || v.Bad != nil || v.Entries != 2 {
		t.Fatalf("verify after refused edits = %+v, %v", v, err)
	}
}

func TestVerifyNamesFirstBadEntry(t *testing.T) {
	tamper := map[string]struct {
		sql     string
		wantSeq int64
		reason  string
	}{
		"altered body":   {`UPDATE case_log SET body = '{"text":"forged"}' WHERE seq = 3`, 3, "content"},
		"altered actor":  {`UPDATE case_log SET actor = 'system' WHERE seq = 2`, 2, "content"},
		"deleted entry":  {`DELETE FROM case_log WHERE seq = 3`, 4, "missing"},
		"rehashed entry": {`UPDATE case_log SET body = '{}', hash = 'ab' WHERE seq = 4`, 4, "content"},
	}
	for name, tc := range tamper {
		t.Run(name, func(t *testing.T) {
			db := openTest(t)
			in := newIncident(t, db)
			appendN(t, db, in.ID, 5)
			v, err := db.Verify(context.Background())
			if err != nil || v.Bad != nil || v.Entries != 5 {
				t.Fatalf("fresh log: %+v, %v", v, err)
			}
			// Someone with file access drops the guard triggers and edits the table.
			raw, err := sql.Open("sqlite3", "file:"+db.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			for _, stmt := range []string{`DROP TRIGGER case_log_no_update`, `DROP TRIGGER case_log_no_delete`, tc.sql} {
				if _, err := raw.Exec(stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			v, err = db.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v.Bad == nil || v.Bad.Seq != tc.wantSeq || !strings.Contains(v.Bad.Reason, tc.reason) {
				t.Fatalf("verify = %+v (bad %+v), want entry %d (%s)", v, v.Bad, tc.wantSeq, tc.reason)
			}
		})
	}
}

func TestWriteBatchIsolatesFailures(t *testing.T) {
	db := openTest(t)
	in := newIncident(t, db)
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Write(ctx, func(tx *Tx) error {
				if _, err := tx.Append(ctx, in.ID, t0, "system", "test", map[string]int{"i": i}); err != nil {
					return err
				}
				if i%4 == 0 {
					return boom // its entry must vanish, the others must stay
				}
				return nil
			})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if i%4 == 0 {
			if !errors.Is(err, boom) {
				t.Errorf("write %d: err = %v, want boom", i, err)
			}
			failed++
		} else if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	entries, err := db.Entries(ctx, in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(errs)-failed {
		t.Fatalf("entries = %d, want %d", len(entries), len(errs)-failed)
	}
	if v, err := db.Verify(ctx); err != nil || v.Bad != nil {
		t.Fatalf("chain after mixed batch: %+v %v", v.Bad, err)
	}
}

func TestOutboxDeliversLaneHeadsInOrder(t *testing.T) {
	db := openTest(t)
	in := newIncident(t, db)
	ctx := context.Background()
	enqueue := func(lane, op string, next time.Time) int64 {
		var id int64
		if err := db.Write(ctx, func(tx *Tx) error {
			var err error
			id, err = tx.Enqueue(ctx, OutboxRow{Platform: "slack", Lane: lane, Op: op, IncidentID: in.ID, Payload: []byte(`{}`), NextAt: next, CreatedAt: t0})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a1 := enqueue("a", "create_room", t0)
	enqueue("a", "post", t0)
	b1 := enqueue("b", "post", t0.Add(time.Minute))

	due, err := db.DueOutbox(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != a1 {
		t.Fatalf("due at t0 = %+v, want only lane a's head", due)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.CompleteOutbox(ctx, a1, "C1", t0) }); err != nil {
		t.Fatal(err)
	}
	due, _ = db.DueOutbox(ctx, t0.Add(time.Minute), 10)
	if len(due) != 2 || due[0].Op != "post" || due[0].Lane != "a" || due[1].ID != b1 {
		t.Fatalf("due later = %+v", due)
	}
	next, ok, err := db.NextOutboxAt(ctx)
	if err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("next = %v %v %v", next, ok, err)
	}
}

func BenchmarkCaseLogAppend(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		workers int
		sync    string
	}{{1, "full"}, {8, "full"}, {1, "normal"}, {8, "normal"}} {
		workers := c.workers
		b.Run(fmt.Sprintf("workers=%d/sync=%s", workers, c.sync), func(b *testing.B) {
			db, err := Open(ctx, filepath.Join(b.TempDir(), "w.db"), WithSync(c.sync))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			in := newIncident(b, db)
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / workers
			for w := range workers {
				n := per
				if w == 0 {
					n += b.N % workers
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						err := db.Write(ctx, func(tx *Tx) error {
							_, err := tx.Append(ctx, in.ID, t0, "slack:U1", "note", map[string]string{"text": "beacon to 203.0.113.7"})
							return err
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

func TestIncidentListSeesEveryWrite(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for want := 1; want <= 3; want++ {
		newIncident(t, db)
		ins, err := db.Incidents(ctx, IncidentFilter{Open: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != want || ins[0].ID != int64(want) {
			t.Fatalf("after %d writes the list has %d incidents (newest %d)", want, len(ins), ins[0].ID)
		}
		ins[0].Title = "mutated by a caller" // must not leak into the cache
	}
	ins, _ := db.Incidents(ctx, IncidentFilter{Open: true})
	if ins[0].Title == "mutated by a caller" {
		t.Fatal("cached list shares memory with callers")
	}
}

func TestPruneOutbox(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Now()
	var ids []int64
	err := db.Write(ctx, func(tx *Tx) error {
		for i := range 5 {
			id, err := tx.Enqueue(ctx, OutboxRow{Platform: "slack", Lane: "slack/direct", Op: "post", Payload: []byte("{}"), NextAt: now, CreatedAt: now})
			if err != nil {
				return err
			}
			ids = append(ids, id)
			switch i {
			case 0, 1: // delivered a month ago
				err = tx.CompleteOutbox(ctx, id, "ok", now.Add(-30*24*time.Hour))
			case 2: // delivered just now
				err = tx.CompleteOutbox(ctx, id, "ok", now)
			case 3: // given up a month ago: kept for a person to look at
				err = tx.KillOutbox(ctx, id, "channel_not_found", now.Add(-30*24*time.Hour))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Write(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.PruneOutbox(ctx, now.Add(-7*24*time.Hour), 1000)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("pruned %d rows, want the 2 old delivered ones", n)
	}
	for state, want := range map[string]int{OutboxDone: 1, OutboxDead: 1, OutboxPending: 1} {
		if rows, _ := db.OutboxRows(ctx, state); len(rows) != want {
			t.Errorf("%s rows: %d, want %d", state, len(rows), want)
		}
	}
}

// TestAppendAllChains: entries appended many at a time (across INSERT
// chunks) chain exactly as entries appended one by one, and the chain
// verifies.
func TestAppendAllChains(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	now := time.Now()
	var in Incident
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		in, err = tx.CreateIncident(ctx, Incident{Title: "t", Severity: "high", Status: "open", CreatedBy: "x", CreatedAt: now, UpdatedAt: now})
		if err != nil {
			return err
		}
		if _, err := tx.Append(ctx, in.ID, now, "system", "incident.opened", nil); err != nil {
			return err
		}
		batch := make([]NewEntry, 300)
		for i := range batch {
			batch[i] = NewEntry{IncidentID: in.ID, At: now, Actor: "system", Kind: "alert.repeated", Body: map[string]int{"n": i}}
		}
		got, err := tx.AppendAll(ctx, batch)
		if err != nil {
			return err
		}
		if got[0].Seq != 2 || got[299].Seq != 301 || got[1].PrevHash != got[0].Hash {
			t.Errorf("batch entries: first seq %d, last seq %d, chained %v", got[0].Seq, got[299].Seq, got[1].PrevHash == got[0].Hash)
		}
		_, err = tx.Append(ctx, in.ID, now, "system", "note.added", map[string]string{"text": "after"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Bad != nil || v.Entries != 302 {
		t.Errorf("verify: %d entries, bad %+v; want 302 intact", v.Entries, v.Bad)
	}
}
