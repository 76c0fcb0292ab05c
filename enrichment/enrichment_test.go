package enrichment

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/enrich/enrichtest"
	"github.com/warroom-bot/warroom/connectors/feeds"
	"github.com/warroom-bot/warroom/connectors/ioc"
	"github.com/warroom-bot/warroom/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// room is a chat platform that keeps what it is sent, so tests can read the
// enrichment message as a responder would see it.
type room struct {
	mu       sync.Mutex
	messages map[string]bot.Message // message id → latest content
	order    []string
	changed  chan struct{}
	// firstResult, when not nil, records when each room first showed an
	// enrichment answer (for the benchmark).
	firstResult map[string]time.Time
}

func newRoom() *room {
	return &room{messages: map[string]bot.Message{}, changed: make(chan struct{}, 1)}
}

func (r *room) Name() string { return "fake" }
func (r *room) CreateRoom(_ context.Context, s bot.RoomSpec) (bot.RoomRef, error) {
	return bot.RoomRef{Platform: "fake", ID: fmt.Sprintf("C%d", s.IncidentID), Name: s.Name}, nil
}
func (r *room) Invite(context.Context, bot.RoomRef, []string) error    { return nil }
func (r *room) SetTopic(context.Context, bot.RoomRef, bot.Topic) error { return nil }
func (r *room) Archive(context.Context, bot.RoomRef) error             { return nil }
func (r *room) Post(_ context.Context, room bot.RoomRef, m bot.Message) (bot.MessageRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := fmt.Sprintf("m%d", len(r.order)+1)
	r.order = append(r.order, id)
	r.messages[id] = m
	r.noteAnswer(room.ID, m)
	r.signal()
	return bot.MessageRef{Room: room, ID: id}, nil
}
func (r *room) Update(_ context.Context, ref bot.MessageRef, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages[ref.ID] = m
	r.noteAnswer(ref.Room.ID, m)
	r.signal()
	return nil
}
func (r *room) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// enrichment returns the latest content of the enrichment messages posted.
func (r *room) enrichment() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []bot.Message
	for _, id := range r.order {
		if m := r.messages[id]; m.Title == "Enrichment" {
			out = append(out, m)
		}
	}
	return out
}

func fixed(v enrich.Verdict, score int, reason string) func(context.Context, ioc.Indicator) (enrich.Result, error) {
	return func(context.Context, ioc.Indicator) (enrich.Result, error) {
		return enrich.Result{Verdict: v, Score: score, Reason: reason}, nil
	}
}

type env struct {
	db     *store.DB
	svc    *bot.Service
	disp   *bot.Dispatcher
	worker *Worker
	room   *room
}

func newEnv(t testing.TB, sources []enrich.Configured, opts ...func(*Options)) *env {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, room: newRoom()}
	e.disp = bot.NewDispatcher(db, []bot.Platform{e.room}, bot.DispatcherOptions{Unpaced: true})
	o := Options{Enricher: enrich.New(sources, Cache{DB: db})}
	for _, f := range opts {
		f(&o)
	}
	e.svc = bot.NewService(db, bot.Options{
		Platforms: []string{"fake"},
		Notify:    func() { e.disp.Notify(); e.worker.Notify() },
		OnOpen: func(ctx context.Context, tx *store.Tx, in bot.Incident, a *bot.Alert) ([]bot.Event, error) {
			return e.worker.OnOpen(ctx, tx, in, a)
		},
	})
	o.Service = e.svc
	e.worker = New(o)
	return e
}

