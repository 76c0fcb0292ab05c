package digests

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	slackbot "github.com/warroom-bot/warroom/bot/slack"
	"github.com/warroom-bot/warroom/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s changed:\n%s\nwant:\n%s", name, got, want)
	}
}

func sampleDigest() Digest {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	in := func(id int64, sev, status, commander string, age, quiet time.Duration) store.ActiveIncident {
		return store.ActiveIncident{Incident: store.Incident{ID: id, Title: "Incident <" + sev + ">", Severity: sev, Status: status,
			Commander: commander, CreatedAt: now.Add(-age)}, LastActivity: now.Add(-quiet)}
	}
	return Digest{
		Name: "morning", Since: now.Add(-24 * time.Hour), Now: now, Loc: berlin,
		Totals: map[string]map[string]int{"critical": {"investigating": 1}, "high": {"open": 1, "contained": 1}},
		Open:   3,
		Incidents: []store.ActiveIncident{
			in(7, "critical", "investigating", "slack:ULEAD", 26*time.Hour, 2*time.Hour),
			in(9, "high", "open", "", 3*time.Hour, 3*time.Hour),
			in(8, "high", "contained", "slack:U2", 30*time.Hour, 20*time.Minute),
		},
		Rooms:  map[int64]bot.RoomRef{7: {Platform: "slack", ID: "C07", Name: "inc-7-ransomware"}},
		Opened: 2, Resolved: 1, Closed: 1,
		Ack:     Figure{N: 2, Mean: 12 * time.Minute, P90: 20 * time.Minute},
		Resolve: Figure{N: 1, Mean: 5 * time.Hour, P90: 5 * time.Hour},
	}
}

func TestRenderGolden(t *testing.T) {
	d := sampleDigest()
	golden(t, "morning.txt", []byte(d.Text()))
	blocks, text := slackbot.Blocks(d.Message())
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"text": text, "blocks": blocks})
	golden(t, "morning.slack.json", buf.Bytes())
	neutral, _ := json.MarshalIndent(d.Message(), "", "  ")
	golden(t, "morning.message.json", append(neutral, '\n'))
}
