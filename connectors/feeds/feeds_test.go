package feeds

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

var goodFixtures = []string{
	"testdata/ipblocklist.csv",
	"testdata/urlhaus.csv",
	"testdata/threatfox.csv",
	"testdata/blocklist.txt",
	"testdata/bundle.json",
}

func newTestSource(t testing.TB, files ...string) *Source {
	t.Helper()
	s, err := New(Config{Files: files, TLP: "green"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookup(t *testing.T) {
	s := newTestSource(t, goodFixtures...)
	if s.Name() != "feeds" {
		t.Errorf("Name() = %q", s.Name())
	}
	tests := []struct {
		name    string
		ind     ioc.Indicator
		verdict enrich.Verdict
		reason  string // every hit's reason, in config order
		facts   map[string]string
		tlp     string
		link    string // checked when set
	}{{
		name:    "Feodo and plain list",
		ind:     ioc.Indicator{Type: ioc.TypeIPv4, Value: "198.51.100.23", Scope: ioc.ScopeDocumentation},
		verdict: enrich.Malicious,
		reason:  "ipblocklist.csv (Feodo Tracker): Emotet C2, last online 2026-11-20; blocklist.txt: listed",
		facts:   map[string]string{"feed": "ipblocklist.csv", "malware": "Emotet", "first seen": "2026-10-02 11:42:10", "port": "8080"},
		tlp:     "green",
	}, {
		name:    "ip:port entry matches the address; first Feodo row wins",
		ind:     ioc.Indicator{Type: ioc.TypeIPv4, Value: "203.0.113.77"},
		verdict: enrich.Malicious,
		reason:  "ipblocklist.csv (Feodo Tracker): QakBot C2, offline, last online 2026-10-30; threatfox.csv (ThreatFox): QakBot botnet cc, confidence 100",
		facts:   map[string]string{"malware": "QakBot", "port": "443"},
		tlp:     "green",
		link:    "https://threatfox.abuse.ch/ioc/1377690/",
	}, {
		name:    "URL matches exactly, host case normalised",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "https://evil-updates.example.com/payload/Invoice.exe"},
		verdict: enrich.Malicious,
		reason:  "urlhaus.csv (URLhaus): malware download, tags exe,AgentTesla, online",
		facts:   map[string]string{"tags": "exe,AgentTesla", "first seen": "2026-11-21 07:40:11"},
		tlp:     "green",
		link:    "https://urlhaus.abuse.ch/url/3311422/",
	}, {
		name:    "URL with other path case does not match",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "https://evil-updates.example.com/payload/invoice.exe"},
		verdict: enrich.Unknown,
		reason:  "not listed in 5 feeds",
		tlp:     "green",
	}, {
		name:    "domain from a defanged list line; URL hosts do not count",
		ind:     ioc.Indicator{Type: ioc.TypeDomain, Value: "evil-updates.example.com"},
		verdict: enrich.Malicious,
		reason:  "blocklist.txt: listed",
		tlp:     "green",
	}, {
		name:    "URL with an address host",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "http://198.51.100.23:8080/bins/mozi.m"},
		verdict: enrich.Malicious,
		reason:  "urlhaus.csv (URLhaus): malware download, tags 32-bit,elf,mips,Mozi, online",
		tlp:     "green",
	}, {
		name:    "ThreatFox domain",
		ind:     ioc.Indicator{Type: ioc.TypeDomain, Value: "login-microsoftonline.example.net"},
		verdict: enrich.Malicious,
		reason:  "threatfox.csv (ThreatFox): Lumma Stealer payload delivery, confidence 75",
		facts:   map[string]string{"malware": "Lumma Stealer", "confidence": "75", "tags": "LummaStealer"},
		tlp:     "green",
	}, {
		name:    "ThreatFox low confidence is suspicious",
		ind:     ioc.Indicator{Type: ioc.TypeSHA256, Value: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B856"},
		verdict: enrich.Suspicious,
		reason:  "threatfox.csv (ThreatFox): Remcos payload, confidence 25",
		tlp:     "green",
	}, {
		name:    "ThreatFox unknown malware falls back to the malware id",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "http://evil-updates.example.com/gate.php"},
		verdict: enrich.Malicious,
		reason:  "threatfox.csv (ThreatFox): unknown botnet cc, confidence 50",
		tlp:     "green",
	}, {
		name:    "private address from a local list",
		ind:     ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.20.30.40", Scope: ioc.ScopePrivate},
		verdict: enrich.Malicious,
		reason:  "blocklist.txt: listed",
		tlp:     "green",
	}, {
		name:    "hosts-file line, looked up as a host name",
		ind:     ioc.Indicator{Type: ioc.TypeHostname, Value: "Tracker.Example.org"},
		verdict: enrich.Malicious,
		reason:  "blocklist.txt: listed",
		tlp:     "green",
	}, {
		name:    "refanged URL from a list",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "http://203.0.113.9/dropper.ps1"},
		verdict: enrich.Malicious,
		reason:  "blocklist.txt: listed",
		tlp:     "green",
	}, {
		name:    "STIX OR pattern, first half; TLP marking wins",
		ind:     ioc.Indicator{Type: ioc.TypeIPv4, Value: "198.51.100.1"},
		verdict: enrich.Malicious,
		reason:  "bundle.json (STIX): Sandworm C2 server, confidence 85",
		facts:   map[string]string{"confidence": "85", "first seen": "2026-10-01T12:00:00Z", "type": "malicious-activity"},
		tlp:     "amber",
	}, {
		name:    "STIX OR pattern, second half",
		ind:     ioc.Indicator{Type: ioc.TypeDomain, Value: "c2.sandworm-infra.example.net"},
		verdict: enrich.Malicious,
		reason:  "bundle.json (STIX): Sandworm C2 server, confidence 85",
		tlp:     "amber",
	}, {
		name:    "STIX hashes of one file joined by AND, malware by relationship",
		ind:     ioc.Indicator{Type: ioc.TypeMD5, Value: "3b2a1d7c9f4e8a6b5c0d1e2f3a4b5c6d"},
		verdict: enrich.Malicious,
		reason:  "bundle.json (STIX): Industroyer2",
		facts:   map[string]string{"malware": "Industroyer2"},
		tlp:     "green",
	}, {
		name:    "STIX SHA-256",
		ind:     ioc.Indicator{Type: ioc.TypeSHA256, Value: "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"},
		verdict: enrich.Malicious,
		reason:  "bundle.json (STIX): Industroyer2",
		tlp:     "green",
	}, {
		name:    "STIX low confidence URL",
		ind:     ioc.Indicator{Type: ioc.TypeURL, Value: "http://login.contoso-verify.example.com/auth?id=1"},
		verdict: enrich.Suspicious,
		reason:  "bundle.json (STIX): Phishing landing page, confidence 30",
		tlp:     "green",
	}, {
		name:    "STIX AND across objects is not taken apart",
		ind:     ioc.Indicator{Type: ioc.TypeIPv4, Value: "192.0.2.200"},
		verdict: enrich.Unknown,
		reason:  "not listed in 5 feeds",
		tlp:     "green",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Lookup(context.Background(), tt.ind)
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != "feeds" || res.Verdict != tt.verdict || res.Reason != tt.reason || res.TLP != tt.tlp || tt.link != "" && res.Link != tt.link {
				t.Errorf("got %s %q tlp %q link %q\nwant %s %q tlp %q link %q",
					res.Verdict, res.Reason, res.TLP, res.Link, tt.verdict, tt.reason, tt.tlp, tt.link)
			}
			if res.Score != enrich.NoScore {
				t.Errorf("Score = %d", res.Score)
			}
			for label, want := range tt.facts {
				if got := res.Fact(label); got != want {
					t.Errorf("fact %q = %q, want %q (facts %v)", label, got, want, res.Facts)
				}
			}
		})
	}
}

