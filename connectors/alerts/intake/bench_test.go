package intake_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warroom-bot/warroom/connectors/alerts/intake"
)

// BenchmarkIntake posts single-alert Alertmanager webhooks from 16
// concurrent clients through the handler, the parser and a durable Ingest.
func BenchmarkIntake(b *testing.B) {
	e := newEnv(b, intake.Config{Token: token})
	bodies := make([][]byte, 200)
	for i := range bodies {
		bodies[i] = amPayload(fmt.Sprintf("%016x", i+1))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
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
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/alerts/alertmanager", bytes.NewReader(bodies[i%200]))
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body) // a drained body lets the connection be reused
				res.Body.Close()
				if res.StatusCode != http.StatusAccepted {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
