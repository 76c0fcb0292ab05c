package ioc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means not an indicator
	}{
		{"1.2.3[.]4", "ipv4 1.2.3.4"},
		{"  203.0.113.7  ", "ipv4 203.0.113.7 documentation"},
		{"[2001:db8::1]", "ipv6 2001:db8::1 documentation"},
		{"2001:DB8:0:0:0:0:0:1", "ipv6 2001:db8::1 documentation"},
		{"fe80::1%eth0", "ipv6 fe80::1 link-local"},
		{"::ffff:10.0.0.1", "ipv4 10.0.0.1 private"},
		{"::", "ipv6 :: unspecified"},
		{"100::1", "ipv6 100::1 reserved"},
		{"64:ff9b::808:808", "ipv6 64:ff9b::808:808"},
		{"64:ff9b::a00:1", "ipv6 64:ff9b::a00:1 private"},
		{"3fff::1", "ipv6 3fff::1 documentation"},
		{"::2", "ipv6 ::2 reserved"},
		{"example[.]com", "domain example.com"},
		{"Example.COM.", "domain example.com"},
		{"update.zip", "domain update.zip"}, // a person asking about it means the domain
		{"evil.example.co.uk", "domain evil.example.co.uk"},
		{"hxxps[:]//evil[.]example[.]com/Login", "url https://evil.example.com/Login"},
		{"<https://evil.example.com/>", "url https://evil.example.com/"},
		{"http://10.1.1.1:8080/x", "url http://10.1.1.1:8080/x private"},
		{"https://evil.example.com/päth", "url https://evil.example.com/p%C3%A4th"},
		{"https://exämple.com/", ""},
		{"user[at]example.com", "email user@example.com"},
		{"User(at)Example(dot)com", "email user@example.com"},
		{`"alice@example.org"`, "email alice@example.org"},
		{"D41D8CD98F00B204E9800998ECF8427E", "md5 d41d8cd98f00b204e9800998ecf8427e"},
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"cve-2024-3094", "cve CVE-2024-3094"},

		{"", ""},
		{"hello", ""},
		{"invoice.pdf", ""},
		{"1.2.3.4.5", ""},
		{"999.1.1.1", ""},
		{"010.1.1.1", ""},
		{"http://intranet/", ""},
		{"gopher://example.com/", ""},
		{"a@b", ""},
		{"example.com foo", ""},
		{"d41d8cd98f00b204e9800998ecf8427", ""},
		{"CVE-2024-12", ""},
		{"ws-042", ""},
		{"corp.local", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Classify(tt.in)
			g := ""
			if ok {
				g = show([]Indicator{got})[0]
			}
			if g != tt.want {
				t.Errorf("Classify(%q) = %q, want %q", tt.in, g, tt.want)
			}
		})
	}
}

func TestExternal(t *testing.T) {
	tests := []struct {
		in   Indicator
		want bool
	}{
		{Indicator{Type: TypeIPv4, Value: "8.8.8.8"}, true},
		{Indicator{Type: TypeIPv4, Value: "10.0.0.1", Scope: ScopePrivate}, false},
		{Indicator{Type: TypeIPv4, Value: "192.0.2.1", Scope: ScopeDocumentation}, false},
		{Indicator{Type: TypeURL, Value: "http://10.0.0.1/", Scope: ScopePrivate}, false},
		{Indicator{Type: TypeDomain, Value: "example.com"}, true},
		{Indicator{Type: TypeSHA256, Value: strings.Repeat("ab", 32)}, true},
		{Indicator{Type: TypeHostname, Value: "ws-042"}, false},
		{Indicator{Type: TypeUser, Value: "alice"}, false},
	}
	for _, tt := range tests {
		if got := tt.in.External(); got != tt.want {
			t.Errorf("%+v.External() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestIndicatorJSON(t *testing.T) {
	tests := []struct {
		in   Indicator
		want string
	}{
		{Indicator{Type: TypeIPv4, Value: "203.0.113.7", Scope: ScopeDocumentation}, `{"type":"ipv4","value":"203.0.113.7","scope":"documentation"}`},
		{Indicator{Type: TypeIPv4, Value: "8.8.8.8"}, `{"type":"ipv4","value":"8.8.8.8"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("Marshal = %s, want %s", b, tt.want)
		}
		var back Indicator
		if err := json.Unmarshal(b, &back); err != nil || back != tt.in {
			t.Errorf("round trip = %+v, %v", back, err)
		}
	}
}

func TestWriteJSONLines(t *testing.T) {
	ins := []Indicator{
		{Type: TypeURL, Value: "https://evil.example.com/a?b=1&c=<2>"},
		{Type: TypeIPv4, Value: "10.0.0.1", Scope: ScopePrivate},
	}
	var buf bytes.Buffer
	if err := WriteJSONLines(&buf, ins); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"url","value":"https://evil.example.com/a?b=1&c=<2>"}` + "\n" +
		`{"type":"ipv4","value":"10.0.0.1","scope":"private"}` + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := WriteJSONLines(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("empty list: %q, %v", buf.String(), err)
	}

	errDisk := errors.New("disk full")
	err := WriteJSONLines(failWriter{errDisk}, ins)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "evil.example.com") {
		t.Errorf("write error = %v, want it to wrap %v and name the indicator", err, errDisk)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
