package enrichment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/feeds"
	"github.com/warroom-bot/warroom/connectors/inventory"
)

// BenchmarkFirstResult measures what a responder waits for with local
// sources only (a feed file, the asset inventory and history): the time
// from an incident being opened to the first enrichment answer reaching
// its room, through the real worker, outbox and dispatcher.
func BenchmarkFirstResult(b *testing.B) {
	dir := b.TempDir()
	feed := filepath.Join(dir, "c2.txt")
	assets := filepath.Join(dir, "assets.csv")
	if err := os.WriteFile(feed, []byte("# C2 servers\n45.155.205.233\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(assets, []byte("hostname,ip,owner,team,criticality,os\nhost-42,10.1.2.3,alice,web,high,Ubuntu\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	fs, err := feeds.New(feeds.Config{Files: []string{feed}})
	if err != nil {
		b.Fatal(err)
	}
	inv, err := inventory.New(inventory.Config{File: assets})
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, []enrich.Configured{{Source: fs}, {Source: inv}})
	e.room.firstResult = map[string]time.Time{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.worker.Run(ctx, time.Hour) })
	wg.Go(func() { e.disp.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	opened := map[string]time.Time{}
	b.ResetTimer()
	for i := range b.N {
		title := fmt.Sprintf("Beacon %d from 10.1.2.3 to 45.155.205.233", i)
		start := time.Now()
		in, err := e.svc.Open(ctx, "slack:U1", bot.NewIncident{Title: title})
		if err != nil {
			b.Fatal(err)
		}
		room := fmt.Sprintf("C%d", in.ID)
		opened[room] = start
		for !e.room.answered(room) {
			select {
			case <-e.room.changed:
			case <-time.After(10 * time.Second):
				b.Fatalf("%s: no enrichment answer reached the room", in.Ref())
			}
		}
	}
	b.StopTimer()
	var waits []time.Duration
	for room, at := range e.room.firstResults() {
		waits = append(waits, at.Sub(opened[room]))
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds())/1000, "ms-p99")
}

// answered reports whether the room's enrichment message shows an answer.
func (r *room) answered(room string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.firstResult[room]
	return ok
}

func (r *room) firstResults() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]time.Time, len(r.firstResult))
	for k, v := range r.firstResult {
		out[k] = v
	}
	return out
}

// noteAnswer records when a room first saw an enrichment answer.
func (r *room) noteAnswer(room string, m bot.Message) {
	if r.firstResult == nil || m.Title != "Enrichment" {
		return
	}
	if _, seen := r.firstResult[room]; seen {
		return
	}
	for _, f := range m.Fields {
		if f.Value != "no answer yet" && !strings.Contains(f.Value, "no answer yet") {
			r.firstResult[room] = time.Now()
			return
		}
	}
}
