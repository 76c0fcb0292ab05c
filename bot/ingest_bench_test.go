package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

// BenchmarkIngest measures alert intake below HTTP: 16 concurrent callers,
// one alert each call, 200 fingerprints, every call durably committed.
func BenchmarkIngest(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{Platforms: []string{"slack"}})
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				fp := i % 200
				_, err := svc.Ingest(context.Background(), []bot.Alert{{
					Source: "alertmanager", Fingerprint: fmt.Sprintf("fp%d", fp), Status: "firing",
					Title: fmt.Sprintf("Beaconing from host-%d", fp), Severity: "high",
					Labels: map[string]string{"alertname": "Beacon", "host": fmt.Sprint("host-", fp)},
				}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
