package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/config"
)

const vtKey = "vt-test-key-0123456789abcdef"

// fakeVirusTotal answers API v3 lookups of one address from the vendor's
// documented shape and counts the calls; anything else is 404 NotFoundError.
func fakeVirusTotal(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "vt_ip_address.json"))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("x-apikey") != vtKey:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"WrongCredentialsError","message":"Wrong API key"}}`))
		case r.URL.Path == "/ip_addresses/45.155.205.233":
			w.Write(body)
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"NotFoundError","message":"not found"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func enrichConfig(t *testing.T, dir, vtURL, extra string) string {
	t.Helper()
	assets, _ := filepath.Abs(filepath.Join("testdata", "assets.csv"))
	return writeConfig(t, `
listen: 127.0.0.1:0
database: `+filepath.Join(dir, "w.db")+`
connectors:
  virustotal:
    api_key: `+vtKey+`
    api_url: `+vtURL+`
  inventory:
    file: `+assets+`
`+extra)
}

func TestEnrichCommandLine(t *testing.T) {
	vt, _ := fakeVirusTotal(t)
	cfg := enrichConfig(t, t.TempDir(), vt.URL, "")
	out, stderr, err := runCLI(t, "enrich", "--config", cfg, "--json", "45.155.205[.]233", "10.1.2.3")
	if err != nil {
		t.Fatalf("enrich: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per indicator, got:\n%s", out)
	}
	var got []findingJSON
	for _, l := range lines {
		var f findingJSON
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, f)
	}
	if got[0].Type != "ipv4" || got[0].Value != "45.155.205.233" || got[0].Verdict != "malicious" {
		t.Errorf("first = %+v, want the refanged address judged malicious", got[0])
	}
	if vt, ok := sourceOf(got[0], "virustotal"); !ok || vt.Verdict != "malicious" || vt.Score == nil {
		t.Errorf("sources of the public address = %+v, want virustotal with a score", got[0].Sources)
	}
	// The private address never leaves the machine: only the inventory
	// answers, with the owner.
	if inv, ok := sourceOf(got[1], "inventory"); !ok || !strings.Contains(inv.Reason, "alice") {
		t.Errorf("sources of 10.1.2.3 = %+v, want the inventory naming alice", got[1].Sources)
	}
	if _, asked := sourceOf(got[1], "virustotal"); asked {
		t.Error("a private address was sent to VirusTotal")
	}
	if strings.Contains(out, vtKey) {
		t.Error("the API key reached the output")
	}

	if _, stderr, err := runCLI(t, "enrich", "--config", cfg); err == nil || !strings.Contains(stderr, "usage: warroom enrich") {
		t.Errorf("no indicators: err %v, stderr %q", err, stderr)
	}
	if _, stderr, err := runCLI(t, "enrich", "--config", cfg, "banana"); err == nil || !strings.Contains(stderr, `"banana" is not an indicator`) {
		t.Errorf("not an indicator: err %v, stderr %q", err, stderr)
	}
}

func sourceOf(f findingJSON, name string) (sourceJSON, bool) {
	for _, s := range f.Sources {
		if s.Source == name {
			return s, true
		}
	}
	return sourceJSON{}, false
}

func TestEnrichCommandLineShowsSourceErrors(t *testing.T) {
	vt, _ := fakeVirusTotal(t)
	dir := t.TempDir()
	cfg := writeConfig(t, `
database: `+filepath.Join(dir, "w.db")+`
connectors:
  virustotal:
    api_key: wrong-key-0000000000
    api_url: `+vt.URL+`
`)
	out, _, err := runCLI(t, "enrich", "--config", cfg, "45.155.205.233")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "authentication failed") || strings.Contains(out, "wrong-key-0000000000") {
		t.Errorf("want the auth failure shown without the key:\n%s", out)
	}
}

// TestServeEnrichesNewIncidents: an incident opened from an alert gets an
// enrichment message in its channel with the threat-intel verdict, the
// asset's owner, and the lookup is cached for the next incident.
func TestServeEnrichesNewIncidents(t *testing.T) {
	vt, calls := fakeVirusTotal(t)
	fake := fakeslack.NewT(t)
	dir := t.TempDir()
	cfgPath := enrichConfig(t, dir, vt.URL, `
slack:
  bot_token: `+fake.BotToken()+`
  signing_secret: s3cret
  api_url: `+fake.APIURL()+`
alerts:
  token: alert-token-0123456789
`)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := startApp(t, cfg)

	post := func(fingerprint, title string) {
		t.Helper()
		body := `{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":"` + fingerprint + `",
			"labels":{"alertname":"Beacon","severity":"critical","instance":"10.1.2.3","dst_ip":"45.155.205.233"},
			"annotations":{"summary":"` + title + `"}}]}`
		req, _ := http.NewRequest(http.MethodPost, s.base+"/alerts/alertmanager", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer alert-token-0123456789")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("alert: %d", res.StatusCode)
		}
	}
	enriched := func(channel string, want ...string) {
		t.Helper()
		wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		err := fake.WaitFor(wait, func(s *fakeslack.State) bool {
			ch, ok := s.ChannelByName(channel)
			if !ok {
				return false
			}
			for _, m := range s.Messages(ch.ID) {
				all := true
				for _, w := range want {
					all = all && strings.Contains(m.Text+string(m.Blocks), w)
				}
				if all {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("no message in %s with %q: %v", channel, want, err)
		}
	}
	post("fp-1", "Beacon from 10.1.2.3")
	enriched("inc-1-beacon-from-10-1-2-3", "Enrichment", "virustotal: malicious", "owner alice", "all sources answered")
	post("fp-2", "Beacon again")
	enriched("inc-2-beacon-again", "Enrichment", "virustotal: malicious", "seen in INC-1")
	if n := calls.Load(); n != 1 {
		t.Errorf("VirusTotal was called %d times; the second incident should use the cache", n)
	}
	if strings.Contains(s.logs.String(), vtKey) {
		t.Error("the API key reached the log")
	}
}
