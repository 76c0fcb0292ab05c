package inventory

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

func TestLookup(t *testing.T) {
	tests := []struct {
		name   string
		ind    ioc.Indicator
		reason string
		facts  map[string]string
	}{{
		name:   "short name finds the FQDN",
		ind:    ioc.Indicator{Type: ioc.TypeHostname, Value: "host-42"},
		reason: "host-42.corp.example: owner alice (web), criticality high, Ubuntu 24.04",
		facts:  map[string]string{"owner": "alice", "team": "web", "criticality": "high", "os": "Ubuntu 24.04", "hostname": "host-42.corp.example"},
	}, {
		name:   "FQDN, any case",
		ind:    ioc.Indicator{Type: ioc.TypeHostname, Value: "HOST-42.Corp.Example."},
		reason: "host-42.corp.example: owner alice (web), criticality high, Ubuntu 24.04",
	}, {
		name:   "FQDN finds a bare listed name",
		ind:    ioc.Indicator{Type: ioc.TypeHostname, Value: "db01.corp.example"},
		reason: "db01: owner bob (data), criticality critical, Debian 12",
	}, {
		name:   "private IPv4, one of several",
		ind:    ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.20.2.12", Scope: ioc.ScopePrivate},
		reason: "db01: owner bob (data), criticality critical, Debian 12",
		facts:  map[string]string{"ips": "10.20.2.11, 10.20.2.12"},
	}, {
		name:   "IPv6 unique local",
		ind:    ioc.Indicator{Type: ioc.TypeIPv6, Value: "fd00:20::42", Scope: ioc.ScopePrivate},
		reason: "host-42.corp.example: owner alice (web), criticality high, Ubuntu 24.04",
	}, {
		name:   "row without a name is known by address",
		ind:    ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.99.0.1"},
		reason: "10.99.0.1: team netops, criticality low",
	}, {
		name:   "domain type (a public-suffix internal name)",
		ind:    ioc.Indicator{Type: ioc.TypeDomain, Value: "build-agent-3.ci.example.com"},
		reason: "build-agent-3.ci.example.com: owner dave (platform)",
	}, {
		name:   "different FQDN with the same short name does not match",
		ind:    ioc.Indicator{Type: ioc.TypeHostname, Value: "host-42.lab.example"},
		reason: "not in the inventory",
	}, {
		name:   "unknown address",
		ind:    ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.20.1.43"},
		reason: "not in the inventory",
	}}
	for _, file := range []string{"testdata/assets.csv", "testdata/assets.yaml"} {
		src, err := New(Config{File: file})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(filepath.Ext(file)+"/"+tt.name, func(t *testing.T) {
				if !src.Supports(tt.ind) {
					t.Fatalf("Supports(%+v) = false", tt.ind)
				}
				res, err := src.Lookup(context.Background(), tt.ind)
				if err != nil {
					t.Fatal(err)
				}
				if res.Source != "inventory" || res.Verdict != enrich.Unknown || res.Score != enrich.NoScore || res.Reason != tt.reason {
					t.Errorf("got %s %s %d %q, want inventory unknown -1 %q", res.Source, res.Verdict, res.Score, res.Reason, tt.reason)
				}
				for label, want := range tt.facts {
					if got := res.Fact(label); got != want {
						t.Errorf("fact %q = %q, want %q", label, got, want)
					}
				}
			})
		}
	}
}

func TestSupports(t *testing.T) {
	src, err := New(Config{File: "testdata/assets.csv"})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[ioc.Type]bool{
		ioc.TypeHostname: true, ioc.TypeDomain: true, ioc.TypeIPv4: true, ioc.TypeIPv6: true,
		ioc.TypeURL: false, ioc.TypeSHA256: false, ioc.TypeUser: false,
	} {
		if got := src.Supports(ioc.Indicator{Type: typ, Value: "x", Scope: ioc.ScopePrivate}); got != want {
			t.Errorf("Supports(%s) = %v, want %v", typ, got, want)
		}
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
		want []string
	}{
		{"missing", filepath.Join(dir, "nope.csv"), []string{"nope.csv: no such file"}},
		{"CSV, all problems", "testdata/broken.csv", []string{
			`broken.csv:3:8: ip: not an IP address: "10.0.0.300"`,
			`broken.csv:4:1: hostname "host 3" contains a space`,
			`broken.csv:5: row has neither hostname nor ip`,
		}},
		{"YAML, all problems", "testdata/broken.yaml", []string{
			`broken.yaml:6:7: ips: not an IP address: "not-an-ip"`,
			`broken.yaml:7:3: want an asset`,
			`broken.yaml:8:3: asset has neither hostname nor ips`,
		}},
		{"bad header", write("h.csv", "name,address\nx,10.0.0.1\n"), []string{`h.csv:1: header lacks column "hostname"`}},
		{"YAML syntax", write("s.yaml", "- hostname: [x\n"), []string{"s.yaml: yaml: line"}},
		{"YAML not a list", write("m.yml", "hostname: x\n"), []string{"m.yml:1:1: want a list of assets"}},
		{"CSV quote", write("q.csv", "hostname,ip\n\"x,10.0.0.1\n"), []string{"q.csv:2:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{File: tt.file})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New with no file: no error")
	}
}

func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"a.txt":  "# yaml without extension\n- hostname: x\n  ips: [10.0.0.1]\n",
		"b.list": "hostname,ip\nx,10.0.0.1\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := New(Config{File: p})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, _ := src.Lookup(context.Background(), ioc.Indicator{Type: ioc.TypeIPv4, Value: "10.0.0.1"})
		if res.Fact("hostname") != "x" {
			t.Errorf("%s: lookup gave %+v", name, res)
		}
	}
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "assets.csv")
	mtime := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Minute) // coarse file-system clocks must not hide a rewrite
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("hostname,ip,owner\nhost-1,10.0.0.1,alice\n")
	clock := &fakeClock{}
	src, err := New(Config{File: path, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	owner := func() string {
		t.Helper()
		res, err := src.Lookup(context.Background(), ioc.Indicator{Type: ioc.TypeHostname, Value: "host-1"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Fact("owner")
	}
	write("hostname,ip,owner\nhost-1,10.0.0.1,bob\n")
	if got := owner(); got != "alice" {
		t.Errorf("before the check interval: owner %q", got)
	}
	clock.Advance(6 * time.Second)
	if got := owner(); got != "bob" {
		t.Errorf("after the interval: owner %q", got)
	}
	write("hostname,ip,owner\nhost-1,10.0.0.999,carol\n")
	clock.Advance(6 * time.Second)
	if got := owner(); got != "bob" {
		t.Errorf("broken file: owner %q, want the last good bob", got)
	}
	if p := src.Problems(); len(p) != 1 || !strings.Contains(p[0].Error(), "assets.csv:2:") {
		t.Errorf("Problems() = %v", p)
	}
	write("hostname,ip,owner\nhost-1,10.0.0.1,dave\n")
	if err := src.Reload(); err != nil {
		t.Errorf("Reload: %v", err)
	}
	if got := owner(); got != "dave" || len(src.Problems()) != 0 {
		t.Errorf("after fix: owner %q, problems %v", got, src.Problems())
	}
}

// The asset list is local data: its answers are not cached by default, so
// an edited file is seen by the next lookup.
var _ enrich.Offline = (*Source)(nil)