// settle runs queued jobs and delivers the outbox.
func (e *env) settle(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if err := e.worker.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := e.disp.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (e *env) ingest(t testing.TB, a bot.Alert) bot.Incident {
	t.Helper()
	if a.Fingerprint == "" {
		a.Fingerprint = a.Title
	}
	a.Source, a.Status = "test", "firing"
	if a.Severity == "" {
		a.Severity = "high"
	}
	res, err := e.svc.Ingest(context.Background(), []bot.Alert{a})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := store.ParseRef(res[0].Incident)
	in, err := e.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func (e *env) entries(t testing.TB, id int64, kind string) []store.Entry {
	t.Helper()
	all, err := e.db.Entries(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Entry
	for _, en := range all {
		if en.Kind == kind {
			out = append(out, en)
		}
	}
	return out
}

var ipTypes = []ioc.Type{ioc.TypeIPv4, ioc.TypeIPv6}

func TestAlertIncidentIsEnrichedAndLogged(t *testing.T) {
	intel := &enrichtest.Source{SourceName: "intel", Types: append(ipTypes, ioc.TypeDomain, ioc.TypeSHA256), Answer: func(_ context.Context, ind ioc.Indicator) (enrich.Result, error) {
		if ind.Value == "45.155.205.233" {
			return enrich.Result{Verdict: enrich.Malicious, Score: 90, Reason: "C2 server", Link: "https://intel.example/ip/45.155.205.233"}, nil
		}
		return enrich.Result{Verdict: enrich.Clean, Score: 0}, nil
	}}
	e := newEnv(t, []enrich.Configured{{Source: intel}}, func(o *Options) {
		o.Buttons = func(id int64, ind ioc.Indicator) []bot.Button {
			return []bot.Button{{ID: "playbook.run", Label: "Block IP", Value: "block-ip|" + store.FormatRef(id) + "|" + ind.Value}}
		}
	})
	in := e.ingest(t, bot.Alert{
		Title:       "Beacon from host-42 to 45.155.205.233",
		Description: "DNS lookups of evil-updates.com from web-01.corp-example.com",
		Labels:      map[string]string{"host": "host-42", "dst_ip": "45.155.205.233"},
		Observables: []bot.Observable{{Type: "hostname", Value: "HOST-42"}, {Type: "ipv4", Value: "not an ip"},
			{Type: "hostname", Value: "web-01.corp-example.com"}},
	})
	e.settle(t)

	msgs := e.room.enrichment()
	if len(msgs) != 1 {
		t.Fatalf("want one enrichment message, got %d", len(msgs))
	}
	m := msgs[0]
	text := render(m)
	for _, want := range []string{
		"ipv4 45.155.205.233 — MALICIOUS", "intel: malicious (90) C2 server",
		"domain evil-updates.com — CLEAN", "hostname host-42 — UNKNOWN\nnot known to history",
		"all sources answered",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "hostname web-01.corp-example.com") || strings.Contains(text, "domain web-01.corp-example.com") {
		t.Errorf("a host named by the alert was also looked up as a domain:\n%s", text)
	}
	if len(m.Buttons) != 1 || m.Buttons[0].Label != "Block IP" || !strings.HasSuffix(m.Buttons[0].Value, "|45.155.205.233") {
		t.Errorf("buttons = %+v, want Block IP for the malicious address only", m.Buttons)
	}
	// Every answer is a case-log entry: intel for the IP and the domain,
	// history for all four indicators.
	if got := len(e.entries(t, in.ID, "enrichment.result")); got != 6 {
		t.Errorf("%d enrichment.result entries, want 6", got)
	}
	if got := len(e.entries(t, in.ID, "enrichment.requested")); got != 1 {
		t.Errorf("%d enrichment.requested entries, want 1", got)
	}

	// A second incident with the same address learns of the first, and the
	// cached intel answer saves a second call.
	e.ingest(t, bot.Alert{Title: "Outbound to 45.155.205.233 again", Fingerprint: "other"})
	e.settle(t)
	msgs = e.room.enrichment()
	if len(msgs) != 2 {
		t.Fatalf("want two enrichment messages, got %d", len(msgs))
	}
	if text := render(msgs[1]); !strings.Contains(text, "history: seen in INC-1 (open)") {
		t.Errorf("second incident does not name the first:\n%s", text)
	}
	if n := intel.Calls.Load(); n != 2 {
		t.Errorf("intel called %d times, want 2 (the repeat comes from the cache)", n)
	}
}

// TestSpecialRangesNeedNoSource: with nothing configured, a non-public
// address is still explained from the built-in registry of special ranges.
func TestSpecialRangesNeedNoSource(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.Open(context.Background(), "slack:U1", bot.NewIncident{Title: "Phish links to 203.0.113.7 and 100.64.3.9"}); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	text := render(e.room.enrichment()[0])
	for _, want := range []string{
		"ipv4 203.0.113.7 — UNKNOWN (documentation)\niana: Documentation, TEST-NET-3 (RFC 5737), 203.0.113.0/24",
		"ipv4 100.64.3.9 — UNKNOWN (cgnat)\niana: Shared Address Space (RFC 6598), 100.64.0.0/10",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
}

func TestIncidentWithoutIndicatorsGetsNoMessage(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.Open(context.Background(), "slack:U1", bot.NewIncident{Title: "Laptop stolen"}); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if msgs := e.room.enrichment(); len(msgs) != 0 {
		t.Errorf("got %d enrichment messages for an incident with no indicators", len(msgs))
	}
}

// TestSlowSourceDoesNotHoldOthers: a source that hangs (as one sleeping
// 10 s would) must not keep the fast sources' answers out of chat.
func TestSlowSourceDoesNotHoldOthers(t *testing.T) {
	release := make(chan struct{})
	slow := &enrichtest.Source{SourceName: "slow", Types: ipTypes, Answer: func(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
		select {
		case <-release:
			return enrich.Result{Verdict: enrich.Suspicious, Score: 40, Reason: "late"}, nil
		case <-ctx.Done():
			return enrich.Result{}, ctx.Err()
		}
	}}
	fast := &enrichtest.Source{SourceName: "fast", Types: ipTypes, Answer: fixed(enrich.Malicious, 80, "known bad")}
	e := newEnv(t, []enrich.Configured{{Source: slow, Timeout: time.Minute}, {Source: fast}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { e.worker.Run(ctx, time.Hour) })
	wg.Go(func() { e.disp.Run(ctx) })

	if _, err := e.svc.Open(ctx, "slack:U1", bot.NewIncident{Title: "Traffic to 45.155.205.233"}); err != nil {
		t.Fatal(err)
	}
	// Every answer but the hanging one reaches chat while it hangs.
	waitFor(t, e.room, "fast: malicious (80) known bad")
	waitFor(t, e.room, "1 lookup still running")
	close(release)
	waitFor(t, e.room, "slow: suspicious (40) late")
}

func TestTimeoutIsShownPerSource(t *testing.T) {
	hang := &enrichtest.Source{SourceName: "abuseipdb", Types: ipTypes, Answer: func(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
		<-ctx.Done()
		return enrich.Result{}, fmt.Errorf("get check: %w", ctx.Err())
	}}
	broken := &enrichtest.Source{SourceName: "misp", Types: ipTypes, Answer: func(context.Context, ioc.Indicator) (enrich.Result, error) {
		return enrich.Result{}, errors.New("HTTP 401: authentication failed (check api_key)")
	}}
	e := newEnv(t, []enrich.Configured{{Source: hang, Timeout: 20 * time.Millisecond}, {Source: broken}})
	e.ingest(t, bot.Alert{Title: "Scan from 45.155.205.233"})
	e.settle(t)
	text := render(e.room.enrichment()[0])
	for _, want := range []string{"abuseipdb: timeout", "misp: HTTP 401: authentication failed (check api_key)"} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
}

func TestTLP(t *testing.T) {
	red := &enrichtest.Source{SourceName: "misp", Types: ipTypes, Answer: func(context.Context, ioc.Indicator) (enrich.Result, error) {
		return enrich.Result{Verdict: enrich.Malicious, Score: 100, Reason: "APT infrastructure", TLP: "tlp:red"}, nil
	}}
	amber := &enrichtest.Source{SourceName: "partner-feed", Types: ipTypes, Answer: fixed(enrich.Suspicious, 50, "partner sighting")}
	sources := []enrich.Configured{{Source: red}, {Source: amber, TLP: "AMBER"}}
	for _, tc := range []struct {
		private   bool
		wantAmber bool
	}{{false, false}, {true, true}} {
		t.Run(fmt.Sprintf("private=%v", tc.private), func(t *testing.T) {
			e := newEnv(t, sources)
			in, err := e.svc.Open(context.Background(), "slack:U1", bot.NewIncident{Title: "C2 at 45.155.205.233", Private: tc.private})
			if err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			text := render(e.room.enrichment()[0])
			if strings.Contains(text, "APT infrastructure") {
				t.Errorf("a TLP:RED result reached chat:\n%s", text)
			}
			if got := strings.Contains(text, "partner sighting"); got != tc.wantAmber {
				t.Errorf("TLP:AMBER shown = %v, want %v:\n%s", got, tc.wantAmber, text)
			}
			if !strings.Contains(text, "withheld by TLP") {
				t.Errorf("footer does not say results were withheld:\n%s", text)
			}
			// The case log keeps everything.
			found := false
			for _, en := range e.entries(t, in.ID, "enrichment.result") {
				found = found || strings.Contains(string(en.Body), "APT infrastructure")
			}
			if !found {
				t.Error("the TLP:RED result is missing from the case log")
			}
		})
	}
}

// TestJobSurvivesCrash: a job claimed by a process that died is taken up
// again once its lease runs out.
func TestJobSurvivesCrash(t *testing.T) {
	intel := &enrichtest.Source{SourceName: "intel", Types: ipTypes, Answer: fixed(enrich.Malicious, 90, "C2")}
	e := newEnv(t, []enrich.Configured{{Source: intel}})
	e.ingest(t, bot.Alert{Title: "C2 at 45.155.205.233"})
	// The first process claims the job and dies before answering.
	jobs, err := e.worker.claim(context.Background(), 8)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v, %d jobs", err, len(jobs))
	}
	if err := e.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if intel.Calls.Load() != 0 {
		t.Fatal("a leased job was run again before its lease ran out")
	}
	later := &offsetClock{d: lease + time.Minute}
	e2 := *e
	e2.disp = bot.NewDispatcher(e.db, []bot.Platform{e.room}, bot.DispatcherOptions{Unpaced: true, Clock: later})
	e2.worker = New(Options{Service: bot.NewService(e.db, bot.Options{Platforms: []string{"fake"}, Clock: later, Notify: e2.disp.Notify}),
		Enricher: enrich.New([]enrich.Configured{{Source: intel}}, nil)})
	e2.settle(t)
	if text := render(e.room.enrichment()[0]); !strings.Contains(text, "intel: malicious (90) C2") {
		t.Errorf("the job was not finished after the crash:\n%s", text)
	}
	if open, err := e.db.HasOpenEnrichJobs(context.Background()); err != nil || open {
		t.Errorf("the job is still open (%v)", err)
	}
}

type offsetClock struct{ d time.Duration }

func (c *offsetClock) Now() time.Time { return time.Now().Add(c.d) }

func TestMessageGolden(t *testing.T) {
	ind := func(s string) ioc.Indicator { i, _ := ioc.Classify(s); return i }
	v := View{
		Findings: []Finding{
			{Indicator: ind("45.155.205.233"), Results: []enrich.Result{
				{Source: "virustotal", Verdict: enrich.Malicious, Score: 87, Reason: "14/92 engines flag it malicious", Link: "https://www.virustotal.com/gui/ip-address/45.155.205.233"},
				{Source: "abuseipdb", Verdict: enrich.Unknown, Score: enrich.NoScore, Error: "timeout"},
				{Source: "greynoise", Verdict: enrich.Suspicious, Score: enrich.NoScore, Reason: "internet background noise"},
				{Source: "history", Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "seen in INC-3 (closed: blocked at the edge)",
					Facts: []enrich.Fact{{Label: "INC-3", Value: "Beacon to 45.155.205.233"}}},
				{Source: "rdap", Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not found"},
			}},
			{Indicator: ind("10.1.2.3"), Results: []enrich.Result{
				{Source: "inventory", Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "host-42: owner alice (web), criticality high",
					Facts: []enrich.Fact{{Label: "owner", Value: "alice"}}},
			}},
			{Indicator: ind("paste.example.org"), Results: []enrich.Result{
				{Source: "feeds", Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not listed in 2 feeds"},
				{Source: "history", Verdict: enrich.Unknown, Score: enrich.NoScore, Reason: "not seen in earlier incidents"},
			}},
			{Indicator: ind("example-cdn.com"), Results: []enrich.Result{
				{Source: "virustotal", Verdict: enrich.Clean, Score: 0, Reason: "0/92 engines flag it"},
				{Source: "misp", Verdict: enrich.Malicious, Score: 100, Reason: "APT", TLP: "red"},
			}},
			{Indicator: ind("d41d8cd98f00b204e9800998ecf8427e")},
		},
		Pending: 1,
		Buttons: func(i ioc.Indicator) []bot.Button {
			return []bot.Button{{ID: "playbook.run", Label: "Block IP", Value: "block-ip|INC-7|" + i.Value, Style: bot.StyleDanger}}
		},
	}
	got, err := json.MarshalIndent(v.Message(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "enrichment.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("message differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

// render flattens a message the way a reader scans it.
func render(m bot.Message) string {
	var b strings.Builder
	b.WriteString(m.Title + "\n")
	for _, f := range m.Fields {
		b.WriteString(f.Label + "\n" + f.Value + "\n")
	}
	b.WriteString(m.Footer)
	return b.String()
}

// waitFor waits until an enrichment message contains want. The deadline
// only stops a broken test from hanging; it asserts nothing about speed.
func waitFor(t *testing.T, r *room, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, m := range r.enrichment() {
			if strings.Contains(render(m), want) {
				return
			}
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("no enrichment message contains %q; have %+v", want, r.enrichment())
		}
	}
}

// TestEditedFeedIsSeenAtOnce: a feed file edited between two incidents is
// what the second one is judged by, although answers are cached: local
// sources are not, so the six-hour cache does not hide the new entry.
func TestEditedFeedIsSeenAtOnce(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(feed, []byte("# C2 servers\n198.18.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := feeds.New(feeds.Config{Files: []string{feed}, CheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, []enrich.Configured{{Source: fs}})
	e.ingest(t, bot.Alert{Title: "Beacon to 45.155.205.233"})
	e.settle(t)
	if text := render(e.room.enrichment()[0]); !strings.Contains(text, "— UNKNOWN\nnot known to feeds") {
		t.Fatalf("first incident:\n%s", text)
	}
	if err := os.WriteFile(feed, []byte("# C2 servers\n198.18.0.1\n45.155.205.233\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ingest(t, bot.Alert{Title: "Beacon to 45.155.205.233 again", Fingerprint: "again"})
	e.settle(t)
	if text := render(e.room.enrichment()[1]); !strings.Contains(text, "ipv4 45.155.205.233 — MALICIOUS") || !strings.Contains(text, "feeds: malicious") {
		t.Errorf("second incident does not see the edited feed:\n%s", text)
	}
}

// TestCacheTTL: the SQLite cache answers until the source's TTL runs out,
// then the source is asked again.
func TestCacheTTL(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	cache := Cache{DB: db, Now: func() time.Time { return now }}
	intel := &enrichtest.Source{SourceName: "intel", Types: ipTypes, Answer: fixed(enrich.Malicious, 90, "C2")}
	enr := enrich.New([]enrich.Configured{{Source: intel, TTL: time.Hour}}, cache)
	ind, _ := ioc.Classify("45.155.205.233")
	ask := func() enrich.Result {
		var got enrich.Result
		enr.Run(context.Background(), []ioc.Indicator{ind}, func(_ ioc.Indicator, r enrich.Result) { got = r })
		return got
	}
	for _, step := range []struct {
		advance time.Duration
		cached  bool
		calls   int64
	}{
		{0, false, 1},
		{59 * time.Minute, true, 1},
		{2 * time.Minute, false, 2}, // 61 minutes after the first answer
		{time.Minute, true, 2},
	} {
		now = now.Add(step.advance)
		r := ask()
		if r.Cached != step.cached || intel.Calls.Load() != step.calls || r.Verdict != enrich.Malicious || r.Reason != "C2" {
			t.Errorf("at %s: %+v after %d calls; want cached=%v after %d", now.Format(time.TimeOnly), r, intel.Calls.Load(), step.cached, step.calls)
		}
	}
}

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestAnswersRenewTheLease: a job that a rate-limited source keeps busy
// for longer than the lease is not claimed again while answers still
// come, which would ask every source twice.
func TestAnswersRenewTheLease(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), store.WithSync("normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clock := &manualClock{t: time.Now()}
	committed := make(chan struct{}, 1)
	svc := bot.NewService(db, bot.Options{Clock: clock, Notify: func() {
		select {
		case committed <- struct{}{}:
		default:
		}
	}})
	release := make(chan struct{})
	queued := &enrichtest.Source{SourceName: "virustotal", Types: ipTypes, Answer: func(ctx context.Context, ind ioc.Indicator) (enrich.Result, error) {
		if ind.Value == "45.155.205.233" {
			clock.Add(25 * time.Minute) // its slot came late
			return enrich.Result{Verdict: enrich.Malicious, Score: 90}, nil
		}
		select { // still waiting for a slot
		case <-release:
		case <-ctx.Done():
		}
		return enrich.Result{Verdict: enrich.Clean, Score: 0}, nil
	}}
	w := New(Options{Service: svc, Enricher: enrich.New([]enrich.Configured{{Source: queued}}, nil)})
	in, err := svc.Open(ctx, "slack:U1", bot.NewIncident{Title: "Beacons to 45.155.205.233 and 45.155.205.234"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Request(ctx, in.ID, "slack:U1", []ioc.Indicator{vendorIndicator(t, "45.155.205.233"), vendorIndicator(t, "45.155.205.234")}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.RunOnce(ctx) }()
	deadline := time.After(20 * time.Second)
	for answered := false; !answered; {
		select {
		case <-committed:
		case <-deadline:
			t.Fatal("the first answer was never recorded")
		}
		for _, en := range mustEntries(t, db, in.ID) {
			answered = answered || (en.Kind == "enrichment.result" && strings.Contains(string(en.Body), `"45.155.205.233"`) && strings.Contains(string(en.Body), "virustotal"))
		}
	}
	// 35 minutes after the claim, 10 after the last answer: the job is
	// still this worker's.
	clock.Add(10 * time.Minute)
	jobs, err := w.claim(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Errorf("a running job whose last answer is 10 minutes old was claimed again: %+v", jobs)
	}
}

func vendorIndicator(t *testing.T, v string) ioc.Indicator {
	t.Helper()
	ind, ok := ioc.Classify(v)
	if !ok {
		t.Fatalf("%q does not classify", v)
	}
	return ind
}

func mustEntries(t *testing.T, db *store.DB, id int64) []store.Entry {
	t.Helper()
	all, err := db.Entries(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return all
}
