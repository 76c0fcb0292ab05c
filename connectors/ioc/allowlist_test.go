package ioc

import (
	"strings"
	"testing"
)

func TestParseAllowlistErrors(t *testing.T) {
	tests := []struct {
		entry string
		want  string // substring of the error
	}{
		{"", "empty entry"},
		{"   ", "empty entry"},
		{"10.0.0.0/33", "not a valid CIDR"},
		{"10.0.0.1/8", "did you mean 10.0.0.0/8"},
		{"999.1.1.1", "not a valid IP address"},
		{"10.0.0", "not a valid IP address"},
		{"http://", "not a valid http"},
		{"gopher://example.com/", "not a valid http"},
		{"*.", "wildcard"},
		{"bad\x00entry", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			_, err := ParseAllowlist([]string{"example.com", tt.entry})
			if err == nil {
				t.Fatalf("ParseAllowlist(%q) succeeded", tt.entry)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "entry 1 ") {
				t.Errorf("error %q should contain %q and name entry 1", msg, tt.want)
			}
		})
	}

	_, err := ParseAllowlist([]string{"10.0.0.0/33", "ok.example.com", "999.1.1.1"})
	if err == nil || !strings.Contains(err.Error(), `"10.0.0.0/33"`) || !strings.Contains(err.Error(), `"999.1.1.1"`) {
		t.Errorf("all bad entries should be reported, got %v", err)
	}
}

func TestAllowlistAllows(t *testing.T) {
	al, err := ParseAllowlist([]string{
		"*.corp.example.com",
		"corp.local",
		"192.168.0.0/16",
		"::ffff:172.16.0.0/108",
		"203.0.113.7",
		"fd00::/8",
		"svc-backup",
		"john.smith",
		"alerts@vendor.example.net",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"evil[.]example[.]org",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   Indicator
		want bool
	}{
		{Indicator{Type: TypeDomain, Value: "corp.example.com"}, true},
		{Indicator{Type: TypeDomain, Value: "a.b.corp.example.com"}, true},
		{Indicator{Type: TypeDomain, Value: "xcorp.example.com"}, false},
		{Indicator{Type: TypeHostname, Value: "ws1.corp.local"}, true},
		{Indicator{Type: TypeHostname, Value: "ws1"}, false},
		{Indicator{Type: TypeIPv4, Value: "192.168.3.4", Scope: ScopePrivate}, true},
		{Indicator{Type: TypeIPv4, Value: "172.16.9.9", Scope: ScopePrivate}, true},
		{Indicator{Type: TypeIPv4, Value: "172.32.0.1"}, false},
		{Indicator{Type: TypeIPv4, Value: "203.0.113.7"}, true},
		{Indicator{Type: TypeIPv4, Value: "203.0.113.8"}, false},
		{Indicator{Type: TypeIPv6, Value: "fd12::1", Scope: ScopePrivate}, true},
		{Indicator{Type: TypeURL, Value: "http://[fd00::5]/x", Scope: ScopePrivate}, true},
		{Indicator{Type: TypeURL, Value: "https://intra.corp.example.com/x"}, true},
		{Indicator{Type: TypeURL, Value: "https://example.com/x"}, false},
		{Indicator{Type: TypeUser, Value: "SVC-BACKUP"}, true},
		{Indicator{Type: TypeUser, Value: "john.smith"}, true},
		{Indicator{Type: TypeEmail, Value: "alerts@vendor.example.net"}, true},
		{Indicator{Type: TypeEmail, Value: "other@vendor.example.net"}, false},
		{Indicator{Type: TypeEmail, Value: "it@corp.example.com"}, true},
		{Indicator{Type: TypeSHA256, Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, true},
		{Indicator{Type: TypeDomain, Value: "www.evil.example.org"}, true},
	}
	for _, tt := range tests {
		if got := al.Allows(tt.in); got != tt.want {
			t.Errorf("Allows(%+v) = %v, want %v", tt.in, got, tt.want)
		}
	}

	ins := []Indicator{{Type: TypeIPv4, Value: "192.168.1.1"}, {Type: TypeIPv4, Value: "8.8.8.8"}}
	if got := al.Filter(ins); len(got) != 1 || got[0].Value != "8.8.8.8" || len(ins) != 2 {
		t.Errorf("Filter = %v", got)
	}

	var zero Allowlist
	if zero.Allows(Indicator{Type: TypeDomain, Value: "example.com"}) {
		t.Error("zero Allowlist allows something")
	}
}