func TestSupports(t *testing.T) {
	s := newTestSource(t, "testdata/ipblocklist.csv")
	for _, tt := range []struct {
		ind  ioc.Indicator
		want bool
	}{
		{ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.0.0.1", Scope: ioc.ScopePrivate}, true},
		{ioc.Indicator{Type: ioc.TypeDomain, Value: "example.com"}, false},
		{ioc.Indicator{Type: ioc.TypeHostname, Value: "ws-01"}, false},
	} {
		if got := s.Supports(tt.ind); got != tt.want {
			t.Errorf("Supports(%+v) = %v, want %v", tt.ind, got, tt.want)
		}
	}
	s = newTestSource(t, goodFixtures...)
	for _, typ := range []ioc.Type{ioc.TypeIPv4, ioc.TypeDomain, ioc.TypeHostname, ioc.TypeURL, ioc.TypeMD5, ioc.TypeSHA256} {
		if !s.Supports(ioc.Indicator{Type: typ, Value: "x"}) {
			t.Errorf("Supports(%s) = false with all fixtures", typ)
		}
	}
	if s.Supports(ioc.Indicator{Type: ioc.TypeCVE, Value: "CVE-2024-3094"}) {
		t.Error("Supports(cve) = true, no feed holds CVE ids")
	}
}

func TestSkippedCounts(t *testing.T) {
	tests := []struct {
		file           string
		format         string
		entries, skips int
	}{
		{"testdata/ipblocklist.csv", formatCSV, 3, 0},
		{"testdata/urlhaus.csv", formatCSV, 2, 1},   // http://intranet/...
		{"testdata/threatfox.csv", formatCSV, 4, 1}, // sha3_384_hash
		{"testdata/blocklist.txt", formatPlain, 6, 1},
		// yara pattern, process:name, and the two comparisons ANDed
		// across objects.
		{"testdata/bundle.json", formatSTIX, 5, 4},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseFile(tt.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if p.format != tt.format || len(p.hits) != tt.entries || p.skipped != tt.skips {
				t.Errorf("format %s, %d entries, %d skipped; want %s, %d, %d", p.format, len(p.hits), p.skipped, tt.format, tt.entries, tt.skips)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		file string
		want string
	}{
		{"missing", filepath.Join(dir, "nope.txt"), "nope.txt: no such file"},
		{"JSON syntax", "testdata/broken_bundle.json", "broken_bundle.json:4: decode STIX bundle"},
		{"truncated CSV", "testdata/broken_feodo.csv", "broken_feodo.csv:3: extraneous or missing \" in quoted-field"},
		{"prose", "testdata/prose.txt", `prose.txt:1: not an indicator list: "hello world"`},
		{"not a bundle", write("x.json", `{"type":"report"}`), `x.json:1: not a STIX bundle`},
		{"unknown CSV", write("y.csv", "a,b,c\n1,2,3\n"), "y.csv:1: unrecognised CSV export"},
		{"JSON type error", write("z.json", "{\"type\":\"bundle\",\n\"objects\": 7}"), "z.json:2: decode STIX bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Files: []string{"testdata/blocklist.txt", tt.file}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New with no files: no error")
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := New(Config{Files: []string{"testdata/prose.txt", "testdata/broken_bundle.json"}})
	if err == nil || !strings.Contains(err.Error(), "prose.txt:1") || !strings.Contains(err.Error(), "broken_bundle.json:4") {
		t.Errorf("err = %v, want both files named", err)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.txt")
	mtime := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Set the time explicitly: file systems with coarse timestamps
		// would otherwise hide a rewrite within the same tick.
		mtime = mtime.Add(time.Minute)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("198.51.100.1\n")
	clock := &fakeClock{}
	src, err := New(Config{Files: []string{path}, CheckEvery: 5 * time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	verdict := func(ip string) enrich.Verdict {
		t.Helper()
		res, err := src.Lookup(context.Background(), ioc.Indicator{Type: ioc.TypeIPv4, Value: ip})
		if err != nil {
			t.Fatal(err)
		}
		return res.Verdict
	}
	if v := verdict("198.51.100.1"); v != enrich.Malicious {
		t.Fatalf("before change: %s", v)
	}

	write("198.51.100.2\n")
	clock.Advance(time.Second)
	if v := verdict("198.51.100.2"); v != enrich.Unknown {
		t.Errorf("change picked up before the check interval: %s", v)
	}
	clock.Advance(5 * time.Second)
	if v := verdict("198.51.100.2"); v != enrich.Malicious {
		t.Errorf("after the interval: new entry %s", v)
	}
	if v := verdict("198.51.100.1"); v != enrich.Unknown {
		t.Errorf("after the interval: removed entry still %s", v)
	}

	// A broken file keeps the last good index and is reported.
	write("this is not\nan indicator list\n")
	clock.Advance(6 * time.Second)
	if v := verdict("198.51.100.2"); v != enrich.Malicious {
		t.Errorf("broken file: last good entry %s", v)
	}
	if p := src.Problems(); len(p) != 1 || !strings.Contains(p[0].Error(), "list.txt:1") {
		t.Errorf("Problems() = %v", p)
	}

	// A removed file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Error("Reload of a removed file: no error")
	}
	if v := verdict("198.51.100.2"); v != enrich.Malicious {
		t.Errorf("removed file: last good entry %s", v)
	}

	// Fixing it clears the problem.
	write("198.51.100.3\n")
	if err := src.Reload(); err != nil {
		t.Errorf("Reload after fix: %v", err)
	}
	if v := verdict("198.51.100.3"); v != enrich.Malicious {
		t.Errorf("after fix: %s", v)
	}
	if p := src.Problems(); len(p) != 0 {
		t.Errorf("Problems() after fix = %v", p)
	}
}

func TestConcurrentLookupDuringReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(path, []byte("198.51.100.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Files: []string{path}, CheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			mt := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
			_ = os.WriteFile(path, []byte("198.51.100.1\n198.51.100.2\n"), 0o644)
			_ = os.Chtimes(path, mt, mt)
		}
	}()
	for range 200 {
		res, err := src.Lookup(context.Background(), ioc.Indicator{Type: ioc.TypeIPv4, Value: "198.51.100.1"})
		if err != nil {
			t.Fatal(err)
		}
		// A partly written file may briefly hold nothing; it must never
		// be a data race (go test -race) or a panic.
		_ = res
	}
	<-done
}

func TestLookupCancelled(t *testing.T) {
	src := newTestSource(t, "testdata/blocklist.txt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Lookup(ctx, ioc.Indicator{Type: ioc.TypeIPv4, Value: "198.51.100.23"}); err == nil {
		t.Error("no error from a cancelled context")
	}
}

// Feeds are local data: their answers are not cached by default, so an
// edited feed is seen by the next lookup.
var _ enrich.Offline = (*Source)(nil)
