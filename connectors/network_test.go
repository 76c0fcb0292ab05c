package connectors

import (
	"strings"
	"testing"
)

func TestBlockTarget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		with  map[string]any
		block bool
		want  string // canonical form, or the error's text
		fails bool
	}{
		{"address", map[string]any{"ip": " 203.0.113.7 "}, true, "203.0.113.7", false},
		{"IPv6 address", map[string]any{"ip": "2001:DB8::7"}, true, "2001:db8::7", false},
		{"network", map[string]any{"ip": "198.51.100.0/24"}, true, "198.51.100.0/24", false},
		{"host route", map[string]any{"ip": "198.51.100.9/32"}, true, "198.51.100.9", false},
		{"IPv4-mapped", map[string]any{"ip": "::ffff:203.0.113.7"}, true, "203.0.113.7", false},
		{"IPv4-mapped network", map[string]any{"ip": "::ffff:198.51.100.0/120"}, true, "198.51.100.0/24", false},
		{"missing", map[string]any{}, true, "with.ip: required input missing", true},
		{"not text", map[string]any{"ip": 7}, true, "with.ip: expected text", true},
		{"not an address", map[string]any{"ip": "203.0.113.7 } ; flush ruleset"}, true, "is not an IP address", true},
		{"zone", map[string]any{"ip": "fe80::1%eth0"}, false, "is not an IP address", true},
		{"host bits set", map[string]any{"ip": "198.51.100.7/24"}, true, "has host bits set; the network is 198.51.100.0/24", true},
		{"too wide", map[string]any{"ip": "0.0.0.0/0"}, true, "too wide to block", true},
		{"too wide IPv6", map[string]any{"ip": "2000::/3"}, true, "too wide to block", true},
		{"private", map[string]any{"ip": "10.1.2.3"}, true, "private or local range 10.0.0.0/8", true},
		{"loopback IPv6", map[string]any{"ip": "::1"}, true, "private or local range ::1/128", true},
		{"overlapping a private range", map[string]any{"ip": "172.0.0.0/8"}, true, "private or local range 172.16.0.0/12", true},
		{"private allowed", map[string]any{"ip": "10.1.2.3", "allow_private": true}, true, "10.1.2.3", false},
		{"allow_private not a bool", map[string]any{"ip": "10.1.2.3", "allow_private": "yes"}, true, "with.allow_private: expected true or false", true},
		{"private may be unblocked", map[string]any{"ip": "10.1.2.3"}, false, "10.1.2.3", false},
		{"wide may be unblocked", map[string]any{"ip": "0.0.0.0/0"}, false, "0.0.0.0/0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := BlockTarget(tc.with, tc.block)
			switch {
			case tc.fails && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("BlockTarget(%v) = %v, %v; want an error with %q", tc.with, p, err, tc.want)
			case !tc.fails && (err != nil || FormatNetwork(p) != tc.want):
				t.Errorf("BlockTarget(%v) = %v, %v; want %s", tc.with, p, err, tc.want)
			}
		})
	}
}

func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.0/24", "::ffff:1.2.3.4/120", "fe80::1%eth0", "1.2.3.4/33", "2001:db8::/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNetwork(s)
		if err != nil {
			return
		}
		// What comes out parses back to itself and holds nothing but an
		// address and a length: it goes into firewall command languages.
		out := FormatNetwork(p)
		if strings.ContainsAny(out, " {};\"'%\n") {
			t.Fatalf("ParseNetwork(%q) formats as %q", s, out)
		}
		back, err := ParseNetwork(out)
		if err != nil || back != p {
			t.Fatalf("ParseNetwork(%q) = %v, formatted %q parses as %v, %v", s, p, out, back, err)
		}
	})
}
