package slack_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/store"
)

func alertOf(fp, group, severity, status string) bot.Alert {
	return bot.Alert{Source: "alertmanager", Fingerprint: fp, GroupKey: group, Status: status,
		Title: "Beaconing from host-42", Severity: severity}
}

func (h *harness) ingest(alerts ...bot.Alert) []bot.IngestResult {
	h.t.Helper()
	res, err := h.svc.Ingest(context.Background(), alerts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.deliver()
	return res
}

// notices returns the "more alerts" lines posted in an incident's room.
func (h *harness) notices(id int64) []string {
	var out []string
	for _, m := range h.fake.Messages(h.room(id).ID) {
		if strings.Contains(m.Text, "more alert") {
			out = append(out, m.Text)
		}
	}
	return out
}

func TestAlertRepeatsFoldIntoOneIncident(t *testing.T) {
	h := newHarness(t)
	res := h.ingest(alertOf("fp1", "", "high", "firing"))
	if res[0].Outcome != bot.AlertOpened || res[0].Incident != "INC-1" {
		t.Fatalf("first alert: %+v", res)
	}
	if _, ok := h.fake.ChannelByName("inc-1-beaconing-from-host-42"); !ok {
		t.Fatal("no channel for the alert's incident")
	}
	// 50 repeats inside the first minute: the room hears nothing yet, since
	// it was told about the incident at most a minute ago.
	for range 50 {
		if r := h.ingest(alertOf("fp1", "", "high", "firing")); r[0].Outcome != bot.AlertRepeated || r[0].Incident != "INC-1" {
			t.Fatalf("repeat: %+v", r)
		}
		h.clock.Advance(time.Second)
	}
	if got := h.notices(1); len(got) != 0 {
		t.Fatalf("notices within the minute = %q", got)
	}
	h.clock.Advance(10 * time.Second)
	h.deliver()
	if got := h.notices(1); len(got) != 1 || got[0] != "📈 50 more alerts (51 in all)" {
		t.Fatalf("notices after the minute = %q", got)
	}
	// One more right away waits for the next minute.
	h.ingest(alertOf("fp1", "", "high", "firing"))
	if got := h.notices(1); len(got) != 1 {
		t.Fatalf("a second notice within the minute: %q", got)
	}
	h.clock.Advance(time.Minute)
	h.deliver()
	if got := h.notices(1); len(got) != 2 || got[1] != "📈 1 more alert (52 in all)" {
		t.Fatalf("notices = %q", got)
	}
	if in := h.incidentRow(1); in.AlertCount != 52 {
		t.Errorf("alert count %d", in.AlertCount)
	}
	if !strings.Contains(rendered(t, h.summary(1)), "*Alerts:* 52") {
		t.Errorf("summary does not show the count:\n%s", rendered(t, h.summary(1)))
	}
	if n := len(h.fake.Channels()); n != 1 {
		t.Errorf("channels = %d", n)
	}
	// The case log sums the repeats up, an entry per ten seconds or so,
	// not one per alert, and accounts for every one of them.
	if err := h.svc.FlushRepeats(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, sightings, last := 0, 0, 0
	for _, e := range h.entries(1) {
		if e.Kind != "alert.repeated" {
			continue
		}
		var body struct{ Count, Repeats int }
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		entries++
		sightings += body.Repeats
		last = body.Count
	}
	if sightings != 51 || last != 52 {
		t.Errorf("the case log sums up %d repeats, the last at count %d; want 51 and 52", sightings, last)
	}
	if entries < 2 || entries > 8 {
		t.Errorf("%d repeat entries for 51 repeats over a minute, want one every ten seconds or so", entries)
	}
}

func TestAlertGrouping(t *testing.T) {
	h := newHarness(t)
	h.ingest(alertOf("fp1", "alertname=Beacon,host=host-42", "medium", "firing"))
	h.clock.Advance(5 * time.Minute)
	if r := h.ingest(alertOf("fp2", "alertname=Beacon,host=host-42", "medium", "firing")); r[0].Outcome != bot.AlertAttached || r[0].Incident != "INC-1" {
		t.Fatalf("same group within the window: %+v", r)
	}
	if r := h.ingest(alertOf("fp3", "alertname=Beacon,host=host-7", "medium", "firing")); r[0].Incident != "INC-2" {
		t.Fatalf("other group: %+v", r)
	}
	h.clock.Advance(11 * time.Minute)
	if r := h.ingest(alertOf("fp4", "alertname=Beacon,host=host-42", "medium", "firing")); r[0].Outcome != bot.AlertOpened || r[0].Incident != "INC-3" {
		t.Fatalf("same group after the window: %+v", r)
	}
	// A known fingerprint still finds its incident after the window.
	if r := h.ingest(alertOf("fp2", "alertname=Beacon,host=host-42", "medium", "firing")); r[0].Incident != "INC-1" {
		t.Fatalf("repeat after the window: %+v", r)
	}
}

func TestResolvedAlerts(t *testing.T) {
	h := newHarness(t)
	if r := h.ingest(alertOf("fp9", "", "low", "resolved")); r[0].Outcome != bot.AlertIgnored {
		t.Fatalf("resolved with nothing open: %+v", r)
	}
	h.ingest(alertOf("fp1", "", "low", "firing"))
	if r := h.ingest(alertOf("fp1", "", "low", "resolved")); r[0].Outcome != bot.AlertResolved {
		t.Fatalf("resolve: %+v", r)
	}
	if in := h.incidentRow(1); in.Status != "open" {
		t.Errorf("incident status %q: a resolved alert must leave it for a human", in.Status)
	}
	alerts, _ := h.db.Alerts(context.Background(), 1)
	if len(alerts) != 1 || alerts[0].Status != "resolved" || alerts[0].ResolvedAt.IsZero() {
		t.Errorf("alert rows %+v", alerts)
	}
	found := false
	for _, m := range h.fake.Messages(h.room(1).ID) {
		found = found || strings.Contains(string(m.Blocks), "Alert resolved at the source")
	}
	if !found {
		t.Error("the channel was not told the alert resolved")
	}
}

func TestMoreUrgentAlertRaisesSeverity(t *testing.T) {
	h := newHarness(t)
	h.ingest(alertOf("fp1", "g", "medium", "firing"))
	h.ingest(alertOf("fp2", "g", "critical", "firing"))
	if in := h.incidentRow(1); in.Severity != "critical" {
		t.Fatalf("severity %q", in.Severity)
	}
	if !strings.Contains(h.room(1).Topic, "CRITICAL") {
		t.Errorf("topic %q", h.room(1).Topic)
	}
}

func TestIngestedAlertSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	if _, err := h.svc.Ingest(context.Background(), []bot.Alert{alertOf("fp1", "", "high", "firing")}); err != nil {
		t.Fatal(err)
	}
	h.restart() // nothing was delivered before the stop
	h.deliver()
	h.ingest(alertOf("fp1", "", "high", "firing"))
	if n := len(h.fake.Channels()); n != 1 {
		t.Fatalf("channels = %d, want 1", n)
	}
	if in := h.incidentRow(1); in.AlertCount != 2 {
		t.Fatalf("alert count %d", in.AlertCount)
	}
}

func TestAlertStormIsPacedNotLost(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 12 minutes of fake time through 1,000 outbox rows")
	}
	h := newHarness(t, withPacing())
	var storm []bot.Alert
	for i := range 200 {
		storm = append(storm, bot.Alert{Source: "alertmanager", Fingerprint: "storm-" + strconv.Itoa(i), Status: "firing",
			Title: "Beaconing from host-" + strconv.Itoa(i), Severity: "high"})
	}
	// 200 new incidents within a minute, in a few webhook batches.
	for i := 0; i < len(storm); i += 50 {
		if _, err := h.svc.Ingest(context.Background(), storm[i:i+50]); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(10 * time.Second)
	}
	creates := func() int { return h.fake.CallCount("conversations.create") }
	var perMinute []int
	for minute := 0; minute < 12; minute++ {
		for range 10 {
			h.deliver()
			h.clock.Advance(6 * time.Second)
		}
		perMinute = append(perMinute, creates())
	}
	// Tier 2 is about 20 a minute (burst 5): never faster, and no 429s needed.
	for i, n := range perMinute {
		if limit := 5 + 20*(i+1) + 1; n > limit {
			t.Fatalf("%d channels created by minute %d, above Slack's tier-2 pace (%d): %v", n, i+1, limit, perMinute)
		}
	}
	if got := len(h.fake.Channels()); got != 200 {
		t.Fatalf("channels = %d after 12 minutes, want 200 (per minute: %v)", got, perMinute)
	}
	if creates() != 200 {
		t.Errorf("conversations.create called %d times for 200 channels", creates())
	}
	seen := map[string]bool{}
	for _, ch := range h.fake.Channels() {
		n := strings.SplitN(ch.Name, "-", 3)[1]
		if seen[n] {
			t.Fatalf("two channels for incident %s", n)
		}
		seen[n] = true
	}
	if dead := h.outbox(store.OutboxDead); len(dead) != 0 {
		t.Fatalf("dead rows: %d", len(dead))
	}
	t.Logf("channels created by minute: %v", perMinute)
}
