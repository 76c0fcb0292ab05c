package httpreq

import (
	"net/url"
	"testing"
	"time"
)

func TestTimeoutCapped(t *testing.T) {
	tests := []struct {
		in   any
		want time.Duration
	}{
		{nil, DefaultTimeout},
		{"10s", 10 * time.Second},
		{"1h", MaxTimeout},
		{2 * time.Minute, 2 * time.Minute},
	}
	for _, tt := range tests {
		in, err := parseInputs(map[string]any{"url": "http://h", "timeout": tt.in})
		if err != nil || in.timeout != tt.want {
			t.Errorf("timeout %v: got %v, %v; want %s", tt.in, in, err, tt.want)
		}
	}
}

func TestSameHost(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"http://edr/a", "http://edr/b", true},
		{"http://EDR/a", "http://edr/b", true},
		{"http://edr/a", "https://edr/b", true}, // upgrade on default ports
		{"http://edr:8080/a", "http://edr:8080/b", true},
		{"http://edr:80/a", "http://edr/b", true},
		{"http://edr:8080/a", "http://edr:9090/b", false},
		{"http://edr/a", "http://edr:8080/b", false},
		{"http://edr/a", "http://evil/b", false},
		{"http://edr/a", "http://edr.evil/b", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameHost(a, b); got != tt.want {
			t.Errorf("sameHost(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"-3", 0},
		{now.Add(time.Minute).Format(http1123), time.Minute},
		{now.Add(-time.Minute).Format(http1123), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("https://user:pw@edr.example:8443/api/v1/hosts?token=t#frag")
	if got, want := redactURL(u), "https://edr.example:8443/api/v1/hosts"; got != want {
		t.Errorf("redactURL = %q, want %q", got, want)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: not cut in half
		{"日本", 4, "日"},
		{"\xff\xff\xff\xff\xff", 2, "\xff\xff"},
	}
	for _, tt := range tests {
		if got := truncate([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	in := &inputs{header: map[string][]string{
		"Authorization": {"Bearer abcdef123456"},
		"Content-Type":  {"application/json"},
		"X-Short":       {"abc"},
	}}
	in.url, _ = url.Parse("http://u:pass-word@h/?key=querykey1")
	body := "got Bearer abcdef123456 and abcdef123456, application/json, abc, querykey1, pass-word"
	want := "got [redacted] and [redacted], application/json, abc, [redacted], [redacted]"
	if got := mask(body, in.secrets()); got != want {
		t.Errorf("mask = %q\nwant %q", got, want)
	}
}
