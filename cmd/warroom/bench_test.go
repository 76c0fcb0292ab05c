package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/config"
)

// BenchmarkSlashCommandAck measures how fast Slack gets its acknowledgement
// for signed /incident list requests from 64 concurrent clients, against
// the full server and, in the same run, against a bare handler that only
// verifies the signature. Slack gives up after 3 s; the target is a p99
// within 2x of the bare handler.
func BenchmarkSlashCommandAck(b *testing.B) {
	const clients = 64
	fake := fakeslack.NewT(b)
	cfg := config.Default()
	cfg.Database = filepath.Join(b.TempDir(), "w.db")
	cfg.Slack.BotToken = config.Secret(fake.BotToken())
	cfg.Slack.SigningSecret = "s3cret"
	cfg.Slack.APIURL = fake.APIURL()
	a, err := newApp(context.Background(), cfg, newLogger(io.Discard, "error"))
	if err != nil {
		b.Fatal(err)
	}
	defer a.close()
	for i := range 40 {
		if _, err := a.svc.Open(context.Background(), "slack:U1", bot.NewIncident{Title: fmt.Sprintf("incident %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	full := httptest.NewServer(a.handler)
	defer full.Close()
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, "s3cret")
		if err == nil {
			sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"response_type":"ephemeral","text":"ok"}`)
	}))
	defer bare.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	var seq atomic.Int64

	measure := func(base string) []time.Duration {
		lat := make([]time.Duration, b.N)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					form := url.Values{"command": {"/incident"}, "text": {"list"}, "user_id": {"U1"}, "channel_id": {"C1"},
						"trigger_id": {fmt.Sprint(seq.Add(1))}}
					body := []byte(form.Encode())
					req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					fakeslack.SignRequest(req, "s3cret", time.Now(), body)
					start := time.Now()
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					lat[i] = time.Since(start)
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	pct := func(lat []time.Duration, p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	b.ResetTimer()
	bareLat := measure(bare.URL)
	fullLat := measure(full.URL)
	b.StopTimer()
	b.ReportMetric(pct(bareLat, 0.50), "bare-p50-ms")
	b.ReportMetric(pct(bareLat, 0.99), "bare-p99-ms")
	b.ReportMetric(pct(fullLat, 0.50), "p50-ms")
	b.ReportMetric(pct(fullLat, 0.99), "p99-ms")
	b.ReportMetric(pct(fullLat, 0.99)/pct(bareLat, 0.99), "p99-ratio")
}
